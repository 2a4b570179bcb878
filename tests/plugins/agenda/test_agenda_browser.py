"""The agenda's pages in a real Chromium: axe-core finds no violation and nothing scrolls
sideways at 360 px (where the month grid gives way to a list of days)."""

from __future__ import annotations

import re

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
def test_agenda_pages_pass_axe_and_fit_a_360_px_screen(
    app,
    village,
    new_page,  # noqa: F811
    tmp_path,
    enable_module,
):
    from playwright.sync_api import expect

    enable_module(village.commune, "caldav")

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
        ("agenda-synchronisation-caldav", "/c/10145/caldav/"),
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


@pytest.mark.browser
@sqlite_only
def test_a_recurring_event_from_the_month_view_and_an_appointment_answered(
    app,
    village,
    new_page,  # noqa: F811
    tmp_path,
):
    """The issue's journey: the maire creates a weekly event from the month view, then
    proposes a meeting; Nadia, in her own browser, answers it; the maire sees her answer and
    fixes the slot."""
    from playwright.sync_api import expect

    checker = PageChecker(tmp_path)
    maire = new_page()
    sign_in(maire, village.maire.email)
    maire.goto(f"{AGENDA}/?mois=2030-03")
    maire.get_by_role("link", name="Nouvel événement").first.click()
    maire.get_by_label("Titre", exact=True).fill("Permanence du samedi")
    maire.get_by_label("Date de début").fill("2030-03-02")
    maire.get_by_label("Heure de début").fill("10:00")
    maire.get_by_label("Heure de fin").fill("12:00")
    maire.get_by_label("Répétition", exact=True).select_option("weekly")
    maire.get_by_label("Fin de la répétition").select_option("count")
    maire.get_by_label("Nombre de fois").fill("3")
    maire.get_by_role("button", name="Enregistrer").click()
    expect(maire.get_by_role("heading", name="Permanence du samedi")).to_be_visible()
    maire.goto(f"{AGENDA}/?mois=2030-03")
    grid = maire.get_by_role("table", name="Mars 2030")
    expect(grid.get_by_role("link", name="Permanence du samedi")).to_have_count(3)

    maire.goto(f"{AGENDA}/rendez-vous/nouveau")
    checker.check(maire, "agenda-rendez-vous-nouveau")
    maire.get_by_label("Objet").fill("Point sur le budget")
    maire.get_by_label("Nadia Benali").check()
    maire.get_by_label("Créneau 1 : date").fill("2030-03-12")
    maire.locator("#slot1_start").fill("09:00")
    maire.locator("#slot1_end").fill("10:00")
    maire.get_by_label("Créneau 2 : date").fill("2030-03-14")
    maire.locator("#slot2_start").fill("18:00")
    maire.locator("#slot2_end").fill("19:00")
    maire.get_by_role("button", name="Envoyer la proposition").click()
    expect(maire.get_by_role("status")).to_contain_text("Proposition envoyée aux invités.")
    address = maire.url

    nadia = new_page()
    sign_in(nadia, village.conseiller.email)
    nadia.goto(address)
    checker.check(nadia, "agenda-rendez-vous-reponse")
    nadia.get_by_label("le jeudi 14 mars 2030 de 18:00 à 19:00").check()
    nadia.get_by_label("Un mot pour l'organisateur").fill("Le soir me va mieux")
    nadia.get_by_role("button", name="Envoyer ma réponse").click()
    expect(nadia.get_by_role("status")).to_contain_text("Votre réponse est enregistrée.")

    maire.reload()
    row = maire.get_by_role("row", name=re.compile("jeudi 14 mars 2030"))
    expect(row).to_contain_text("Nadia Benali")
    checker.check(maire, "agenda-rendez-vous-reponses")
    row.get_by_role("button", name="Fixer ce créneau").click()
    expect(maire.get_by_role("heading", name="Point sur le budget")).to_be_visible()
    nadia.goto(f"{AGENDA}/mon-planning?du=2030-03-10")
    expect(nadia.get_by_role("link", name="Point sur le budget")).to_be_visible()
    assert checker.problems == [], "\n".join(checker.problems)
