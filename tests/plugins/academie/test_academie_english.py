"""The Formations, the Chamilo module and the platform's courses in English: each catalog is
complete, and a person who switches the portal to English reads the pages in English."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import plugins.academie
import plugins.chamilo
import plugins.lms
from core.testing import untranslated
from tests.plugins.academie.helpers import FORMATIONS, course_id, deliver, enrol, page


@pytest.mark.parametrize("plugin", [plugins.academie, plugins.chamilo, plugins.lms])
def test_every_message_has_an_english_translation(plugin):
    catalog = plugin.viatic_plugin_info().translations / "en" / "LC_MESSAGES"
    with open(catalog / "messages.po", "rb") as po:
        assert not read_po(po).fuzzy
    missing = untranslated(Path(plugin.__file__).parent, catalog / "messages.po")
    assert missing == [], "see the plugin's babel.cfg: extract, update, then translate these"


def test_an_official_who_switches_to_english_reads_the_training_pages_in_english(
    app, client, village, on_chamilo
):
    client.login(village.adjoint.email)
    switched = client.post("/langue", data={"locale": "en", "csrf_token": client.csrf_token()})
    assert switched.status_code == 302
    catalogue = page(client, f"{FORMATIONS}/")
    assert ">Training</a>" in catalogue  # the navigation item, a lazy label
    assert "3 courses" in catalogue and "All themes" in catalogue
    budget = course_id(app, "Le budget communal")
    assert ">Enrol</button>" in page(client, f"{FORMATIONS}/formation/{budget}")
    enrol(client, budget)
    assert "Enrolment in progress" in page(client, f"{FORMATIONS}/mes-formations")
    deliver(app)
    assert "Progress not known yet" in page(client, f"{FORMATIONS}/mes-formations")
    assert "My courses in progress" in page(client, "/c/10145/")
