"""Fixtures of the agenda's tests: Faux-Villecerf with the agenda on, one person per role."""

from __future__ import annotations

from typing import Any

import pytest

from core import tokens
from core.db import db
from core.models import User
from tests.plugins.agenda.helpers import Village


@pytest.fixture
def village(commune: Any, make_member: Any, enable_module: Any) -> Village:
    enable_module(commune, "agenda")
    return Village(
        commune=commune,
        maire=make_member(commune, "maire", admin=True, name="Claire Martin"),
        adjoint=make_member(commune, "adjoint", name="Paul Girard"),
        conseiller=make_member(commune, "conseiller", name="Nadia Benali"),
        agent=make_member(commune, "agent", name="Julie Morel"),
        habitant=make_member(commune, "citoyen", name="Louis Petit"),
    )


@pytest.fixture
def bearer(app: Any, village: Village) -> Any:
    """``bearer(person, *scopes)`` → the Authorization header of a fresh app token."""

    def make(person: Any, *scopes: str) -> dict[str, str]:
        with app.app_context():
            raw, _token = tokens.create(db.get(User, person.id), "app", scopes, 30)
            db.commit()
        return {"Authorization": f"Bearer {raw}"}

    return make
