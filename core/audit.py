"""The audit trail: an append-only record of every state change, for the commune's admins.

``record()`` adds the event to the current session, so it is committed (or rolled back)
together with the change it describes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import select

from core.db import MAX_PAGE, db
from core.models import AuditEvent, Commune, User

SECRET_MASK = "••••••"


def record(
    action: str,
    *,
    commune: Commune | None = None,
    module: str = "core",
    object_type: str | None = None,
    object_id: object = None,
    details: dict[str, Any] | None = None,
    actor: User | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Record ``action`` (``"module.enabled"``, ``"member.invited"``...) by the current user.

    ``details`` holds what the reader needs, typically ``{"before": ..., "after": ...}``;
    never put a secret in it.
    """
    in_request = has_request_context()
    if actor is None and in_request:
        actor = g.get("user")
    if commune is None and in_request:
        commune = g.get("commune")
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor=actor.email if actor is not None else actor_label,
        commune_id=commune.id if commune is not None else None,
        action=action,
        module=module,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        details=details or {},
        ip=request.remote_addr if in_request else None,
    )
    db.add(event)
    return event


PAGE_SIZE = 50


def history(
    commune: Commune, module: str, object_type: str, object_id: object, limit: int = PAGE_SIZE
) -> list[AuditEvent]:
    """The latest events of one object of ``commune`` recorded by ``module``, newest first:
    the history a plugin shows beside the object (a project's activity feed, say)."""
    return list(
        db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.commune_id == commune.id,
                AuditEvent.module == module,
                AuditEvent.object_type == object_type,
                AuditEvent.object_id == str(object_id),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


@dataclass
class AuditPage:
    """One page of the audit log, filtered as the reader asked."""

    events: list[AuditEvent]
    page: int
    has_next: bool
    filters: dict[str, str]


def search(commune_id: int | None, args: Mapping[str, str]) -> AuditPage:
    """The events of a commune (or, with None, those tied to no commune: sign-ins, imports),
    newest first, filtered by ``personne`` (part of an e-mail), ``module``, ``du`` and ``au``
    (dates, inclusive) as they come from the page's query string; unreadable dates are
    ignored."""
    filters = {
        # No NUL: PostgreSQL refuses it in a string, and nobody types one.
        key: (args.get(key) or "").replace("\x00", "").strip()[:100]
        for key in ("personne", "module", "du", "au")
    }
    query = select(AuditEvent).where(
        AuditEvent.commune_id == commune_id
        if commune_id is not None
        else AuditEvent.commune_id.is_(None)
    )
    if filters["personne"]:
        query = query.where(AuditEvent.actor.ilike(f"%{filters['personne']}%"))
    if filters["module"]:
        query = query.where(AuditEvent.module == filters["module"])
    if start := _date(filters["du"]):
        query = query.where(AuditEvent.at >= start)
    if end := _date(filters["au"]):
        query = query.where(AuditEvent.at < end + dt.timedelta(days=1))
    try:
        page = min(max(int(args.get("page") or 1), 1), MAX_PAGE)
    except ValueError:
        page = 1
    events = list(
        db.scalars(
            query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return AuditPage(events[:PAGE_SIZE], page, len(events) > PAGE_SIZE, filters)


def _date(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
