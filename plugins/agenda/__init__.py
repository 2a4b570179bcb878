"""Agenda: the commune's calendars (conseil municipal, commissions, the mairie's events),
their events with recurrence, iCalendar out (one event's ``.ics``, subscription feeds) and in
(``.ics`` import), and a JSON API for the apps.

A built-in plugin, loaded through its ``viatic.plugins`` entry point like any other. This
module holds its hook implementations and nothing else; the rules are in ``services``, the
recurrence rules in ``recurrence``, iCalendar in ``ics`` (out) and ``ics_import`` (in), the
pages in ``views``, the JSON API in ``api``, the tables in ``models`` and their Alembic
branch in ``migrations/``. It reaches the core only through ``core.toolkit``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.agenda import (
    api,
    appointment_views,  # noqa: F401 - its pages join the blueprint
    reminders,
    services,
    sync,  # noqa: F401 - its listeners tell calendar_sync of changes
    views,
)

__version__ = "0.1.0"

EVERY_ROLE = toolkit.ROLES
MEMBERS = ("maire", "adjoint", "conseiller", "agent")
WRITERS = ("maire", "adjoint", "agent")
HERE = Path(__file__).parent


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="agenda",
        label=_l("Agenda"),
        version=__version__,
        description=_l(
            "Les agendas de la commune (conseil municipal, commissions, événements de la "
            "mairie), la répétition des événements et l'abonnement depuis un téléphone."
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
        toolkit.ApiScope("agenda:read", _l("Lire les agendas de vos communes")),
        toolkit.ApiScope("agenda:write", _l("Créer, modifier et supprimer des événements")),
    ]


@toolkit.hookimpl
def viatic_permissions() -> list[toolkit.Permission]:
    return [
        toolkit.Permission("agenda.view", _l("Voir l'agenda (les événements publics)"), EVERY_ROLE),
        toolkit.Permission(
            "agenda.view_members",
            _l("Voir les événements réservés aux membres et s'abonner aux agendas"),
            MEMBERS,
        ),
        toolkit.Permission(
            "agenda.write",
            _l("Créer, modifier et supprimer les événements des agendas de la commune"),
            WRITERS,
        ),
        toolkit.Permission(
            services.PERSONAL_PERMISSION,
            _l("Tenir son propre agenda dans la commune (visible selon chaque événement)"),
            MEMBERS,
        ),
    ]


@toolkit.hookimpl
def viatic_notification_types() -> list[toolkit.NotificationType]:
    return [
        toolkit.NotificationType(
            "agenda.appointment", _l("Rendez-vous : propositions et réponses")
        ),
        toolkit.NotificationType("agenda.reminder", _l("Rappels avant mes rendez-vous")),
        toolkit.NotificationType("agenda.invited", _l("Événements où l'on m'attend")),
    ]


@toolkit.hookimpl
def viatic_scheduled_jobs() -> list[toolkit.Job]:
    return [
        toolkit.Job(
            reminders.JOB_ID,
            reminders.send_reminders,
            trigger_args={"minutes": reminders.EVERY_MINUTES},
            scope="commune",
            max_runtime_seconds=120,
        )
    ]


@toolkit.hookimpl
def viatic_module_enabled(commune: toolkit.Commune) -> None:
    """The commune's calendars, if it does not have them yet (enabling again adds none)."""
    services.ensure_calendars(commune)


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    return toolkit.Health(True, _("Aucun outil externe : rien à vérifier."))


@toolkit.hookimpl
def viatic_nav_items(commune: toolkit.Commune, user: toolkit.User | None) -> list[toolkit.NavItem]:
    return [toolkit.NavItem(_l("Agenda"), "agenda.month", order=20, permission="agenda.view")]


@toolkit.hookimpl
def viatic_dashboard_widgets(
    commune: toolkit.Commune, user: toolkit.User | None
) -> list[toolkit.Widget]:
    def render() -> str:
        # Queried here, not above: the core calls render() inside its guard.
        return toolkit.render(
            "agenda/_widget.html",
            occurrences=services.upcoming(commune, user, limit=services.WIDGET_LIMIT),
            can_write=services.can_write(commune, user),
        )

    return [toolkit.Widget(_("Prochains rendez-vous"), render, order=20, permission="agenda.view")]


@toolkit.hookimpl
def viatic_search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[toolkit.SearchResult]:
    results = []
    for event in services.search(commune, user, query, limit):
        occurrence = services.next_occurrence(event) or services.first_occurrence(event)
        when = views.describe_when(occurrence)
        results.append(
            toolkit.SearchResult(
                title=event.title,
                url=services.event_url(event, commune=commune),
                excerpt=f"{when} · {event.place}" if event.place else when,
                kind=_("Événement"),
            )
        )
    return results


@toolkit.hookimpl
def viatic_demo_content(commune: toolkit.Commune) -> None:
    services.add_demo_content(commune)
