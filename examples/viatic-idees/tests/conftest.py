"""Fixtures of the ideas box's tests, on top of the core's pytest plugin.

The core's fixtures (``app``, ``client``, ``commune``, ``other_commune``, ``make_member``,
``enable_module``) come from the ``viatic`` pytest plugin that the ``viatic`` distribution
registers; this plugin is loaded through its own entry point, as in production.
"""

from __future__ import annotations

from typing import Any

import pytest

from idees_testing import Village


@pytest.fixture
def village(commune: Any, make_member: Any, enable_module: Any) -> Village:
    enable_module(commune, "idees")
    return Village(
        commune=commune,
        maire=make_member(commune, "maire", admin=True, name="Claire Martin"),
        adjoint=make_member(commune, "adjoint", name="Paul Girard"),
        conseiller=make_member(commune, "conseiller", name="Nadia Benali"),
        agent=make_member(commune, "agent", name="Julie Morel"),
        habitant=make_member(commune, "citoyen", name="Louis Petit"),
        voisine=make_member(commune, "citoyen", name="Rose Lambert"),
    )
