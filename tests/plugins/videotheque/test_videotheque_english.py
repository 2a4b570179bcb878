"""The Vidéothèque, Vimeo and the in-house hosting in English: their catalogs are complete,
and the portal's language switch reaches the library's pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import plugins.videointerne
import plugins.videotheque
import plugins.vimeo
from core.testing import untranslated
from tests.plugins.videotheque.helpers import LIBRARY, page, start


@pytest.mark.parametrize("plugin", [plugins.videotheque, plugins.vimeo, plugins.videointerne])
def test_every_message_has_an_english_translation(plugin):
    catalog = plugin.viatic_plugin_info().translations / "en" / "LC_MESSAGES"
    with open(catalog / "messages.po", "rb") as po:
        assert not read_po(po).fuzzy
    assert (catalog / "messages.mo").is_file(), "pybabel compile -d plugins/<name>/translations"
    missing = untranslated(Path(plugin.__file__).parent, catalog / "messages.po")
    assert missing == [], "see the plugin's babel.cfg: extract, update, then translate these"


def test_a_member_who_switches_to_english_reads_the_library_in_english(client, village):
    client.login(village.maire.email)
    switched = client.post("/langue", data={"locale": "en", "csrf_token": client.csrf_token()})
    assert switched.status_code == 302
    library = page(client, f"{LIBRARY}/")
    assert "<h1>Video library: officials' testimonies</h1>" in library
    assert ">Video library</a>" in library  # the navigation item, a lazy label
    assert "Contribute a testimony" in library
    refused = start(client, captions=b"pas des sous-titres")
    assert refused.json["errors"]["captions"].startswith("This file is not in the WebVTT format")
    assert "New testimonies" in page(client, "/c/10145/")
