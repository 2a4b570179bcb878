"""Demonstration content of the pilotage module, for ``viatic demo``: themes adopted, the
team's interests, a first diagnostic, projects with milestones and tasks. Added once: a
commune that already has projects gets nothing more (running the demo twice adds none)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core import toolkit
from plugins.pilotage import diagnostic, projects, referentiel, tasks
from plugins.pilotage.models import Domain, Interest, Project

# (domain, themes) adopted by the demo communes.
ADOPTED = {
    "finances": ["budget-vote", "commande-publique"],
    "ecoles": ["batiments-scolaires", "restauration-scolaire"],
    "voirie": ["entretien-voirie", "mobilites-actives"],
    "energie": ["decret-tertiaire"],
    "securite": ["risques-majeurs"],
    "participation": ["demandes-habitants"],
    "cimetieres": ["gestion-cimetiere"],
}
ANSWERS = {
    "budget-vote": {"must-0": "oui", "must-1": "oui", "must-2": "oui", "projects": "partiel"},
    "restauration-scolaire": {"must-0": "partiel", "must-1": "oui", "requests": "non"},
    "batiments-scolaires": {"must-0": "partiel", "must-1": "non", "projects": "oui"},
    "risques-majeurs": {"must-0": "non", "must-1": "partiel", "projects": "non"},
    "entretien-voirie": {"must-0": "partiel", "requests": "oui"},
}


def add(commune: toolkit.Commune) -> None:
    if toolkit.db.scalar(select(Project.id).where(Project.commune_id == commune.id).limit(1)):
        return
    team = projects.team_of(commune)
    maire = next((u for u in team if toolkit.has_permission(u, commune, "pilotage.adopt")), None)
    if maire is None:
        return
    domains = {d.code: d for d in toolkit.db.scalars(select(Domain))}
    for code, themes in ADOPTED.items():
        referentiel.set_adoptions(commune, maire, domains[code], themes)
    toolkit.db.flush()
    adopted = {t.code: t for t in referentiel.adopted_themes(commune)}
    for n, person in enumerate(team):
        for code in list(adopted)[n::3][:3]:
            toolkit.db.add(
                Interest(commune_id=commune.id, user_id=person.id, theme_id=adopted[code].id)
            )
    for code, answers in ANSWERS.items():
        diagnostic.answer_theme(commune, maire, adopted[code], answers)
    today = tasks.today()
    school = projects.create_project(
        commune,
        maire,
        {
            "title": "Rénovation énergétique de l'école",
            "description": "Isolation des combles, menuiseries et chaudière.",
            "themes": ["batiments-scolaires", "decret-tertiaire"],
            "lead": maire.id,
            "members": [u.id for u in team[:3]],
            "status": "en_cours",
            "priority": "haute",
            "start_date": today - dt.timedelta(days=60),
            "end_date": today + dt.timedelta(days=300),
            "budget_planned": "180000",
            "budget_committed": "64000",
            "budget_spent": "12000",
            "progress": "35",
            "health": "a_risque",
            "health_reason": "Le devis de la chaudière dépasse l'enveloppe prévue.",
            "citizen_summary": "L'école sera mieux isolée et moins chère à chauffer.",
            "published": True,
        },
    )
    safeguard = projects.create_project(
        commune,
        maire,
        {
            "title": "Plan communal de sauvegarde",
            "themes": ["risques-majeurs"],
            "lead": team[-1].id,
            "status": "etude",
            "start_date": today,
            "end_date": today + dt.timedelta(days=120),
            "progress": "10",
        },
    )
    projects.create_project(
        commune,
        maire,
        {"title": "Piste cyclable vers le collège", "themes": ["mobilites-actives"]},
    )
    projects.add_milestone(
        commune, maire, school, "Choix des entreprises", today + dt.timedelta(days=20)
    )
    projects.add_milestone(
        commune, maire, school, "Fin du chantier", today + dt.timedelta(days=290)
    )
    projects.add_milestone(
        commune, maire, safeguard, "Exercice avec les pompiers", today + dt.timedelta(days=100)
    )
    for title, project, who, due, status in (
        ("Comparer les trois devis de chaudière", school, team[0], 5, "en_cours"),
        ("Prévenir les parents des travaux", school, team[-1], 30, "a_faire"),
        ("Recenser les personnes vulnérables", safeguard, team[-1], -3, "a_faire"),
        ("Relancer le syndicat d'énergie", None, team[0], 12, "a_faire"),
    ):
        tasks.create_task(
            commune,
            maire,
            {
                "title": title,
                "project": project.id if project else "",
                "assignee": who.id,
                "due_date": today + dt.timedelta(days=due),
                "status": status,
            },
        )
