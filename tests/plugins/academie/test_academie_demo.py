"""``viatic demo`` leaves the Formations working: the platform's own courses serve the demo
communes (Chamilo, which the demo cannot configure, is left off), even where an older demo
had enabled Chamilo beside them."""

from __future__ import annotations

from sqlalchemy import select

from core import demo, modules
from core.capabilities import chosen_provider
from core.db import db
from core.models import Commune
from tests.plugins.academie.helpers import FORMATIONS, page


def run_demo(app) -> None:
    with app.app_context():
        demo.run(echo=lambda _line: None)


def test_the_demo_trains_on_the_platform_s_own_courses(app, client):
    run_demo(app)
    with app.app_context():
        main = db.scalar(select(Commune).where(Commune.insee == demo.MAIN_COMMUNE))
        modules.enable(main, "chamilo")  # as the demo of an earlier version did
        db.commit()
    run_demo(app)
    with app.app_context():
        registry = app.extensions["viatic.plugins"]
        demo_communes = select(Commune).where(
            Commune.insee.in_((demo.MAIN_COMMUNE, *demo.NEIGHBOURS))
        )
        for commune in db.scalars(demo_communes):
            enabled = registry.enabled_for(commune)
            assert "chamilo" not in enabled and "vimeo" not in enabled
            assert chosen_provider(commune, "lms") == "lms"
    client.login("adjoint@faux-villecerf.example.org", demo.PASSWORD)
    catalogue = page(client, f"{FORMATIONS}/")
    assert "Le budget communal en 5 étapes" in catalogue
    assert "Le règlement intérieur du conseil municipal" in catalogue
