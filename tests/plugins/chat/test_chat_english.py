"""The chat in English: its catalog is complete, and the language switch reaches it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

import plugins.chat
import plugins.matrix
from core.testing import untranslated
from tests.plugins.chat.helpers import CHAT, general_id, page, post

HERE = Path(plugins.chat.__file__).parent
CATALOG = plugins.chat.viatic_plugin_info().translations / "en" / "LC_MESSAGES"


def test_every_message_of_the_chat_has_an_english_translation():
    with open(CATALOG / "messages.po", "rb") as po:
        assert not read_po(po).fuzzy
    missing = untranslated(HERE, CATALOG / "messages.po")
    assert missing == [], "see plugins/chat/babel.cfg: extract, update, then translate these"


def test_every_message_of_the_matrix_bridge_has_an_english_translation():
    catalog = plugins.matrix.viatic_plugin_info().translations / "en" / "LC_MESSAGES"
    missing = untranslated(Path(plugins.matrix.__file__).parent, catalog / "messages.po")
    assert missing == [], "see plugins/matrix/babel.cfg: extract, update, then translate these"


def test_a_member_who_switches_to_english_reads_the_chat_in_english(app, village, client):
    assert (CATALOG / "messages.mo").is_file(), "pybabel compile -d plugins/chat/translations"
    general = general_id(app)
    writer = app.test_client()
    writer.login(village.maire.email)
    post(writer, general, "Bonjour")
    client.login(village.agent.email)
    switched = client.post("/langue", data={"locale": "en", "csrf_token": client.csrf_token()})
    assert switched.status_code == 302
    listing = page(client, f"{CHAT}/")
    assert ">Messaging</a>" in listing and "Your channels" in listing
    assert "1 unread message" in page(client, "/c/10145/")
    html = page(client, f"{CHAT}/salon/{general}")
    assert "Send" in html and ">Members</a>" in html
    assert post(client, general, "").status_code == 400
    assert "Write a message." in post(client, general, "").get_data(as_text=True)
