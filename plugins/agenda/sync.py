"""Tells the commune's ``calendar_sync`` provider (CalDAV...) which events changed.

Every change of an event, whichever service made it (pages, API, import, a series cut in
two), ends in a flush of ``Event`` rows: their UIDs are gathered after each flush and handed
to the provider just before the commit, so that what it queues (outbox rows) is saved with
the change or not at all. A commune without a provider is skipped. The agenda never names
CalDAV: it only knows the ``CalendarSyncProvider`` protocol of the core.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from core import toolkit
from plugins.agenda.models import Event

CHANGED = "agenda.changed_uids"  # {commune id: {uid}} in the session's info


def _touched(session: Session) -> list[Event]:
    return [
        row for row in chain(session.new, session.dirty, session.deleted) if isinstance(row, Event)
    ]


@event.listens_for(Session, "after_flush")
def _gather(session: Session, _context: Any) -> None:
    for row in _touched(session):
        session.info.setdefault(CHANGED, {}).setdefault(row.commune_id, set()).add(row.uid)


@event.listens_for(Session, "before_commit")
def _tell_provider(session: Session) -> None:
    if not has_app_context() or not (session.info.get(CHANGED) or _touched(session)):
        return
    session.flush()  # the last changes, which the commit would flush after this hook
    for commune_id, uids in session.info.pop(CHANGED, {}).items():
        commune = session.get(toolkit.Commune, commune_id)
        if commune is None:
            continue
        try:
            provider = toolkit.capability(commune, "calendar_sync")
        except toolkit.CapabilityUnavailable:
            continue
        provider.events_changed(sorted(uids))


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(CHANGED, None)
