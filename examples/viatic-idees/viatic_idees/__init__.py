"""Boîte à idées: members of a commune propose ideas, the elected team answers them.

The example third-party plugin of the plugin authors' guide. This module holds its hook
implementations and nothing else; the logic is in ``services``, the pages in ``views``, the
JSON API in ``api``, the tables in ``models`` and their Alembic branch in ``migrations/``.
It reaches the core only through ``core.toolkit``.
"""

from __future__ import annotations

from pathlib import Path

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from flask import Blueprint

from viatic_idees import api, services, views

__version__ = "1.0.0"

EVERY_ROLE = toolkit.ROLES
ELECTED = ("maire", "adjoint", "conseiller")
HERE = Path(__file__).parent


# Labels handed to the core (plugin, permissions, settings, notification types, navigation)
# are lazy (``_l``): most are read once, at start-up and outside any request, and the core
# translates them each time it shows them, in the reader's language. Text built during a
# request (a widget's title, a search result) goes through gettext (``_``). The English
# catalog is in ``translations/``, which ``PluginInfo.translations`` hands to the core.


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="idees",
        label=_l("Boîte à idées"),
        version=__version__,
        description=_l(
            "Les habitants proposent des idées pour leur commune ; "
            "l'équipe municipale les étudie et leur répond."
        ),
        category="participation",
        core_version=">=0.1,<1",
        migrations=HERE / "migrations",
        translations=HERE / "translations",
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return views.bp


@toolkit.hookimpl
def viatic_api_blueprint() -> Blueprint:
    return api.bp


@toolkit.hookimpl
def viatic_api_scopes() -> list[toolkit.ApiScope]:
    return [
        toolkit.ApiScope("idees:read", _l("Lire les idées de vos communes")),
        toolkit.ApiScope("idees:write", _l("Proposer des idées en votre nom")),
    ]


@toolkit.hookimpl
def viatic_permissions() -> list[toolkit.Permission]:
    return [
        toolkit.Permission("idees.view", _l("Voir la boîte à idées"), EVERY_ROLE),
        toolkit.Permission("idees.propose", _l("Proposer une idée"), EVERY_ROLE),
        toolkit.Permission("idees.answer", _l("Répondre aux idées"), ELECTED),
        toolkit.Permission(
            "idees.moderate", _l("Masquer ou rétablir une idée (modération)"), ("maire", "adjoint")
        ),
    ]


@toolkit.hookimpl
def viatic_settings_schema() -> list[toolkit.Setting]:
    return [
        toolkit.Setting(
            "intro",
            _l("Texte d'accueil"),
            type="text",
            help=_l("Affiché en haut de la boîte à idées."),
            # A default is a value, not a label: it is stored and written to the audit log
            # as it is, so it stays a plain string (the commune's own text, in French).
            default=(
                "Une idée pour améliorer la vie du village ? Proposez-la ici : "
                "l'équipe municipale vous répondra."
            ),
        ),
        toolkit.Setting(
            "visible_before_answer",
            _l("Les habitants voient les idées des autres avant la réponse des élus"),
            type="boolean",
            help=_l(
                "Sinon, chacun ne voit que ses propres idées et celles qui ont reçu une réponse."
            ),
            default=True,
        ),
        toolkit.Setting(
            "max_length",
            _l("Longueur maximale d'une idée ou d'une réponse (en caractères)"),
            type="integer",
            default=services.DEFAULT_MAX_LENGTH,
        ),
    ]


@toolkit.hookimpl
def viatic_notification_types() -> list[toolkit.NotificationType]:
    return [
        toolkit.NotificationType("idees.new_idea", _l("Une idée est proposée à la commune")),
        toolkit.NotificationType("idees.answered", _l("L'équipe municipale a répondu à mon idée")),
    ]


@toolkit.hookimpl
def viatic_module_enabled(commune: toolkit.Commune) -> None:
    """Nothing to provision: the ideas live in this plugin's own tables."""


@toolkit.hookimpl
def viatic_module_disabled(commune: toolkit.Commune) -> None:
    """Nothing to stop: the ideas stay, and come back as they were if the module is enabled
    again."""


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    # Shown on the modules page, in the admin's language; outside a request (the command
    # line), gettext gives the French text.
    return toolkit.Health(True, _("Aucun outil externe : rien à vérifier."))


@toolkit.hookimpl
def viatic_nav_items(commune: toolkit.Commune, user: toolkit.User | None) -> list[toolkit.NavItem]:
    return [toolkit.NavItem(_l("Boîte à idées"), "idees.index", order=60, permission="idees.view")]


@toolkit.hookimpl
def viatic_dashboard_widgets(
    commune: toolkit.Commune, user: toolkit.User | None
) -> list[toolkit.Widget]:
    def render() -> str:
        # Queried here, not above: the core calls render() inside its guard.
        return toolkit.render(
            "idees/_widget.html",
            ideas=services.latest(commune, user),
            can_propose=toolkit.has_permission(user, commune, "idees.propose"),
        )

    return [toolkit.Widget(_("Dernières idées"), render, order=60, permission="idees.view")]


@toolkit.hookimpl
def viatic_search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[toolkit.SearchResult]:
    return [
        toolkit.SearchResult(
            title=idea.title,
            url=services.idea_url(commune, idea),
            excerpt=f"{idea.status_label} · {services.excerpt(idea.body)}",
            kind=_("Idée"),
        )
        for idea in services.search(commune, user, query, limit)
    ]


@toolkit.hookimpl
def viatic_demo_content(commune: toolkit.Commune) -> None:
    services.add_demo_content(commune)
