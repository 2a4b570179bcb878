"""The Formations JSON API: the catalogue, my enrolments, enrolling and the team, each behind
its token scope; bad requests are problems, never 500s."""

from __future__ import annotations

from core import tokens
from core.db import db
from core.models import User
from tests.plugins.academie.helpers import course_id, deliver, enrolments, run_job

API = "/api/v1/c/10145/academie"


def token(app, user, *scopes: str) -> dict[str, str]:
    with app.test_request_context():
        raw, _row = tokens.create(db.get(User, user.id), "app", scopes, 30)
        db.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_an_app_reads_the_catalogue_enrols_and_follows_progress(app, client, village, on_chamilo):
    headers = token(app, village.adjoint, "academie:read", "academie:write")
    listed = client.get(f"{API}/formations?q=budget", headers=headers)
    assert listed.status_code == 200
    [course] = listed.json["courses"]
    assert course["title"] == "Le budget communal" and course["themes"] == ["Finances"]
    assert course["provider"] == "Chamilo"
    enrolled = client.post(f"{API}/formations/{course['id']}/inscription", headers=headers)
    assert enrolled.status_code == 201
    assert enrolled.json["status"] == "pending"
    again = client.post(f"{API}/formations/{course['id']}/inscription", headers=headers)
    assert again.status_code == 201 and again.json["id"] == enrolled.json["id"]
    assert len(enrolments(app)) == 1
    deliver(app)
    on_chamilo.fake.set_progress(f"viatic-{village.adjoint.id}", 1, 60)
    run_job(app, "academie.progress")
    [mine] = client.get(f"{API}/mes-formations", headers=headers).json["enrolments"]
    assert (mine["status"], mine["progress"]) == ("active", 30.0)


def test_an_app_reads_that_an_enrolment_waits_for_the_communes_settings(
    app, client, village, on_chamilo
):
    headers = token(app, village.adjoint, "academie:read", "academie:write")
    on_chamilo.fake.adminonly_api = False  # Chamilo refuses what enrolments need
    budget = course_id(app, "Le budget communal")
    assert client.post(f"{API}/formations/{budget}/inscription", headers=headers).status_code == 201
    deliver(app)
    [mine] = client.get(f"{API}/mes-formations", headers=headers).json["enrolments"]
    assert (mine["status"], mine["status_label"]) == ("waiting", "Inscription en attente")


def test_each_endpoint_needs_its_scope(app, client, village, on_chamilo):
    read_only = token(app, village.adjoint, "academie:read")
    budget = course_id(app, "Le budget communal")
    assert (
        client.post(f"{API}/formations/{budget}/inscription", headers=read_only).status_code == 403
    )
    assert client.get(f"{API}/equipe", headers=read_only).status_code == 403
    maire = token(app, village.maire, "academie:team")
    team = client.get(f"{API}/equipe", headers=maire)
    assert team.status_code == 200
    assert {m["name"] for m in team.json["members"]} >= {"Claire Martin", "Paul Girard"}
    not_the_maire = token(app, village.conseiller, "academie:team")
    assert client.get(f"{API}/equipe", headers=not_the_maire).status_code == 403


def test_bad_requests_are_problems(app, client, village, on_chamilo):
    headers = token(app, village.adjoint, "academie:read", "academie:write")
    missing = client.post(f"{API}/formations/9999/inscription", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    del on_chamilo.fake.courses[3]
    run_job(app, "academie.catalogue")
    gone = client.post(
        f"{API}/formations/{course_id(app, 'La cantine scolaire')}/inscription", headers=headers
    )
    assert gone.status_code == 409
    assert gone.json["detail"] == "Cette formation n'est plus proposée : l'inscription est fermée."
    assert enrolments(app) == []
    stranger = client.get("/api/v1/c/10124/academie/formations", headers=headers)
    assert stranger.status_code in (403, 404)
