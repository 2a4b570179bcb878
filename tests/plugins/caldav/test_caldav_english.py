"""The CalDAV page in English: its catalog is complete, and the language switch reaches it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

import plugins.caldav
from core.testing import untranslated
from tests.plugins.agenda.helpers import page
from tests.plugins.caldav.helpers import CALDAV

HERE = Path(plugins.caldav.__file__).parent
CATALOG = plugins.caldav.viatic_plugin_info().translations / "en" / "LC_MESSAGES"


def test_every_message_of_the_caldav_plugin_has_an_english_translation():
    with open(CATALOG / "messages.po", "rb") as po:
        assert not read_po(po).fuzzy
    missing = untranslated(HERE, CATALOG / "messages.po")
    assert missing == [], "see plugins/caldav/babel.cfg: extract, update, then translate these"


def test_an_admin_who_switches_to_english_reads_the_page_in_english(app, village, client):
    assert (CATALOG / "messages.mo").is_file(), "pybabel compile -d plugins/caldav/translations"
    client.login(village.maire.email)
    client.post("/langue", data={"locale": "en", "csrf_token": client.csrf_token()})
    html = page(client, CALDAV)
    assert "Connected calendars" in html and "Test the connection" in html
    assert "No calendar is connected yet." in html
