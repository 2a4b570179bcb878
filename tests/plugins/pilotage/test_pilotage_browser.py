"""A new mandate in a real Chromium: the maire adopts themes, a councillor declares hers,
the team fills the diagnostic for two themes, creates a project from the weak one, adds
tasks, moves one on the kanban, and the dashboard shows it. Every page passes axe and fits
a 360 px screen."""

from __future__ import annotations

import pytest

from tests.plugins.pilotage.helpers import PILOTAGE
from tests.test_browser import (  # noqa: F401 - fixtures
    PageChecker,
    chromium_browser,
    new_page,
    sign_in,
    sqlite_only,
)


@pytest.mark.browser
@sqlite_only
def test_a_new_mandate_from_the_referentiel_to_the_dashboard(app, team, new_page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    checker = PageChecker(tmp_path)
    page = new_page()
    sign_in(page, team.maire.email)

    # 1. The maire adopts two themes of the schools' domain.
    page.goto(f"{PILOTAGE}/referentiel")
    checker.check(page, "referentiel")
    schools = page.get_by_role("region", name="Écoles et restauration scolaire")
    schools.get_by_role("checkbox", name="Restauration scolaire").check()
    schools.get_by_role("checkbox", name="Bâtiments et fonctionnement des écoles").check()
    schools.get_by_role("button", name="Enregistrer les thèmes adoptés").click()
    expect(page.get_by_text("2 thème(s) adopté(s)")).to_be_visible()

    # 2. A councillor declares the theme she wants to be involved in, with her skills.
    nadia = new_page()
    sign_in(nadia, team.conseiller.email)
    nadia.goto(f"{PILOTAGE}/equipe")
    nadia.get_by_role("checkbox", name="Restauration scolaire").check()
    nadia.get_by_role("textbox", name="Mes compétences").fill(
        "Diététicienne à l'hôpital de Troyes."
    )
    nadia.get_by_role("button", name="Enregistrer mes thèmes").click()
    expect(nadia.get_by_role("table")).to_contain_text("Nadia Benali")
    checker.check(nadia, "equipe")

    # 3. The diagnostic of the two themes: the canteen does well, the buildings do not.
    page.goto(f"{PILOTAGE}/diagnostic/theme/restauration-scolaire")
    checker.check(page, "diagnostic-theme")
    page.locator("#must-0-oui").check()
    page.locator("#must-1-oui").check()
    page.locator("#requests-non").check()
    page.get_by_role("button", name="Enregistrer les réponses").click()
    page.goto(f"{PILOTAGE}/diagnostic/theme/batiments-scolaires")
    page.locator("#must-0-non").check()
    page.locator("#must-1-partiel").check()
    page.get_by_label("Lien vers une preuve (document, page web)").first.fill("pas un lien")
    page.get_by_role("button", name="Enregistrer les réponses").click()
    expect(page.get_by_role("alert")).to_contain_text("Le lien doit être une adresse web")
    checker.check(page, "diagnostic-theme-erreur")
    page.get_by_label("Lien vers une preuve (document, page web)").first.fill("")
    page.get_by_role("button", name="Enregistrer les réponses").click()
    weak = page.get_by_role("region", name="Points faibles")
    expect(weak).to_contain_text("Bâtiments et fonctionnement des écoles")
    checker.check(page, "diagnostic")

    # 4. A project from the weak theme: the theme comes chosen.
    weak.get_by_role("link", name="Créer un projet").click()
    expect(page.get_by_label("Thèmes du référentiel")).to_have_values(["batiments-scolaires"])
    page.get_by_label("Titre").fill("Isoler l'école")
    page.get_by_label("Statut").select_option("en_cours")
    page.get_by_label("Budget prévu (€)").fill("90000")
    page.get_by_label("Budget engagé (€)").fill("30000")
    page.get_by_label("Date de début").fill("2026-09-01")
    page.get_by_label("Date de fin").fill("2026-06-01")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert")).to_contain_text("La date de fin doit venir après")
    checker.check(page, "projet-formulaire-erreur")
    page.get_by_label("Date de fin").fill("2027-06-30")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Isoler l'école")
    checker.check(page, "projet")

    # 5. Two tasks, then the kanban moves one with its plain form.
    for title in ("Demander les devis", "Prévenir les parents"):
        page.get_by_role("link", name="Ajouter une tâche").click()
        page.get_by_label("Titre").fill(title)
        page.get_by_label("Confiée à").select_option(label="Nadia Benali")
        page.get_by_label("Échéance").fill("2027-01-15")
        page.get_by_role("button", name="Enregistrer").click()
    page.goto(f"{PILOTAGE}/taches/kanban")
    checker.check(page, "kanban")
    page.get_by_label("Statut de « Demander les devis »").select_option("en_cours")
    page.get_by_role("button", name="Déplacer « Demander les devis »").click()
    column = page.get_by_role("region", name="En cours")
    expect(column).to_contain_text("Demander les devis")
    nadia.goto(f"{PILOTAGE}/mes-taches")
    expect(nadia.get_by_role("main")).to_contain_text("Prévenir les parents")
    checker.check(nadia, "mes-taches")

    # 6. The dashboard reflects it all.
    page.goto("/c/10145/")
    main = page.get_by_role("main")
    expect(main).to_contain_text("En cours : 1")
    expect(main).to_contain_text("30\u202f000,00\xa0€ (33 %)")
    expect(main).to_contain_text("Écoles et restauration scolaire")
    expect(main).to_contain_text("1 thème adopté sans personne impliquée")
    checker.check(page, "tableau-de-bord")
    for name, path in [
        ("projets", f"{PILOTAGE}/projets"),
        ("taches", f"{PILOTAGE}/taches"),
        ("calendrier", f"{PILOTAGE}/calendrier"),
        ("theme", f"{PILOTAGE}/referentiel/theme/restauration-scolaire"),
    ]:
        page.goto(path)
        checker.check(page, name)
    assert checker.problems == [], "\n".join(checker.problems)


@pytest.mark.browser
@sqlite_only
def test_a_platform_admin_edits_a_theme_from_the_platform_pages(
    app,
    team,
    make_member,
    new_page,  # noqa: F811
    tmp_path,
):
    from playwright.sync_api import expect

    checker = PageChecker(tmp_path)
    page = new_page()
    sign_in(page, make_member(None, platform_admin=True, name="Paul Plateforme").email)
    page.goto("/admin/")
    page.get_by_role("link", name="Référentiel du métier d'élu").click()
    checker.check(page, "referentiel-plateforme")
    page.get_by_role("link", name="Modifier « Restauration scolaire »").click()
    checker.check(page, "theme-plateforme")
    page.get_by_label("Projets types").fill("Une cantine bio et locale")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".flashes")).to_contain_text("« Restauration scolaire » enregistré")
    assert checker.problems == [], "\n".join(checker.problems)
