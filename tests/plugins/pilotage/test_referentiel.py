"""The référentiel: the shipped files, their loading by the CLI, adoption by a commune,
members' interests and who covers what, a platform admin's edit and its new version."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.db import db
from plugins.pilotage import referentiel
from plugins.pilotage.models import Adoption, Interest, Theme
from tests.plugins.pilotage.helpers import OTHER, PILOTAGE, audit_actions, page, rows, says

REQUIRED_DOMAINS = {
    "finances", "personnel", "etat-civil", "urbanisme", "voirie", "eau", "dechets", "ecoles",
    "enfance", "social", "seniors", "sante", "culture", "sport", "cimetieres", "securite",
    "environnement", "energie", "economie", "commerce", "numerique", "participation",
    "intercommunalite",
}  # fmt: skip


def test_the_shipped_referentiel_covers_every_domain_with_legal_references():
    domains = referentiel.read_folder()
    assert {d.code for d in domains} == REQUIRED_DOMAINS
    assert all(8 <= len(d.themes) <= 12 for d in domains), [
        (d.code, len(d.themes)) for d in domains
    ]
    themes = [t for d in domains for t in d.themes]
    assert len(themes) >= 200
    # Every theme says what the commune must do (with the text), may do, typical projects
    # and indicators.
    incomplete = [t.code for t in themes if not (t.must and t.may and t.projects and t.indicators)]
    assert incomplete == []
    assert all(o.text and o.ref for t in themes for o in t.must)


@pytest.fixture
def cli(app, monkeypatch, tmp_path):
    monkeypatch.setenv("VIATIC_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("VIATIC_SECRET_KEY", app.config["SECRET_KEY"])
    monkeypatch.setenv("VIATIC_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_the_cli_loads_the_referentiel_then_versions_what_changed(app, cli, tmp_path):
    folder = tmp_path / "ref"
    shutil.copytree(referentiel.FOLDER, folder)
    shipped = len([t for d in referentiel.read_folder() for t in d.themes])
    interco = len(referentiel.read_folder(folder).pop().themes)
    first = cli("pilotage", "referentiel", "--dossier", str(folder))
    assert first.exit_code == 0, first.output
    assert f"23 domaines ; {shipped} thème(s) ajouté(s)" in first.output
    # A theme's text changes, a file leaves: one new version, the file's themes retired.
    finances = folder / "01-finances.yaml"
    finances.write_text(
        finances.read_text(encoding="utf-8").replace(
            "Plan pluriannuel d'investissement du mandat", "PPI du mandat"
        ),
        encoding="utf-8",
    )
    (folder / "23-intercommunalite.yaml").unlink()
    second = cli("pilotage", "referentiel", "--dossier", str(folder))
    assert second.exit_code == 0, second.output
    unchanged = shipped - interco - 1
    assert f"1 modifié(s), {interco} retiré(s), {unchanged} inchangé(s)" in second.output
    [budget] = rows(app, Theme, Theme.code == "budget-vote")
    assert budget.version == 2 and "PPI du mandat" in budget.projects
    assert all(t.retired_at for t in rows(app, Theme, Theme.code == "syndicats"))
    assert audit_actions(app) == ["pilotage.referentiel_loaded"] * 2


def test_a_new_release_of_the_files_tells_the_communes_which_adopted_themes_changed(
    app, client, team, cli, tmp_path
):
    client.login(team.maire.email)  # enabling the module loaded the shipped files
    adopt(client, "finances", "budget-vote", "fiscalite")
    folder = tmp_path / "ref"
    shutil.copytree(referentiel.FOLDER, folder)
    finances = folder / "01-finances.yaml"
    finances.write_text(
        finances.read_text(encoding="utf-8").replace(
            "Plan pluriannuel d'investissement du mandat", "PPI du mandat"
        ),
        encoding="utf-8",
    )
    loaded = cli("pilotage", "referentiel", "--dossier", str(folder))
    assert "0 thème(s) ajouté(s), 1 modifié(s), 0 retiré(s)" in loaded.output, loaded.output
    listing = page(client, f"{PILOTAGE}/referentiel")
    assert listing.count(">mis à jour<") == 1
    changed = page(client, f"{PILOTAGE}/referentiel/theme/budget-vote")
    assert "version 1, maintenant 2" in changed and "PPI du mandat" in changed
    assert "maintenant" not in page(client, f"{PILOTAGE}/referentiel/theme/fiscalite")


def test_an_invalid_referentiel_file_loads_nothing(app, cli, tmp_path):
    folder = tmp_path / "ref"
    shutil.copytree(referentiel.FOLDER, folder)
    (folder / "02-personnel.yaml").write_text("code: personnel\ntitle: Personnel\nthemes: []\n")
    result = cli("pilotage", "referentiel", "--dossier", str(folder))
    assert result.exit_code == 1
    assert "Rien n'a été chargé. 02-personnel.yaml : themes" in result.output
    assert rows(app, Theme) == []


def test_the_maire_adopts_themes_and_the_team_sees_them(app, client, team):
    client.login(team.maire.email)
    listing = page(client, f"{PILOTAGE}/referentiel")
    assert says(listing, "Préparation et vote du budget")
    sent = client.submit(
        f"{PILOTAGE}/referentiel/finances/adopter",
        {"themes": ["budget-vote", "fiscalite"]},
        page=f"{PILOTAGE}/referentiel",
    )
    assert sent.status_code == 302
    adopted = {a.theme.code for a in rows_with_theme(app)}
    assert adopted == {"budget-vote", "fiscalite"}
    assert "La commune a adopté 2 thèmes." in page(client, f"{PILOTAGE}/referentiel")
    # Unticking one in the same domain drops it, and the audit log says both.
    client.submit(
        f"{PILOTAGE}/referentiel/finances/adopter",
        {"themes": ["fiscalite"]},
        page=f"{PILOTAGE}/referentiel",
    )
    assert {a.theme.code for a in rows_with_theme(app)} == {"fiscalite"}
    assert audit_actions(app)[-2:] == ["pilotage.themes_adopted"] * 2
    conseiller = app.test_client()
    conseiller.login(team.conseiller.email)
    shown = page(conseiller, f"{PILOTAGE}/referentiel")
    assert "adopté" in shown and 'name="themes"' not in shown  # no form without the right


def test_the_same_adoption_sent_twice_at_the_same_instant_adopts_once(
    app, client, team, monkeypatch
):
    from plugins.pilotage import referentiel

    client.login(team.maire.email)
    url = f"{PILOTAGE}/referentiel/finances/adopter"
    client.submit(url, {"themes": ["budget-vote"]}, page=f"{PILOTAGE}/referentiel")
    # The late request read the adoptions before the first one committed: it sees none.
    monkeypatch.setattr(referentiel, "adoptions", lambda commune: {})
    late = client.submit(url, {"themes": ["budget-vote"]}, page=f"{PILOTAGE}/referentiel")
    assert late.status_code == 302
    monkeypatch.undo()
    assert [a.theme.code for a in rows_with_theme(app)] == ["budget-vote"]
    assert audit_actions(app).count("pilotage.themes_adopted") == 1


def rows_with_theme(app):
    with app.app_context():
        from sqlalchemy.orm import selectinload

        return list(db.scalars(select(Adoption).options(selectinload(Adoption.theme))))


def test_adoption_refuses_a_theme_of_another_domain_and_a_member_without_the_right(
    app, client, team
):
    client.login(team.maire.email)
    refused = client.submit(
        f"{PILOTAGE}/referentiel/finances/adopter",
        {"themes": ["budget-vote", "gestion-cimetiere"]},
        page=f"{PILOTAGE}/referentiel",
    )
    assert refused.status_code == 400
    assert says(refused.get_data(as_text=True), "Choisissez des thèmes du domaine « Finances")
    assert rows(app, Adoption) == []
    conseiller = app.test_client()
    conseiller.login(team.conseiller.email)
    forbidden = conseiller.submit(
        f"{PILOTAGE}/referentiel/finances/adopter",
        {"themes": ["budget-vote"]},
        page=f"{PILOTAGE}/referentiel",
    )
    assert forbidden.status_code == 403
    assert rows(app, Adoption) == []


def adopt(client, domain, *codes):
    response = client.submit(
        f"{PILOTAGE}/referentiel/{domain}/adopter",
        {"themes": list(codes)},
        page=f"{PILOTAGE}/referentiel",
    )
    assert response.status_code == 302


def theme_id(app, code):
    [theme] = rows(app, Theme, Theme.code == code)
    return theme.id


def test_members_declare_their_themes_and_the_page_shows_who_covers_what(app, client, team):
    client.login(team.maire.email)
    adopt(client, "ecoles", "restauration-scolaire", "batiments-scolaires")
    nadia = app.test_client()
    nadia.login(team.conseiller.email)
    sent = nadia.submit(
        f"{PILOTAGE}/equipe",
        {"themes": [str(theme_id(app, "restauration-scolaire"))], "skills": "Diététicienne"},
    )
    assert sent.status_code == 302
    shown = page(nadia, f"{PILOTAGE}/equipe")
    covered, uncovered = shown.split("Les thèmes adoptés et les personnes impliquées")[::-1]
    assert "Nadia Benali" in covered and "Diététicienne" in covered
    assert says(uncovered, "Bâtiments et fonctionnement des écoles")
    assert not says(uncovered, "Restauration scolaire")
    theme_page = page(nadia, f"{PILOTAGE}/referentiel/theme/restauration-scolaire")
    assert "Nadia Benali" in theme_page
    assert "CGCT" not in theme_page and "Code rural" in theme_page


def test_an_interest_in_a_theme_the_commune_did_not_adopt_is_refused(app, client, team):
    client.login(team.conseiller.email)
    refused = client.submit(
        f"{PILOTAGE}/equipe",
        {"themes": [str(theme_id(app, "budget-vote"))], "skills": "Comptable"},
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert says(html, "Choisissez parmi les thèmes adoptés par la commune.")
    assert 'aria-describedby="themes-erreur"' in html
    assert rows(app, Interest) == []
    not_a_number = client.submit(f"{PILOTAGE}/equipe", {"themes": ["x"], "skills": ""})
    assert not_a_number.status_code == 400


def test_a_platform_admins_edit_gives_the_theme_a_version_the_commune_sees(
    app, client, team, make_member
):
    client.login(team.maire.email)
    adopt(client, "finances", "dette-tresorerie")
    url = "/admin/modules/pilotage/referentiel/dette-tresorerie"
    assert client.get(url).status_code == 403  # a commune admin does not edit it
    # The platform admin, member of no commune, reaches it from the platform's menu.
    admin = app.test_client()
    admin.login(make_member(None, platform_admin=True, name="Paul Plateforme").email)
    assert 'href="/admin/modules/pilotage/referentiel"' in page(admin, "/admin/")
    listing = page(admin, "/admin/modules/pilotage/referentiel")
    assert f'href="{url}">Modifier' in listing and "version 1" in listing
    assert 'value="Dette et trésorerie"' in page(admin, url)  # the form shows the theme
    bad = admin.submit(url, {"title": "Dette", "must": "Sans référence", "may": ""})
    assert bad.status_code == 400
    assert says(bad.get_data(as_text=True), "Chaque obligation tient sur une ligne")
    saved = admin.submit(
        url,
        {
            "title": "Dette et trésorerie",
            "must": "N'emprunter que pour investir | CGCT, art. L2337-3",
            "may": "Renégocier",
            "projects": "Audit de la dette",
            "indicators": "Capacité de désendettement",
        },
        follow_redirects=True,
    )
    assert saved.status_code == 200
    assert says(
        saved.get_data(as_text=True), "Thème « Dette et trésorerie » enregistré (version 2)."
    )
    [theme] = rows(app, Theme, Theme.code == "dette-tresorerie")
    assert theme.version == 2
    assert theme.must == [{"text": "N'emprunter que pour investir", "ref": "CGCT, art. L2337-3"}]
    listing = page(client, f"{PILOTAGE}/referentiel")
    assert ">mis à jour<" in listing
    shown = page(client, f"{PILOTAGE}/referentiel/theme/dette-tresorerie")
    assert "version 1, maintenant 2" in shown
    client.submit(
        f"{PILOTAGE}/referentiel/theme/dette-tresorerie/lu",
        page=f"{PILOTAGE}/referentiel/theme/dette-tresorerie",
    )
    assert "version 1, maintenant 2" not in page(
        client, f"{PILOTAGE}/referentiel/theme/dette-tresorerie"
    )
    # Both the edit and the commune's reading of it are in the audit log; reading it again
    # changes nothing and records nothing.
    client.submit(
        f"{PILOTAGE}/referentiel/theme/dette-tresorerie/lu",
        page=f"{PILOTAGE}/referentiel/theme/dette-tresorerie",
    )
    assert audit_actions(app)[-2:] == ["pilotage.theme_edited", "pilotage.theme_seen"]


def test_citizens_and_other_communes_see_nothing_of_the_pilotage(
    app, client, team, other_commune, make_member, enable_module
):
    enable_module(other_commune, "pilotage")
    outsider = make_member(other_commune, "maire")
    client.login(team.maire.email)
    adopt(client, "finances", "budget-vote")
    for who in (team.habitant, outsider):
        visitor = app.test_client()
        visitor.login(who.email)
        for url in ("/referentiel", "/equipe", "/referentiel/theme/budget-vote"):
            assert visitor.get(f"{PILOTAGE}{url}").status_code == 403, (who.email, url)
    other = app.test_client()
    other.login(outsider.email)
    assert " checked" not in page(other, f"{OTHER}/referentiel")  # Faux-Villecerf's choice
    assert client.get(f"{PILOTAGE}/referentiel/theme/inconnu").status_code == 404


def test_search_finds_referentiel_themes_for_the_team_only(app, client, team):
    client.login(team.maire.email)
    found = page(client, "/c/10145/recherche?q=cimetière")
    assert f'href="{PILOTAGE}/referentiel/theme/gestion-cimetiere"' in found
    citizen = app.test_client()
    citizen.login(team.habitant.email)
    assert "gestion-cimetiere" not in citizen.get("/c/10145/recherche?q=cimetière").get_data(
        as_text=True
    )
