"""Tasks: in a project or standalone, assigned to members only, moved on the kanban by a
plain form, commented, « Mes tâches » across communes, overdue, and the reminder before the
due date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.db import db
from core.models import Notification
from plugins.pilotage import tasks
from plugins.pilotage.models import Comment, Project, Task
from tests.plugins.pilotage.helpers import (
    OTHER,
    PILOTAGE,
    page,
    project_form,
    rows,
    says,
    task_form,
)


def notifications(app, user):
    with app.app_context():
        return list(
            db.scalars(
                select(Notification.type)
                .where(Notification.user_id == user.id)
                .order_by(Notification.id)
            )
        )


def new_task(client, **values):
    return client.submit(f"{PILOTAGE}/taches/nouvelle", task_form(**values))


def test_a_task_in_a_project_is_assigned_moved_on_the_kanban_and_traced(app, client, team):
    client.login(team.maire.email)
    client.submit(f"{PILOTAGE}/projets/nouveau", project_form())
    [project] = rows(app, Project)
    sent = new_task(
        client,
        project=str(project.id),
        assignee=str(team.agent.id),
        due_date="2030-01-15",
        checklist="Devis A\nDevis B\n",
    )
    assert sent.status_code == 302
    [task] = rows(app, Task)
    assert task.checklist == [
        {"text": "Devis A", "done": False},
        {"text": "Devis B", "done": False},
    ]
    assert notifications(app, team.agent) == ["pilotage.task_assigned"]
    agent = app.test_client()
    agent.login(team.agent.email)
    board = page(agent, f"{PILOTAGE}/taches/kanban")
    assert (
        "Demander trois devis" in board and f'action="{PILOTAGE}/taches/{task.id}/statut"' in board
    )
    moved = agent.submit(
        f"{PILOTAGE}/taches/{task.id}/statut",
        {"status": "en_cours", "back": "kanban"},
        page=f"{PILOTAGE}/taches/kanban",
    )
    assert moved.status_code == 302 and moved.headers["Location"].endswith("/taches/kanban")
    assert rows(app, Task)[0].status == "en_cours"
    board = page(agent, f"{PILOTAGE}/taches/kanban")
    in_progress = board.split('id="colonne-en_cours"')[1].split("</section>")[0]
    assert "Demander trois devis" in in_progress
    agent.submit(f"{PILOTAGE}/taches/{task.id}/liste/1", page=f"{PILOTAGE}/taches/{task.id}")
    assert rows(app, Task)[0].checklist[1]["done"] is True
    # Any member of the team comments on it; an empty comment is refused, nothing written.
    url = f"{PILOTAGE}/taches/{task.id}"
    nadia = app.test_client()
    nadia.login(team.conseiller.email)
    empty = nadia.submit(f"{url}/commentaires", {"body": " "}, page=url)
    assert empty.status_code == 400 and "Écrivez votre commentaire." in empty.get_data(True)
    assert (
        nadia.submit(f"{url}/commentaires", {"body": "Le devis B arrive lundi."}).status_code == 302
    )
    shown = page(agent, url)
    assert "Le devis B arrive lundi." in shown and "Nadia Benali" in shown
    assert len(rows(app, Comment, Comment.task_id == task.id)) == 1
    feed = page(client, f"{PILOTAGE}/projets/{project.id}")
    assert "a créé une tâche « Demander trois devis »" in feed
    assert says(feed, "a changé le statut d'une tâche")
    assert "Nadia Benali a commenté une tâche « Demander trois devis »" in feed
    assert team.conseiller.email not in feed  # names, not the audit log's e-mails


def test_a_task_for_a_non_member_or_with_bad_input_is_refused_and_nothing_written(
    app, client, team, other_commune, make_member
):
    stranger = make_member(other_commune, "agent")
    client.login(team.maire.email)
    for values, message in [
        (
            {"assignee": str(stranger.id)},
            "La personne choisie n&#39;est pas membre de l&#39;équipe",
        ),
        ({"assignee": str(team.habitant.id)}, "La personne choisie n&#39;est pas membre"),
        ({"title": ""}, "Donnez un titre à la tâche."),
        ({"due_date": "demain"}, "Indiquez une date valide"),
        ({"status": "perdu"}, "Choisissez un statut dans la liste."),
        ({"project": "424242"}, "Choisissez un projet de la commune."),
    ]:
        refused = new_task(client, **values)
        assert refused.status_code == 400, values
        assert message in refused.get_data(as_text=True), values
    assert rows(app, Task) == []
    bad_move = client.submit(
        f"{PILOTAGE}/taches/1/statut", {"status": "x"}, page=f"{PILOTAGE}/taches"
    )
    assert bad_move.status_code == 404


def test_only_the_projects_team_and_the_assignee_edit_its_tasks(app, client, team):
    client.login(team.maire.email)
    client.submit(f"{PILOTAGE}/projets/nouveau", project_form(lead=str(team.maire.id)))
    [project] = rows(app, Project)
    new_task(client, project=str(project.id), assignee=str(team.agent.id))
    [task] = rows(app, Task)
    nadia = app.test_client()
    nadia.login(team.conseiller.email)
    refused = nadia.submit(
        f"{PILOTAGE}/taches/{task.id}/statut", {"status": "fait"}, page=f"{PILOTAGE}/taches"
    )
    assert refused.status_code == 403
    assert (
        nadia.submit(f"{PILOTAGE}/taches/nouvelle", task_form(project=str(project.id))).status_code
        == 403
    )
    assert rows(app, Task)[0].status == "a_faire"
    # Her own standalone task is hers to work on.
    assert new_task(nadia, title="Appeler la CAF").status_code == 302
    citizen = app.test_client()
    citizen.login(team.habitant.email)
    assert citizen.get(f"{PILOTAGE}/taches").status_code == 403
    assert citizen.get(f"{PILOTAGE}/mes-taches").status_code == 403


def test_my_tasks_span_my_communes_and_say_what_is_overdue(
    app, client, team, other_commune, make_member, enable_module
):
    enable_module(other_commune, "pilotage")
    make_member(other_commune, "maire", email=team.agent.email)  # Julie works in both
    other_maire = app.test_client()
    other_maire.login(make_member(other_commune, "maire").email)
    other_maire.submit(
        f"{OTHER}/taches/nouvelle",
        task_form(title="Tâche à Dierrey", assignee=str(team.agent.id), due_date="2020-01-01"),
    )
    client.login(team.maire.email)
    new_task(
        client, title="Tâche à Faux-Villecerf", assignee=str(team.agent.id), due_date="2099-01-01"
    )
    new_task(client, title="Tâche de quelqu'un d'autre", assignee=str(team.adjoint.id))
    julie = app.test_client()
    julie.login(team.agent.email)
    mine = page(julie, f"{PILOTAGE}/mes-taches")
    assert "Tâche à Faux-Villecerf" in mine and "Tâche à Dierrey" in mine
    assert "Dierrey-Saint-Julien" in mine and "quelqu&#39;un d&#39;autre" not in mine
    assert "en retard, échéance le 1 janvier 2020" in mine
    assert f'href="{OTHER}/taches/' in mine
    # Where the module is turned off, its tasks leave her list (their pages answer 404).
    with app.app_context():
        from core import modules

        modules.disable(db.get(type(other_commune), other_commune.id), "pilotage")
        db.commit()
    assert "Tâche à Dierrey" not in page(julie, f"{PILOTAGE}/mes-taches")
    enable_module(other_commune, "pilotage")
    assert "Tâche à Dierrey" in page(julie, f"{PILOTAGE}/mes-taches")
    # Once out of the other commune, its tasks leave her list.
    with app.app_context():
        from core.models import Membership

        db.execute(
            Membership.__table__.delete().where(
                Membership.user_id == team.agent.id, Membership.commune_id == other_commune.id
            )
        )
        db.commit()
    assert "Tâche à Dierrey" not in page(julie, f"{PILOTAGE}/mes-taches")


def test_my_tasks_come_by_pages_the_nearest_due_first_the_undated_last(app, team):
    today = dt.date.today()
    with app.app_context():
        # Out of order on purpose: one without a date, then dates going down.
        db.add(Task(commune_id=team.commune.id, title="Sans date", assignee_id=team.agent.id))
        for n in range(tasks.MINE_PAGE, 0, -1):
            db.add(
                Task(
                    commune_id=team.commune.id,
                    title=f"Tâche n° {n}",
                    assignee_id=team.agent.id,
                    due_date=today + dt.timedelta(days=n),
                )
            )
        db.add(
            Task(
                commune_id=team.commune.id,
                title="Déjà faite",
                assignee_id=team.agent.id,
                status=tasks.DONE,
                due_date=today,
            )
        )
        db.commit()
    julie = app.test_client()
    julie.login(team.agent.email)
    first = page(julie, f"{PILOTAGE}/mes-taches")
    assert first.index("Tâche n° 1<") < first.index("Tâche n° 2<")
    assert f"Tâche n° {tasks.MINE_PAGE}<" in first and "Sans date" not in first
    assert "Déjà faite" not in first and "Julie Morel" not in first.split("<main")[1]
    assert f'href="{PILOTAGE}/mes-taches?page=2"' in first and "Page précédente" not in first
    second = page(julie, f"{PILOTAGE}/mes-taches?page=2")
    assert "Sans date" in second and "Tâche n° 1<" not in second
    assert f'href="{PILOTAGE}/mes-taches?page=1"' in second and "Page suivante" not in second
    assert "Cette page est vide." in page(julie, f"{PILOTAGE}/mes-taches?page=9")
    for wrong in ("x2", "-3", "0"):  # read as the first page, not an error
        assert "Tâche n° 1<" in page(julie, f"{PILOTAGE}/mes-taches?page={wrong}")


def test_the_reminder_goes_once_to_the_assignee_of_a_task_due_soon(app, client, team):
    client.login(team.maire.email)
    soon = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    later = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    new_task(client, title="Bientôt", assignee=str(team.adjoint.id), due_date=soon)
    new_task(client, title="Plus tard", assignee=str(team.adjoint.id), due_date=later)
    new_task(
        client, title="Déjà faite", assignee=str(team.adjoint.id), due_date=soon, status="fait"
    )
    from core.scheduler import run_job_in_context

    with app.app_context():
        assert run_job_in_context("pilotage.remind_due_tasks")
        assert run_job_in_context("pilotage.remind_due_tasks")
    assert notifications(app, team.adjoint) == ["pilotage.task_assigned"] * 3 + [
        "pilotage.task_due"
    ]
    with app.app_context():
        [note] = db.scalars(select(Notification).where(Notification.type == "pilotage.task_due"))
        assert "Bientôt" in note.title and note.url.startswith(f"{PILOTAGE}/taches/")
    assert tasks.REMIND_DAYS == 2
