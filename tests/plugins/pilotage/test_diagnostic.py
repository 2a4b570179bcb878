"""The self-diagnostic: answering a theme, scores per theme and domain, strengths and
weaknesses, the radar and its table, rounds and their history, the comparison (per
population stratum and per EPCI) that never shows a group of fewer than five communes."""

from __future__ import annotations

import pytest

from core.db import db
from core.testing import add_commune
from plugins.pilotage import diagnostic
from plugins.pilotage.models import Answer, Diagnostic, Domain, DomainScore, Sharing
from tests.plugins.pilotage.helpers import OTHER, PILOTAGE, page, rows, says
from tests.plugins.pilotage.test_referentiel import adopt

DIAG = f"{PILOTAGE}/diagnostic"


def answer(client, code, **values):
    return client.submit(f"{DIAG}/theme/{code}", values)


@pytest.fixture
def adopted(client, team):
    client.login(team.maire.email)
    adopt(client, "ecoles", "restauration-scolaire", "batiments-scolaires")
    adopt(client, "finances", "budget-vote")
    adopt(client, "voirie", "entretien-voirie")
    return client


def test_the_team_answers_two_themes_and_reads_the_scores(app, adopted, team):
    client = adopted
    form = page(client, f"{DIAG}/theme/restauration-scolaire")
    assert "Obligation remplie : Servir au moins 50 % de produits durables" in form
    assert "Code rural et de la pêche maritime, art. L230-5-1" in form
    sent = answer(
        client,
        "restauration-scolaire",
        **{
            "must-0": "oui",
            "must-0-evidence": "https://mairie.example/cantine.pdf",
            "must-1": "partiel",
            "must-1-comment": "Le jeudi seulement.",
            "projects": "nsp",
            "requests": "non",
        },
    )
    assert sent.status_code == 302
    answer(client, "batiments-scolaires", **{"must-0": "non", "must-1": "non", "requests": "oui"})
    answers = rows(app, Answer)
    assert len(answers) == 7
    assert {a.answered_by_id for a in answers} == {team.maire.id}
    shown = page(client, DIAG)
    # restauration: (100 + 50 + 100) / 3 = 83.3 ; bâtiments: 0 ; the domain: 41.7.
    assert "3 réponse(s) sur 4 · 83 / 100" in shown.replace("\n", " ") or "83 / 100" in shown
    assert "<td>42 / 100</td>" in shown
    strengths = shown.split('id="forces"')[1].split("</section>")[0]
    weaknesses = shown.split('id="faiblesses"')[1].split("</section>")[0]
    assert "Restauration scolaire" in strengths
    assert says(weaknesses, "Bâtiments et fonctionnement des écoles")
    assert f'href="{PILOTAGE}/projets/nouveau?theme=batiments-scolaires"' in weaknesses
    again = page(client, f"{DIAG}/theme/restauration-scolaire")
    assert "Le jeudi seulement." in again and "Répondu par Claire Martin" in again
    # From the weak theme, a project starts with the theme chosen.
    form = page(client, f"{PILOTAGE}/projets/nouveau?theme=batiments-scolaires")
    assert (
        'value="batiments-scolaires" selected' in form
        or 'selected value="batiments-scolaires"' in form
    )


def test_a_radar_needs_three_domains_and_says_the_same_as_its_table(app, adopted):
    client = adopted
    answer(client, "budget-vote", **{"must-0": "oui"})
    answer(client, "entretien-voirie", **{"must-0": "partiel"})
    assert "Le radar apparaît quand trois domaines" in page(client, DIAG)
    answer(client, "restauration-scolaire", **{"must-0": "non"})
    shown = page(client, DIAG)
    assert (
        '<svg viewBox="-40 -10 280 220" role="img" aria-labelledby="radar-titre radar-desc">'
        in shown
    )
    assert '<title id="radar-titre">Radar des scores par domaine</title>' in shown
    assert "<caption>Scores par domaine (sur 100)</caption>" in shown


