"""Helpers shared by the chat's tests: URLs, a village of members, reading the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from core.db import db
from core.models import AuditEvent
from plugins.chat.models import Channel, Message

CHAT = "/c/10145/chat"
API = "/api/v1/c/10145/chat"


@dataclass
class Village:
    """Faux-Villecerf with the chat enabled and one person of each useful role."""

    commune: Any
    maire: Any
    adjoint: Any
    conseiller: Any
    agent: Any
    habitant: Any


def channels(app: Flask) -> list[Channel]:
    with app.app_context():
        return list(db.scalars(select(Channel).order_by(Channel.id)))


def general_id(app: Flask) -> int:
    return next(c.id for c in channels(app) if c.kind == "general")


def messages(app: Flask, channel_id: int | None = None) -> list[Message]:
    with app.app_context():
        query = select(Message).order_by(Message.id)
        if channel_id is not None:
            query = query.where(Message.channel_id == channel_id)
        return list(db.scalars(query))


def audit(app: Flask, prefix: str = "chat.") -> list[tuple[str, dict]]:
    with app.app_context():
        return [
            (a.action, a.details)
            for a in db.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.startswith(prefix))
                .order_by(AuditEvent.id)
            )
        ]


def page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.get_data(as_text=True)


def post(client: Any, channel_id: int, body: str, **extra: Any) -> Any:
    return client.submit(f"{CHAT}/salon/{channel_id}", {"body": body, **extra})


def api_post(client: Any, channel_id: int, payload: Any) -> Any:
    return client.post(
        f"{API}/channels/{channel_id}/messages",
        json=payload,
        headers={"X-CSRFToken": client.csrf_token(f"{CHAT}/")},
    )


def new_channel(client: Any, **values: Any) -> Any:
    form = {"name": "Commission des travaux", "kind": "commission", "topic": "", "members": []}
    form.update(values)
    return client.submit(f"{CHAT}/nouveau-canal", form)
