"""The agenda's pages in a real Chromium: axe-core finds no violation and nothing scrolls
sideways at 360 px (where the month grid gives way to a list of days)."""

from __future__ import annotations

import pytest

from tests.plugins.agenda.helpers import AGENDA, create, events
from tests.test_browser import (  # noqa: F401 - fixtures
    PageChecker,
    chromium_browser,
    new_page,
    sign_in,
    sqlite_only,
)


@pytest.mark.browser
@sqlite_only
def test_agenda_pages_pass_axe_and_fit_a_360_px_screen(app, village, new_page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    writer = app.test_client()
    writer.login(village.maire.email)
    create(
        writer,
        app,
        title="Permanence des élus avec un titre assez long pour passer à la ligne",
        start_date="2026-10-13",
        repeat="weekly",
        weekdays=["TU"],
        ends="count",
        count="4",
    )
    create(
        writer,
        app,
        title="Brocante",
        kind="evenements",
        all_day="y",
        start_date="2026-10-17",
        start_time="",
    )
    [series, _fair] = events(app)
    checker = PageChecker(tmp_path)
    page = new_page()
    sign_in(page, village.maire.email)
    for name, path in [
        ("agenda-mois", f"{AGENDA}/?mois=2026-10"),
        ("agenda-a-venir", f"{AGENDA}/a-venir"),
        ("agenda-semaine", f"{AGENDA}/semaine?semaine=2026-W44"),
        ("agenda-mon-planning", f"{AGENDA}/mon-planning?du=2026-10-20"),
        (
            "agenda-modifier-une-date",
            f"{AGENDA}/evenement/{series.id}/modifier?date=20261027T180000",
        ),
        ("agenda-evenement", f"{AGENDA}/evenement/{series.id}?date=20261027T180000"),
        ("agenda-formulaire", f"{AGENDA}/nouvel-evenement"),
        ("agenda-modifier", f"{AGENDA}/evenement/{series.id}/modifier"),
        ("agenda-supprimer", f"{AGENDA}/evenement/{series.id}/supprimer?date=20261027T180000"),
        ("agenda-agendas", f"{AGENDA}/agendas"),
        ("tableau-de-bord-agenda", "/c/10145/"),
    ]:
        response = page.goto(path)
        assert response is not None and response.status == 200, name
        checker.check(page, name)
    # On a phone, the month is a list of days; on a desktop, a grid with its caption.
    page.goto(f"{AGENDA}/?mois=2026-10")
    expect(page.get_by_role("table", name="Octobre 2026")).to_be_visible()
    page.set_viewport_size({"width": 360, "height": 740})
    expect(page.get_by_role("table")).to_be_hidden()
    expect(page.get_by_role("heading", name="mardi 27 octobre 2026")).to_be_visible()
    page.goto(f"{AGENDA}/nouvel-evenement")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert")).to_contain_text("Donnez un titre à l'événement.")
    checker.check(page, "agenda-formulaire-erreurs")
    assert checker.problems == [], "\n".join(checker.problems)