@pytest.mark.parametrize(
    ("code", "values", "message"),
    [
        ("gestion-cimetiere", {"must-0": "oui"}, "La commune n&#39;a pas adopté ce thème"),
        ("budget-vote", {"must-0": "peut-être"}, "Choisissez une réponse."),
        ("budget-vote", {"must-0-comment": "Sans réponse"}, "Choisissez une réponse."),
        (
            "budget-vote",
            {"must-0": "oui", "must-0-evidence": "javascript:alert(1)"},
            "Le lien doit être une adresse web complète",
        ),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_written(app, adopted, code, values, message):
    refused = answer(adopted, code, **values)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert message in html and 'role="alert"' in html
    assert rows(app, Answer) == [] and rows(app, Diagnostic) == []


def test_taking_the_diagnostic_again_keeps_the_history(app, adopted):
    client = adopted
    answer(client, "budget-vote", **{"must-0": "non"})
    client.submit(f"{DIAG}/recommencer", page=DIAG)
    answer(client, "budget-vote", **{"must-0": "oui", "must-1": "oui", "must-2": "oui"})
    assert len(rows(app, Diagnostic)) == 2
    shown = page(client, DIAG)
    history = shown.split('id="historique"')[1]
    assert "<td>0 / 100</td>" in history and "<td>100 / 100</td>" in history


def test_who_may_answer(app, adopted, team, other_commune, make_member, enable_module):
    agent = app.test_client()
    agent.login(team.agent.email)
    assert agent.get(f"{DIAG}/theme/budget-vote").status_code == 200
    assert answer(agent, "budget-vote", **{"must-0": "oui"}).status_code == 403
    citizen = app.test_client()
    citizen.login(team.habitant.email)
    assert citizen.get(DIAG).status_code == 403
    enable_module(other_commune, "pilotage")
    outsider = app.test_client()
    outsider.login(make_member(other_commune, "maire").email)
    assert answer(outsider, "budget-vote", **{"must-0": "oui"}).status_code == 403
    # In its own commune, the theme is not adopted: refused, and Faux-Villecerf untouched.
    assert (
        outsider.submit(f"{OTHER}/diagnostic/theme/budget-vote", {"must-0": "oui"}).status_code
        == 400
    )
    assert rows(app, Answer) == []


def give_scores(app, communes, score, share=True):
    """Each of ``communes`` gets a round with ``score`` in Finances, and shares it or not."""
    with app.app_context():
        finances = db.scalar(db.query(Domain).filter_by(code="finances").statement)
        for commune in communes:
            round_ = Diagnostic(commune_id=commune.id)
            db.add(round_)
            db.flush()
            db.add(
                DomainScore(
                    diagnostic_id=round_.id,
                    commune_id=commune.id,
                    domain_id=finances.id,
                    score=score,
                )
            )
            db.add(Sharing(commune_id=commune.id, opted_in=share))
        db.commit()


def run_benchmarks(app):
    """The scheduler's job, as the scheduler runs it (it commits after the job)."""
    with app.app_context():
        stored = diagnostic.compute_benchmarks()
        db.commit()
        return stored


def test_the_comparison_never_shows_a_group_of_fewer_than_five_communes(app, adopted):
    client = adopted
    answer(client, "budget-vote", **{"must-0": "oui"})
    client.submit(f"{DIAG}/partage", {"opted_in": "1"}, page=DIAG)
    others = [add_commune(app, f"9900{n}", f"Commune {n}") for n in range(5)]
    give_scores(app, others[:3], 40.0)
    give_scores(app, others[3:], 10.0, share=False)  # not counted: they did not opt in
    run_benchmarks(app)
    shown = page(client, DIAG)
    assert "Pas encore assez de communes comparables" in shown
    assert "Médiane de la strate" in shown and "<td>40 / 100</td>" not in shown
    give_scores(app, [add_commune(app, "99010", "Commune 10")], 60.0)
    assert run_benchmarks(app) == 1  # the stratum's Finances: 5 communes
    shown = page(client, DIAG)
    # Faux-Villecerf (100), three at 40 and one at 60: the median is 40.
    assert "<td>40 / 100</td>" in shown
    assert "Votre strate : moins de 500 habitants." in shown
    client.submit(f"{DIAG}/partage", {"opted_in": "0"}, page=DIAG)
    assert "<td>40 / 100</td>" not in page(client, DIAG)
    assert "Partagez les scores de la commune" in page(client, DIAG)


def join_epci(app, communes, population):
    """Put ``communes`` in the CC de l'Orvin et de l'Ardusson, with ``population``."""
    from core.models import Commune, Epci

    with app.app_context():
        if db.get(Epci, "200069052") is None:
            db.add(Epci(siren="200069052", name="CC de l'Orvin et de l'Ardusson", kind="CC"))
        for commune in communes:
            found = db.get(Commune, commune.id)
            found.epci_siren = "200069052"
            if population is not None:
                found.population = population
        db.commit()


def finances_row(html):
    return html.split('href="#domaine-finances">Finances et budget</a></th>')[1].split("</tr>")[0]


def test_the_epci_median_counts_its_opted_in_communes_and_only_from_five(app, adopted, team):
    client = adopted
    answer(client, "budget-vote", **{"must-0": "oui"})
    client.submit(f"{DIAG}/partage", {"opted_in": "1"}, page=DIAG)
    join_epci(app, [team.commune], None)
    # Four neighbours of the EPCI, bigger than Faux-Villecerf: not of its stratum.
    neighbours = [add_commune(app, f"9910{n}", f"Voisine {n}") for n in range(4)]
    join_epci(app, neighbours, 3000)
    give_scores(app, neighbours[:3], 40.0)
    give_scores(app, neighbours[3:], 60.0, share=False)
    run_benchmarks(app)
    shown = page(client, DIAG)
    assert "Pas encore assez de communes comparables" in shown  # the EPCI counts 4
    with app.app_context():  # the fourth opts in: 5 communes
        db.get(Sharing, neighbours[3].id).opted_in = True
        db.commit()
    assert run_benchmarks(app) == 1  # the EPCI's Finances; the strata stay under 5
    shown = page(client, DIAG)
    assert says(shown, "Votre intercommunalité : CC de l'Orvin et de l'Ardusson.")
    # Faux-Villecerf 100, three at 40, one at 60: 40; its stratum's median is not shown.
    cells = [cell.split("</td>")[0] for cell in finances_row(shown).split("<td>")[1:]]
    assert cells == ["100 / 100", "—", "40 / 100"]
