"""Helpers shared by the ideas box's tests: URLs, a village of members, counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.db import db
from core.models import AuditEvent, Notification
from flask import Flask
from sqlalchemy import func, select

from viatic_idees.models import Idea

IDEES = "/c/10145/idees"
API = "/api/v1/c/10145/idees"


@dataclass
class Village:
    """Faux-Villecerf with the ideas box enabled and one person of each useful role."""

    commune: Any
    maire: Any
    adjoint: Any
    conseiller: Any
    agent: Any
    habitant: Any
    voisine: Any  # another citizen


def propose(client: Any, title: str, body: str = "Une description de l'idée.") -> Any:
    """Propose an idea through the form, as a person would."""
    return client.submit(f"{IDEES}/proposer", {"title": title, "body": body})


def count(app: Flask, what: Any, *where: Any) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(what).where(*where)) or 0


def ideas(app: Flask) -> list[Idea]:
    with app.app_context():
        return list(db.scalars(select(Idea).order_by(Idea.id)))


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(
            db.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.module == "idees", AuditEvent.action.startswith("idees."))
                .order_by(AuditEvent.id)
            )
        )


def notifications_of(app: Flask, user: Any) -> list[Notification]:
    with app.app_context():
        return list(
            db.scalars(
                select(Notification)
                .where(Notification.user_id == user.id)
                .order_by(Notification.id)
            )
        )
