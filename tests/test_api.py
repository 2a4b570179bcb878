"""The core's JSON API v1: what an app sees, errors as problems, pages, ETags, OpenAPI."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.models import Notification


def _notify(app, user, n: int, commune=None) -> None:
    with app.app_context():
        for i in range(n):
            db.add(
                Notification(
                    user_id=user.id,
                    type="core.member_joined",
                    title=f"Notification {i}",
                    commune_id=commune.id if commune is not None else None,
                )
            )
        db.commit()


def test_me_and_my_communes(app, client, commune, other_commune, make_member):
    maire = make_member(commune, "maire", admin=True, name="Claire Martin")
    make_member(other_commune, "conseiller", email=maire.email)
    client.login(maire.email)
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.mimetype == "application/json"
    assert me.json == {
        "id": maire.id,
        "name": "Claire Martin",
        "email": maire.email,
        "locale": None,
        "is_platform_admin": False,
    }
    communes = client.get("/api/v1/me/communes").json
    assert [(c["insee"], c["role"], c["is_commune_admin"]) for c in communes] == [
        ("10124", "conseiller", False),
        ("10145", "maire", True),
    ]
    assert communes[1]["role_label"] == "Maire"
    assert "core.members.view" in communes[1]["permissions"]


def test_members_are_paginated_with_links(app, client, commune, make_member):
    maire = make_member(commune, "maire")
    for n in range(4):
        make_member(commune, "agent", name=f"Agent {n}")
    client.login(maire.email)
    first = client.get("/api/v1/c/10145/membres?per_page=2")
    assert first.status_code == 200
    assert [m["name"] for m in first.json] == ["Agent 0", "Agent 1"]
    assert first.headers["X-Total-Count"] == "5"
    links = first.headers["Link"]
    assert 'membres?per_page=2&page=2>; rel="next"' in links
    assert 'membres?per_page=2&page=3>; rel="last"' in links
    last = client.get("/api/v1/c/10145/membres?per_page=2&page=3")
    assert [m["name"] for m in last.json] == [maire.name]
    assert 'rel="next"' not in last.headers["Link"] and 'rel="prev"' in last.headers["Link"]


def test_bad_page_arguments_are_a_problem_in_french(app, client, commune, make_member):
    client.login(make_member(commune, "maire").email)
    answer = client.get("/api/v1/c/10145/membres?per_page=5000")
    assert answer.status_code == 400
    assert answer.mimetype == "application/problem+json"
    assert answer.json["title"] == "Demande incorrecte"
    assert "per_page" in answer.json["detail"]


def test_reads_carry_an_etag_and_answer_304(app, client, commune, make_member):
    client.login(make_member(commune, "maire").email)
    first = client.get("/api/v1/me")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/me", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""


def test_a_member_of_one_commune_sees_nothing_of_another(
    app, client, commune, other_commune, make_member
):
    client.login(make_member(commune, "maire").email)
    answer = client.get("/api/v1/c/10124/membres")
    assert answer.status_code == 403
    assert answer.json["title"] == "Accès refusé"
    assert client.get("/api/v1/c/99999/modules").status_code == 404


def test_citizens_cannot_list_members(app, client, commune, make_member):
    client.login(make_member(commune, "citoyen").email)
    assert client.get("/api/v1/c/10145/membres").status_code == 403
    assert client.get("/api/v1/c/10145/modules").status_code == 200


def test_modules_enabled_for_the_commune(app, client, commune, make_member, enable_module):
    enable_module(commune, "meteo")
    client.login(make_member(commune, "agent").email)
    names = [m["name"] for m in client.get("/api/v1/c/10145/modules").json]
    assert "meteo" in names and "fragile" not in names


def test_notifications_list_and_mark_read(app, client, commune, make_member):
    maire = make_member(commune, "maire")
    other = make_member(commune, "agent")
    _notify(app, maire, 3, commune)
    _notify(app, other, 1)
    client.login(maire.email)
    listed = client.get("/api/v1/notifications?non_lues=true")
    assert listed.headers["X-Total-Count"] == "3"
    assert {n["commune_insee"] for n in listed.json} == {"10145"}
    first = listed.json[0]["id"]
    token = client.csrf_token()
    done = client.post(f"/api/v1/notifications/{first}/lue", headers={"X-CSRFToken": token})
    assert done.status_code == 200 and done.json == {"updated": 1}
    assert client.get("/api/v1/notifications?non_lues=true").headers["X-Total-Count"] == "2"
    with app.app_context():
        someone_elses = db.scalar(select(Notification.id).where(Notification.user_id == other.id))
    stolen = client.post(
        f"/api/v1/notifications/{someone_elses}/lue", headers={"X-CSRFToken": token}
    )
    assert stolen.status_code == 404
    everything = client.post("/api/v1/notifications/lues", headers={"X-CSRFToken": token})
    assert everything.json == {"updated": 2}
    assert client.get("/api/v1/notifications?non_lues=maybe").status_code == 400


def test_openapi_document_describes_every_api_endpoint(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    me = document["paths"]["/api/v1/me"]["get"]
    assert me["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Me"
    }
    assert "Problem" in document["components"]["schemas"]
    members = document["paths"]["/api/v1/c/{insee}/membres"]["get"]
    assert {p["name"] for p in members["parameters"]} == {"insee", "page", "per_page"}
    # Every JSON route of the core is documented.
    from core.api import operation_of

    undocumented = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        and operation_of(app.view_functions[rule.endpoint]) is None
        and rule.endpoint not in ("api.openapi", "api.documentation")
    ]
    assert undocumented == []
    page = client.get("/api/v1/").get_data(as_text=True)
    assert "GET /api/v1/c/{insee}/membres" in page


def test_an_identifier_too_large_for_the_database_is_a_404(app, client, commune, make_member):
    client.login(make_member(commune, "maire").email)
    token = client.csrf_token()
    answer = client.post("/api/v1/notifications/99999999999/lue", headers={"X-CSRFToken": token})
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_a_post_without_credentials_is_a_401_before_any_csrf_check(client):
    answer = client.post("/api/v1/notifications/lues")
    assert answer.status_code == 401
