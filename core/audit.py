"""The audit trail: an append-only record of every state change, for the commune's admins.

``record()`` adds the event to the current session, so it is committed (or rolled back)
together with the change it describes.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request

from core.db import db
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
