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


def project_form(**values: Any) -> dict[str, Any]:
    """A project's form, with ``values`` changed (None leaves the field out)."""
    form = {
        "title": "Rénovation de l'école",
        "description": "Isolation et chauffage.",
        "status": "en_cours",
        "priority": "haute",
        "start_date": "2026-09-01",
        "end_date": "2027-08-31",
        "budget_planned": "120000",
        "budget_committed": "45000,50",
        "budget_spent": "",
        "progress": "30",
        "health": "bonne_voie",
        "health_reason": "",
        "citizen_summary": "",
        "lead": "",
        "members": [],
        "themes": [],
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def task_form(**values: Any) -> dict[str, Any]:
    form = {
        "title": "Demander trois devis",
        "project": "",
        "assignee": "",
        "due_date": "",
        "priority": "normale",
        "status": "a_faire",
        "description": "",
        "checklist": "",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}
