"""Personal access tokens: made on the account page, used as bearer tokens on the API."""

from __future__ import annotations

import datetime as dt
import html
import re

from sqlalchemy import select, update

from core.db import db, utcnow
from core.models import AuditEvent, PersonalAccessToken

PAGE = "/compte/jetons/"
CREATED = re.compile(r'<code id="nouveau-jeton">(vtc_pat_[A-Za-z0-9_-]+)</code>')


def make_token(client, name="Script", scopes=("profile",), days="90") -> str:
    answer = client.submit(PAGE, {"name": name, "scopes": list(scopes), "days": days}, page=PAGE)
    assert answer.status_code == 201, answer.get_data(as_text=True)[:500]
    assert answer.headers["Cache-Control"] == "no-store"
    return CREATED.search(answer.get_data(as_text=True)).group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_shown_once_and_acts_for_its_person(app, client, commune, make_member):
    maire = make_member(commune, "maire", name="Claire Martin")
    client.login(maire.email)
    token = make_token(client)
    page = client.get(PAGE).get_data(as_text=True)
    assert token not in page and token[:12] in page  # the prefix, to recognise it
    api = app.test_client()  # no cookie at all
    me = api.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.json["name"] == "Claire Martin"
    with app.app_context():
        stored = db.scalar(select(PersonalAccessToken))
        assert token not in (stored.token_hash, stored.prefix) and stored.last_used_at
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "token.created"))


def test_a_token_reaches_only_the_endpoints_of_its_scopes(app, client, commune, make_member):
    client.login(make_member(commune, "maire").email)
    token = make_token(client, scopes=["profile"])
    api = app.test_client()
    refused = api.get("/api/v1/c/10145/membres", headers=bearer(token))
    assert refused.status_code == 403
    assert "communes:read" in refused.json["detail"]
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer realm="viatic", error="insufficient_scope", scope="communes:read"'
    )
    wider = make_token(client, name="Large", scopes=["profile", "communes:read"])
    assert api.get("/api/v1/c/10145/membres", headers=bearer(wider)).status_code == 200


def test_a_token_of_one_commune_sees_nothing_of_another(
    app, client, commune, other_commune, make_member
):
    client.login(make_member(commune, "maire").email)
    token = make_token(client, scopes=["communes:read"])
    api = app.test_client()
    assert api.get("/api/v1/c/10124/membres", headers=bearer(token)).status_code == 403


def test_a_bad_expired_or_revoked_token_is_a_401_that_says_so(app, client, commune, make_member):
    client.login(make_member(commune, "maire").email)
    token = make_token(client)
    api = app.test_client()
    for wrong in ("vtc_pat_nimportequoi", "autre-chose", token + "x"):
        answer = api.get("/api/v1/me", headers=bearer(wrong))
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="viatic", error="invalid_token"'
        assert "jeton n'est pas valable" in answer.json["detail"]
    with app.app_context():
        db.execute(
            update(PersonalAccessToken).values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        db.commit()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401
    fresh = make_token(client, name="Autre")
    with app.app_context():
        token_id = db.scalar(
            select(PersonalAccessToken.id).where(PersonalAccessToken.name == "Autre")
        )
    revoked = client.submit(f"{PAGE}{token_id}/revoquer", page=PAGE, follow_redirects=True)
    assert "ne fonctionne plus" in html.unescape(revoked.get_data(as_text=True))
    assert api.get("/api/v1/me", headers=bearer(fresh)).status_code == 401


def test_a_token_writes_without_csrf_and_a_session_still_needs_it(
    app, client, commune, make_member
):
    maire = make_member(commune, "maire")
    client.login(maire.email)
    token = make_token(client, scopes=["notifications"])
    api = app.test_client()
    assert api.post("/api/v1/notifications/lues", headers=bearer(token)).json == {"updated": 0}
    assert client.post("/api/v1/notifications/lues").status_code == 400  # cookie, no token


def test_a_token_opens_no_page_of_the_portal(app, client, commune, make_member):
    client.login(make_member(commune, "maire").email)
    token = make_token(client, scopes=["profile", "communes:read"])
    page = app.test_client().get("/c/10145/", headers=bearer(token))
    assert page.status_code == 302 and "/connexion" in page.headers["Location"]


def test_an_endpoint_without_declared_scopes_refuses_tokens(
    app, client, commune, make_member, enable_module
):
    enable_module(commune, "meteo")
    client.login(make_member(commune, "maire").email)
    token = make_token(client, scopes=["profile", "meteo:read"])
    answer = app.test_client().get("/api/v1/c/10145/meteo/bulletin", headers=bearer(token))
    assert answer.status_code == 403 and "n'accepte pas de jeton" in answer.json["detail"]


def test_bad_token_forms_are_refused_with_messages(app, client, commune, make_member):
    client.login(make_member(commune, "maire").email)
    for data, message in (
        ({"name": "", "scopes": ["profile"], "days": "90"}, "Ce champ est obligatoire"),
        ({"name": "X", "days": "90"}, "Cochez au moins une permission"),
        ({"name": "X", "scopes": ["admin:tout"], "days": "90"}, "n'est pas un choix valide"),
        ({"name": "X", "scopes": ["profile"], "days": "9999"}, "N'est pas un choix valide"),
    ):
        answer = client.submit(PAGE, data, page=PAGE)
        assert answer.status_code == 400, data
        assert message in html.unescape(answer.get_data(as_text=True)), data
    with app.app_context():
        assert db.scalar(select(PersonalAccessToken)) is None
