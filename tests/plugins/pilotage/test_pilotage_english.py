"""The pilotage module in English: its catalog is complete, and the language switch reaches
its pages."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

import plugins.pilotage
from core.testing import untranslated
from tests.plugins.pilotage.helpers import PILOTAGE, page

HERE = Path(plugins.pilotage.__file__).parent
CATALOG = plugins.pilotage.viatic_plugin_info().translations / "en" / "LC_MESSAGES"


def test_every_message_of_the_pilotage_has_an_english_translation():
    with open(CATALOG / "messages.po", "rb") as po:
        assert not read_po(po).fuzzy
    missing = untranslated(HERE, CATALOG / "messages.po")
    assert missing == [], "see plugins/pilotage/babel.cfg: extract, update, then translate these"


def test_a_member_who_switches_to_english_reads_the_pilotage_in_english(app, team, client):
    assert (CATALOG / "messages.mo").is_file(), "pybabel compile -d plugins/pilotage/translations"
    client.login(team.maire.email)
    switched = client.post("/langue", data={"locale": "en", "csrf_token": client.csrf_token()})
    assert switched.status_code == 302
    shown = page(client, f"{PILOTAGE}/referentiel")
    assert ">Steering</a>" in shown
    assert "<h1>The councillor's trade: reference guide</h1>" in shown
    assert "Save the adopted themes" in shown
    assert "Who covers what" in page(client, f"{PILOTAGE}/equipe")
