"""Fixtures of the pilotage tests: Faux-Villecerf with the module on, one person per role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.pilotage.helpers import Team


@pytest.fixture
def team(commune: Any, make_member: Any, enable_module: Any) -> Team:
    enable_module(commune, "pilotage")
    return Team(
        commune=commune,
        maire=make_member(commune, "maire", admin=True, name="Claire Martin"),
        adjoint=make_member(commune, "adjoint", name="Paul Girard"),
        conseiller=make_member(commune, "conseiller", name="Nadia Benali"),
        agent=make_member(commune, "agent", name="Julie Morel"),
        habitant=make_member(commune, "citoyen", name="Louis Petit"),
    )
