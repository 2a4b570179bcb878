"""Every page and endpoint of the module, walked from the URL map: a member of another
commune gets nothing (403) and changes nothing, nor does she naming our projects, tasks,
milestones and documents from her own commune (404); a citizen reads only what is
published."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from core.db import db
from plugins.pilotage import models
from tests.plugins.pilotage.helpers import PILOTAGE, project_form, rows, task_form
from tests.plugins.pilotage.test_documents import png, upload
from tests.plugins.pilotage.test_referentiel import adopt

TABLES = [
    models.Adoption,
    models.Interest,
    models.Skills,
    models.Project,
    models.Milestone,
    models.Task,
    models.Comment,
    models.Document,
    models.Diagnostic,
    models.Answer,
    models.Sharing,
]
# What citizens may open: the projects published for them (and the module's stylesheet).
PUBLIC = {"pilotage.public_projects", "pilotage.static"}


def counts(app):
    with app.app_context():
        return {m.__tablename__: db.scalar(select(func.count()).select_from(m)) for m in TABLES}


@pytest.fixture
def village(app, client, team):
    """Faux-Villecerf with one of everything the URLs can name."""
    client.login(team.maire.email)
    adopt(client, "finances", "budget-vote")
    client.submit(f"{PILOTAGE}/projets/nouveau", project_form())
    [project] = rows(app, models.Project)
    url = f"{PILOTAGE}/projets/{project.id}"
    client.submit(
        f"{url}/jalons", {"milestone_title": "J", "milestone_date": "2027-01-01"}, page=url
    )
    client.submit(f"{PILOTAGE}/taches/nouvelle", task_form(project=str(project.id), checklist="A"))
    upload(client, url, "plan.png", png())
    client.submit(f"{PILOTAGE}/diagnostic/theme/budget-vote", {"must-0": "oui"})
    [milestone], [task], [document] = (
        rows(app, models.Milestone),
        rows(app, models.Task),
        rows(app, models.Document),
    )
    return {
        "project_id": project.id,
        "task_id": task.id,
        "milestone_id": milestone.id,
        "document_id": document.id,
        "index": 0,
        "code": "budget-vote",
        "filename": "pilotage.css",
    }


def urls(app, values, methods, insee="10145"):
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("pilotage.", "pilotage_api.")):
            continue
        for method in methods & rule.methods:
            args = {name: values[name] for name in rule.arguments if name != "insee"}
            with app.test_request_context():
                from flask import url_for

                found.append((rule.endpoint, method, url_for(rule.endpoint, insee=insee, **args)))
    return sorted(found)


@pytest.fixture
def outsider(app, other_commune, make_member, enable_module):
    """Dierrey-Saint-Julien's maire, the module on in her commune, and her CSRF token."""
    enable_module(other_commune, "pilotage")
    client = app.test_client()
    client.login(make_member(other_commune, "maire").email)
    return client, client.csrf_token("/c/10124/pilotage/projets")


def send(outsider, method, url):
    """What a form or a client would send to ``url``: a title, a status, a comment, a file."""
    client, token = outsider
    api = url.startswith("/api/")
    return client.open(
        url,
        method=method,
        data={
            "csrf_token": token,
            "title": "Intrus",
            "status": "fait",
            "body": "Intrus",
            "file": (io.BytesIO(b"x"), "x.txt"),
        }
        if method == "POST" and not api
        else None,
        json={"title": "Intrus"} if api and method != "GET" else None,
        headers={"X-CSRFToken": token},
    )


def test_a_member_of_another_commune_gets_403_everywhere_and_changes_nothing(
    app, village, outsider
):
    before = counts(app)
    walked = urls(app, village, {"GET", "POST", "PATCH"})
    assert len(walked) >= 40
    for endpoint, method, url in walked:
        if endpoint == "pilotage.static":
            continue
        status = send(outsider, method, url).status_code
        assert status == 403, (endpoint, method, url, status)
    assert counts(app) == before


# What the URLs of a commune name that belongs to it: the référentiel's codes and the
# stylesheet's file are the same for every commune.
OWNED = {"project_id", "task_id", "milestone_id", "document_id"}


def test_another_communes_maire_naming_our_objects_from_her_commune_gets_404_and_changes_nothing(
    app, village, outsider
):
    before = counts(app)
    walked = [
        (endpoint, method, url)
        for endpoint, method, url in urls(app, village, {"GET", "POST", "PATCH"}, insee="10124")
        if OWNED & next(app.url_map.iter_rules(endpoint)).arguments
    ]
    assert len(walked) >= 19
    for endpoint, method, url in walked:
        status = send(outsider, method, url).status_code
        assert status == 404, (endpoint, method, url, status)
    assert counts(app) == before


def test_each_role_gets_403_on_every_page_and_endpoint_whose_permission_it_lacks(
    app, village, team
):
    from core.models import Commune, User
    from core.rights import access_of, has_permission

    before = counts(app)
    refused = {}
    for role in ("adjoint", "conseiller", "agent"):
        member = getattr(team, role)
        client = app.test_client()
        client.login(member.email)
        token = client.csrf_token(f"{PILOTAGE}/projets")
        refused[role] = []
        for endpoint, method, url in urls(app, village, {"GET", "POST", "PATCH"}):
            if endpoint == "pilotage.static":
                continue
            needed = access_of(app.view_functions[endpoint]).permission
            with app.app_context():
                user, commune = db.get(User, member.id), db.get(Commune, team.commune.id)
                if has_permission(user, commune, needed):
                    continue
            status = send((client, token), method, url).status_code
            assert status == 403, (role, endpoint, method, url, status)
            refused[role].append(endpoint)
    # Adjoints have every permission of the module but « modifier tous les projets », which
    # no page requires alone; councillors may not adopt themes nor share the scores; agents,
    # moreover, neither create projects nor answer the diagnostic.
    assert refused["adjoint"] == []
    assert set(refused["conseiller"]) == {"pilotage.adopt", "pilotage.diagnostic_sharing"}
    assert {"pilotage.project_create", "pilotage_api.create_project"} < set(refused["agent"])
    assert "pilotage.diagnostic_restart" in refused["agent"]
    assert counts(app) == before


def test_a_citizen_opens_only_the_published_projects(app, village, team):
    citizen = app.test_client()
    citizen.login(team.habitant.email)
    for endpoint, _method, url in urls(app, village, {"GET"}):
        status = citizen.get(url).status_code
        expected = 200 if endpoint in PUBLIC else 403
        assert status == expected, (endpoint, url, status)
