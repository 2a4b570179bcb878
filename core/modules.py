"""Enabling and disabling modules per commune, their settings and provider choices.

The same functions serve the commune admin's pages and the ``viatic modules`` commands.
They add to the session and leave the commit to the caller, so that the change, the
plugin's callback and the audit event land together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from core import audit
from core.db import db, get_database, utcnow
from core.models import Commune, CommuneCapability, CommuneModule
from core.plugins import LoadedPlugin, PluginRegistry


class ModuleError(Exception):
    """A request about a module that cannot be honoured; the message is for the admin."""


def registry() -> PluginRegistry:
    return current_app.extensions["viatic.plugins"]


def module_row(commune: Commune, plugin: str) -> CommuneModule | None:
    return db.scalar(
        select(CommuneModule).where(
            CommuneModule.commune_id == commune.id, CommuneModule.plugin == plugin
        )
    )


def get_module(name: str) -> LoadedPlugin:
    plugin = registry().plugins.get(name)
    if plugin is None or plugin.name == "core":
        raise ModuleError(_("Module inconnu : « %(name)s ».", name=name))
    return plugin


def enable(commune: Commune, name: str) -> bool:
    """Enable module ``name`` for ``commune`` (and the modules it requires). Returns whether
    anything changed."""
    plugin = get_module(name)
    changed = False
    for required in plugin.info.requires:
        changed |= enable(commune, required)
    row = module_row(commune, name)
    if row is not None and row.enabled:
        return changed
    if row is None:
        row = CommuneModule(commune_id=commune.id, plugin=name, settings={})
        db.add(row)
    row.enabled = True
    commune.config_version += 1
    db.flush()
    registry().call_on(name, "viatic_module_enabled", commune=commune)
    audit.record(
        "module.enabled", commune=commune, module=name, object_type="module", object_id=name
    )
    return True


def disable(commune: Commune, name: str) -> bool:
    """Disable module ``name`` for ``commune``; its data stays. Returns whether it changed."""
    plugin = get_module(name)
    if plugin.essential:
        raise ModuleError(
            _(
                "Le module « %(label)s » est essentiel : il ne peut pas être désactivé.",
                label=plugin.info.label,
            )
        )
    dependants = [
        str(p.info.label)
        for p in registry().modules
        if name in p.info.requires and p.name in registry().enabled_for(commune)
    ]
    if dependants:
        raise ModuleError(
            _(
                "Désactivez d'abord les modules qui en dépendent : %(names)s.",
                names=", ".join(dependants),
            )
        )
    row = module_row(commune, name)
    if row is None or not row.enabled:
        return False
    row.enabled = False
    commune.config_version += 1
    db.flush()
    registry().call_on(name, "viatic_module_disabled", commune=commune)
    audit.record(
        "module.disabled", commune=commune, module=name, object_type="module", object_id=name
    )
    return True


def choose_provider(commune: Commune, capability: str, provider: str) -> None:
    if provider not in registry().providers_of(capability):
        raise ModuleError(
            _(
                "« %(provider)s » ne fournit pas « %(capability)s ».",
                provider=provider,
                capability=capability,
            )
        )
    if provider not in registry().enabled_for(commune):
        raise ModuleError(_("Activez d'abord ce module."))
    choice = db.scalar(
        select(CommuneCapability).where(
            CommuneCapability.commune_id == commune.id,
            CommuneCapability.capability == capability,
        )
    )
    before = choice.provider if choice is not None else None
    if before == provider:
        return
    if choice is None:
        choice = CommuneCapability(commune_id=commune.id, capability=capability, provider=provider)
        db.add(choice)
    choice.provider = provider
    audit.record(
        "capability.provider_changed",
        commune=commune,
        object_type="capability",
        object_id=capability,
        details={"before": before, "after": provider},
    )


@dataclass(frozen=True)
class Usage:
    communes: int  # where the module is enabled
    failing: int  # of which with a recorded error


def usage() -> dict[str, Usage]:
    """For each module, in how many communes it is enabled and failing: its health at a
    glance for the platform admin (per-commune health checks are on the communes' pages)."""
    rows = db.execute(
        select(
            CommuneModule.plugin,
            func.count(),
            func.count(CommuneModule.last_error),
        )
        .where(CommuneModule.enabled.is_(True))
        .group_by(CommuneModule.plugin)
    )
    return {plugin: Usage(enabled, failing) for plugin, enabled, failing in rows}


def record_error(commune_id: int, name: str, error: str, source: str) -> None:
    """Remember a module's last error for the commune admin's modules page, in a transaction
    of its own: it must stay even when the work that failed is rolled back. ``source`` names
    that work (``job <name>``, ``outbox <kind>``, ``page``): the error lasts until the same
    work succeeds (``clear_error``) or the admin clears it."""
    engine = get_database().engine
    with engine.begin() as connection:
        connection.execute(
            update(CommuneModule)
            .where(CommuneModule.commune_id == commune_id, CommuneModule.plugin == name)
            .values(last_error=error[:2000], last_error_at=utcnow(), last_error_source=source)
        )


def clear_error(commune_id: int, name: str, source: str | None = None) -> None:
    """Forget a module's last error, in the caller's transaction: only the one ``source``
    recorded when given (that work now succeeds), any error otherwise (the admin says it
    is dealt with)."""
    query = update(CommuneModule).where(
        CommuneModule.commune_id == commune_id,
        CommuneModule.plugin == name,
        CommuneModule.last_error.is_not(None),
    )
    if source is not None:
        query = query.where(CommuneModule.last_error_source == source)
    db.execute(
        query.values(last_error=None, last_error_at=None, last_error_source=None).execution_options(
            synchronize_session=False
        )
    )


def failing_communes(name: str, source: str) -> set[int]:
    """The communes where ``source`` left module ``name`` an error: a job clears it where it
    then succeeds, without a statement for every other commune."""
    return set(
        db.scalars(
            select(CommuneModule.commune_id).where(
                CommuneModule.plugin == name, CommuneModule.last_error_source == source
            )
        )
    )
