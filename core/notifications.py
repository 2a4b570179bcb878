"""Notifications: the bell in the header, and e-mail for the types that want it.

Plugins call ``toolkit.notify``; each person may mute any type on their account page.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, g, has_request_context, url_for
from sqlalchemy import select

from core import mail
from core.db import db
from core.models import Commune, Notification, NotificationMute, User


class UnknownNotificationType(Exception):
    pass


def notify(
    recipients: Iterable[User],
    type: str,
    title: str,
    body: str = "",
    url: str | None = None,
    commune: Commune | None = None,
) -> list[Notification]:
    """Notify each recipient who has not muted ``type`` (in-app, and by e-mail if the type
    says so). ``commune`` defaults to the request's. Added to the caller's transaction."""
    if commune is None and has_request_context():
        commune = g.get("commune")
    kind = current_app.extensions["viatic.plugins"].notification_types.get(type)
    if kind is None:
        raise UnknownNotificationType(f"notification type '{type}' is not declared by any plugin")
    people = {u.id: u for u in recipients}
    if not people:
        return []
    muted = set(
        db.scalars(
            select(NotificationMute.user_id).where(
                NotificationMute.type == type, NotificationMute.user_id.in_(people)
            )
        )
    )
    sent = []
    for user in people.values():
        if user.id in muted or not user.is_active:
            continue
        note = Notification(
            user_id=user.id,
            type=type,
            title=title[:300],
            body=body,
            url=url,
            commune_id=commune.id if commune is not None else None,
        )
        db.add(note)
        sent.append(note)
        if kind.email:
            text = body + (f"\n\n{absolute(url)}" if url else "")
            mail.queue(user.email, title, text, commune=commune)
    return sent


def absolute(url: str) -> str:
    """A link that works from an e-mail: relative paths get the site's address."""
    if not url.startswith("/"):
        return url
    try:
        return url_for("public.home", _external=True).rstrip("/") + url
    except RuntimeError:  # no request and no VIATIC_SERVER_NAME: keep the path
        return url
