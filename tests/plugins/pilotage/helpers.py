"""Helpers shared by the pilotage tests: URLs, a team of members, reading the tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from markupsafe import escape
from sqlalchemy import select

from core.db import db
from core.models import AuditEvent

PILOTAGE = "/c/10145/pilotage"
OTHER = "/c/10124/pilotage"


@dataclass
class Team:
    """Faux-Villecerf with the module on, one person of each useful role."""

    commune: Any
    maire: Any
    adjoint: Any
    conseiller: Any
    agent: Any
    habitant: Any


def rows(app: Flask, model: Any, *where: Any) -> list[Any]:
    with app.app_context():
        return list(db.scalars(select(model).where(*where).order_by(model.id)))


def audit_actions(app: Flask, prefix: str = "pilotage.") -> list[str]:
    with app.app_context():
        return list(
            db.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.startswith(prefix))
                .order_by(AuditEvent.id)
            )
        )


def says(html: str, message: str) -> bool:
    """Whether the page shows ``message`` (as HTML escapes it, or as it is)."""
    return str(escape(message)) in html or message in html


def page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.get_data(as_text=True)
