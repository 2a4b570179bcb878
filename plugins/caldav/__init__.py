"""CalDAV: the ``calendar_sync`` capability, which keeps the agenda's calendars in step with
calendars of a CalDAV server (Nextcloud, SOGo, Radicale...), both ways.

A provider plugin of its own, as the portal's capabilities are: the agenda only knows the
``CalendarSyncProvider`` protocol of ``core.capabilities`` (it says which events changed;
this plugin queues and sends them) and links to this plugin's page, where a commune admin
connects a calendar with the server's address and an account whose password is stored
encrypted. The HTTP client is ``connectors.caldav``; the rules are in ``services``; the
page in ``views``; the tables in ``models`` and their Alembic branch in ``migrations/``.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from flask import Blueprint, url_for

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.caldav import services, views

__version__ = "0.1.0"
HERE = Path(__file__).parent
PULL_EVERY_MINUTES = 5


class CalDavSync:
    """The provider of ``calendar_sync`` for one commune."""

    def __init__(self, commune: toolkit.Commune) -> None:
        self.commune = commune

    def events_changed(self, uids: Collection[str]) -> None:
        services.queue(self.commune, uids)

    def manage_link(self) -> tuple[str, str]:
        return _("Synchroniser un agenda avec un serveur CalDAV"), url_for("caldav.connections")


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="caldav",
        label=_l("Synchronisation CalDAV"),
        version=__version__,
        description=_l(
            "Relie un agenda de la commune à un agenda d'un serveur CalDAV (Nextcloud, SOGo, "
            "Radicale…) : les changements passent dans les deux sens."
        ),
        category="outils",
        provides=("calendar_sync",),
        requires=("agenda",),
        core_version=">=0.1,<1",
        migrations=HERE / "migrations",
        translations=HERE / "translations",
        admin_endpoint="caldav.connections",
        admin_label=_l("Agendas synchronisés"),
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return views.bp


@toolkit.hookimpl
def viatic_capabilities() -> dict[str, Any]:
    def provider(commune: toolkit.Commune, settings: dict[str, Any]) -> CalDavSync:
        return CalDavSync(commune)

    return {"calendar_sync": provider}


@toolkit.hookimpl
def viatic_outbox_handlers() -> dict:
    return {services.PUSH: services.deliver}


@toolkit.hookimpl
def viatic_scheduled_jobs() -> list[toolkit.Job]:
    return [
        toolkit.Job(
            "caldav.pull",
            services.sync_commune,
            trigger_args={"minutes": PULL_EVERY_MINUTES},
            scope="commune",
        )
    ]


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    failing = [c for c in services.connections(commune) if c.last_error]
    if failing:
        return toolkit.Health(False, failing[0].last_error or "")
    return toolkit.Health(True, _("Les agendas connectés se synchronisent."))
