"""Fixtures of the CalDAV sync's tests: a real Radicale for the module, a fresh remote
calendar for each test, Faux-Villecerf with the agenda and the sync enabled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.http import BREAKERS
from tests.plugins.agenda.helpers import Village
from tests.plugins.caldav.radicale import Radicale


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def remote(radicale: Radicale) -> Any:
    BREAKERS.clear()  # a server stopped by a previous test must not stay "down"
    return radicale.new_calendar()


@pytest.fixture
def village(commune: Any, make_member: Any, enable_module: Any) -> Village:
    enable_module(commune, "agenda")
    enable_module(commune, "caldav")
    return Village(
        commune=commune,
        maire=make_member(commune, "maire", admin=True, name="Claire Martin"),
        adjoint=make_member(commune, "adjoint", name="Paul Girard"),
        conseiller=make_member(commune, "conseiller", name="Nadia Benali"),
        agent=make_member(commune, "agent", name="Julie Morel"),
        habitant=make_member(commune, "citoyen", name="Louis Petit"),
    )
