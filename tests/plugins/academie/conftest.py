"""Fixtures of the Académie's tests: Faux-Villecerf with its officials, Formations enabled
and served by a fake Chamilo holding three courses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.plugins.academie.helpers import Village, configure_chamilo, run_job
from tests.plugins.chamilo.fake_chamilo import Served, serve
from tests.plugins.videotheque.conftest import (  # noqa: F401 - shared fixtures
    fake_vimeo,  # lessons' videos
    http_sessions,  # the HTTP sessions a test opens, to see them closed
)


@pytest.fixture
def chamilo() -> Iterator[Served]:
    with serve() as served:
        fake = served.fake
        budget = fake.add_course(
            "Le budget communal",
            code="BUDGET",
            description="<p>Du DOB au compte administratif.</p>",
            category_code="Finances",
        )
        fake.add_learnpath(budget, "Les principes")
        fake.add_learnpath(budget, "Le vote")
        urba = fake.add_course("Urbanisme et PLU", code="URBA", category_code="Urbanisme")
        fake.add_learnpath(urba, "Le PLU")
        fake.add_course("La cantine scolaire", code="CANTINE", category_code="Écoles")
        yield served


@pytest.fixture
def village(commune: Any, make_member: Any) -> Village:
    return Village(
        commune=commune,
        maire=make_member(commune, "maire", admin=True, name="Claire Martin"),
        adjoint=make_member(commune, "adjoint", name="Paul Girard"),
        conseiller=make_member(commune, "conseiller", name="Nadia Benali"),
        agent_admin=make_member(commune, "agent", admin=True, name="Julie Morel"),
        habitant=make_member(commune, "citoyen", name="Louis Petit"),
    )


@pytest.fixture
def on_chamilo(app: Any, village: Village, chamilo: Served, enable_module: Any) -> Served:
    """Formations served by the fake Chamilo, its catalogue fetched by the scheduled job."""
    enable_module(village.commune, "chamilo")
    assert configure_chamilo(app, village, chamilo).status_code == 302
    run_job(app, "academie.catalogue")
    return chamilo
