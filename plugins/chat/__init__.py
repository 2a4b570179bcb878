"""Chat: live messaging of a commune between officials, agents and, in the channels opened
to them, citizens; with replies, mentions, read markers, moderation, and a JSON API.

A built-in plugin, loaded through its ``viatic.plugins`` entry point like any other. This
module holds its hook implementations and nothing else; the rules are in ``services``, the
message format in ``markup``, the live fan-out in ``live``, the pages in ``views``, the API
in ``api``, the tables in ``models`` and their Alembic branch in ``migrations/``. It reaches
the core only through ``core.toolkit``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.chat import api, bridge, markup, services, views

__version__ = "0.1.0"

EVERY_ROLE = toolkit.ROLES
TEAM = ("maire", "adjoint", "conseiller", "agent")
HERE = Path(__file__).parent


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="chat",
        label=_l("Messagerie"),
        version=__version__,
        description=_l(
            "La messagerie instantanée de la commune : un canal pour l'équipe municipale, "
            "les commissions et projets, des groupes et des conversations directes, et des "
            "canaux ouverts aux habitants."
        ),
        category="pilotage",
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
        toolkit.ApiScope("chat:read", _l("Lire vos canaux et vos messages")),
        toolkit.ApiScope("chat:write", _l("Écrire des messages en votre nom")),
    ]


@toolkit.hookimpl
def viatic_permissions() -> list[toolkit.Permission]:
    return [
        toolkit.Permission(
            "chat.view", _l("Ouvrir la messagerie (les canaux dont on fait partie)"), EVERY_ROLE
        ),
        toolkit.Permission(
            "chat.team",
            _l(
                "Faire partie de l'équipe municipale dans la messagerie (canal général, canaux "
                "fermés aux habitants)"
            ),
            TEAM,
        ),
        toolkit.Permission("chat.write", _l("Écrire dans les canaux de la messagerie"), EVERY_ROLE),
        toolkit.Permission(
            "chat.create", _l("Créer des canaux et des conversations directes"), TEAM
        ),
        toolkit.Permission(
            "chat.moderate",
            _l("Modérer la messagerie : masquer un message, retirer un membre, fermer un canal"),
            ("maire",),
            commune_admins=True,
        ),
    ]


@toolkit.hookimpl
def viatic_notification_types() -> list[toolkit.NotificationType]:
    return [
        toolkit.NotificationType("chat.mention", _l("Quelqu'un vous mentionne dans la messagerie")),
        toolkit.NotificationType(
            "chat.direct", _l("Un message dans une conversation directe, quand vous êtes absent")
        ),
        toolkit.NotificationType("chat.report", _l("Un message est signalé aux modérateurs")),
    ]


@toolkit.hookimpl
def viatic_outbox_handlers() -> dict:
    return {bridge.OUTBOX_KIND: bridge.deliver}


@toolkit.hookimpl
def viatic_scheduled_jobs() -> list[toolkit.Job]:
    return [
        toolkit.Job(
            bridge.SYNC_JOB,
            bridge.sync,
            trigger="interval",
            trigger_args={"seconds": bridge.SYNC_SECONDS},
            scope="commune",
            max_runtime_seconds=60,
        )
    ]


@toolkit.hookimpl
def viatic_module_enabled(commune: toolkit.Commune) -> None:
    """The commune's general channel, if it has none yet."""
    services.ensure_general(commune)


@toolkit.hookimpl
def viatic_module_disabled(commune: toolkit.Commune) -> None:
    """Nothing to stop: the channels and messages stay, and come back as they were."""


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    return toolkit.Health(True, _("Messagerie interne : rien d'externe à vérifier."))


@toolkit.hookimpl
def viatic_nav_items(commune: toolkit.Commune, user: toolkit.User | None) -> list[toolkit.NavItem]:
    return [toolkit.NavItem(_l("Messagerie"), "chat.index", order=30, permission="chat.view")]


@toolkit.hookimpl
def viatic_dashboard_widgets(
    commune: toolkit.Commune, user: toolkit.User | None
) -> list[toolkit.Widget]:
    def render() -> str:
        channels = services.list_channels(commune, user)
        counts = services.unread_counts(commune, user, channels)
        return toolkit.render(
            "chat/_widget.html",
            unread_channels=[(c, counts[c.id]) for c in channels if counts[c.id]],
        )

    return [toolkit.Widget(_("Conversations non lues"), render, order=15, permission="chat.view")]


@toolkit.hookimpl
def viatic_search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[toolkit.SearchResult]:
    return [
        toolkit.SearchResult(
            title=_(
                "%(author)s dans « %(channel)s »", author=m.author_name, channel=m.channel.name
            ),
            url=views.message_url(m),
            excerpt=markup.excerpt(m.body),
            kind=_("Message"),
        )
        for m in services.search(commune, user, query, limit)
    ]


@toolkit.hookimpl
def viatic_demo_content(commune: toolkit.Commune) -> None:
    services.add_demo_content(commune)
