"""The agenda in English: its catalog is complete, and the portal's language switch reaches
the plugin's text, its dates and its times."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

import plugins.agenda
from core.testing import untranslated
from tests.plugins.agenda.helpers import AGENDA, create, events, page

HERE = Path(plugins.agenda.__file__).parent
CATALOG = plugins.agenda.viatic_plugin_info().translations / "en" / "LC_MESSAGES"


def test_every_message_of_the_agenda_has_an_english_translation():
    with open(CATALOG / "messages.po", "rb") as po:
        assert not read_po(po).fuzzy
    missing = untranslated(HERE, CATALOG / "messages.po")
    assert missing == [], "see plugins/agenda/babel.cfg: extract, update, then translate these"


def test_a_member_who_switches_to_english_reads_the_agenda_in_english(app, village, client):
    assert (CATALOG / "messages.mo").is_file(), "pybabel compile -d plugins/agenda/translations"
    client.login(village.maire.email)
    create(
        client,
        app,
        title="Conseil municipal",
        repeat="weekly",
        weekdays=["TU"],
        ends="count",
        count="3",
    )
    [event] = events(app)
    switched = client.post("/langue", data={"locale": "en", "csrf_token": client.csrf_token()})
    assert switched.status_code == 302

    month = page(client, f"{AGENDA}/?mois=2026-10")
    assert '<html lang="en">' in month
    assert ">Calendar</a>" in month  # the navigation item, a lazy label
    assert "<caption>October 2026</caption>" in month
    assert "Previous month" in month and "Next month" in month
    assert '<time datetime="2026-10-27T18:00:00+01:00">6:00\u202fPM</time>' in month
    shown = page(client, f"{AGENDA}/evenement/{event.id}?date=20261020T180000")
    assert "Every week on Tuesday, 3 times" in shown
    assert "Tuesday, October 20, 2026, 6:00\u202fPM – 7:00\u202fPM" in shown
    assert "Add to my calendar" in shown
    refused = create(client, app, title="")
    assert refused.status_code == 400
    assert "Give the event a title." in refused.get_data(as_text=True)
    assert "Upcoming appointments" in page(client, "/c/10145/")
