"""Viatic as an OAuth2 authorization server and OpenID provider: the code flow with PKCE,
consent, refresh token rotation and reuse detection, revocation, discovery and JWKS, the
admin's registered apps and a person's authorised apps; and an independent OIDC client
(authlib's own, in a separate Flask app) signing in through Viatic served over HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from flask import Flask, jsonify, session
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select, update

from core import auth, oauth2
from core.db import db
from core.models import (
    AuditEvent,
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthConsent,
    OAuthGrant,
    OAuthToken,
    OidcSigningKey,
    User,
)
from core.testing import CSRF_FIELD, PASSWORD, make_app
from tests.conftest import FAKE_PLUGINS

APP_REDIRECT = "fr.viatic.app:/retour"
TOOL_REDIRECT = "https://formation.exemple.fr/plugin/oauth2/src/callback.php"
ISSUER = "http://viatic.test"


# --- Helpers ----------------------------------------------------------------------------------


def register(
    app: Flask,
    confidential: bool = False,
    scopes: str = "openid profile email notifications",
    redirect_uris: tuple[str, ...] | None = None,
    name: str | None = None,
) -> tuple[str, str | None]:
    """A registered client: (client_id, secret or None)."""
    uris = list(redirect_uris or ((TOOL_REDIRECT,) if confidential else (APP_REDIRECT,)))
    with app.test_request_context():
        row, secret = oauth2.create_client(
            name or ("Formation" if confidential else "Viatic mobile"),
            confidential,
            uris,
            scopes.split(),
        )
        db.commit()
        return row.client_id, secret


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)


def authorize_url(client_id: str, **params: Any) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": APP_REDIRECT,
        "scope": "openid profile email",
        "state": "etat-" + secrets.token_urlsafe(8),
        "nonce": "nonce-" + secrets.token_urlsafe(8),
    }
    query.update(params)
    return "/oauth/autoriser?" + urlencode({k: v for k, v in query.items() if v is not None})


def answer(location: str) -> dict[str, str]:
    """The parameters of the redirect back to the app."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def consent(client: Any, url: str, decision: str = "autoriser") -> Any:
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return client.submit(url, {"decision": decision}, page=url)


def get_code(client: Any, client_id: str, challenge: str | None, **params: Any) -> str:
    url = authorize_url(
        client_id,
        code_challenge=challenge,
        code_challenge_method="S256" if challenge else None,
        **params,
    )
    response = client.get(url)
    if response.status_code == 200:  # the consent screen
        response = client.submit(url, {"decision": "autoriser"}, page=url)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return answer(response.headers["Location"])["code"]


def exchange(
    client: Any, client_id: str, code: str, verifier: str | None = None, **data: Any
) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": APP_REDIRECT,
        "client_id": client_id,
    }
    if verifier:
        form["code_verifier"] = verifier
    form.update(data)
    return client.post("/oauth/token", data={k: v for k, v in form.items() if v is not None})


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(client: Any, client_id: str, refresh_token: str, **headers: str) -> Any:
    return client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
        headers=headers,
    )


def tokens_for(client: Any, app_client_id: str) -> dict[str, Any]:
    """Sign-in already done: the whole code + PKCE flow of the public app."""
    verifier, challenge = pkce()
    code = get_code(client, app_client_id, challenge)
    response = exchange(client, app_client_id, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.fixture
def person(make_member, commune) -> Any:
    return make_member(commune, "maire", name="Claire Martin", email="claire@faux-villecerf.fr")


@pytest.fixture
def signed_in(client, person) -> Any:
    client.login(person.email)
    return client


@pytest.fixture
def admin_client(app, make_member) -> Any:
    make_member(None, platform_admin=True, email="plateforme@viatic.fr")
    admin = app.test_client()
    admin.login("plateforme@viatic.fr")
    return admin


# --- The code flow with PKCE, through the test client -----------------------------------------


def test_the_code_flow_with_pkce_gives_tokens_an_id_token_and_userinfo(app, signed_in, person):
    client_id, _ = register(app)
    verifier, challenge = pkce()
    url = authorize_url(
        client_id, code_challenge=challenge, code_challenge_method="S256", nonce="n-0123456789"
    )
    page = signed_in.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Autoriser « Viatic mobile » ?" in html
    assert "Connaître votre adresse e-mail" in html and "Vous identifier" in html
    assert 'value="autoriser"' in html and 'value="refuser"' in html
    assert "fr.viatic.app:" in page.headers["Content-Security-Policy"].split("form-action")[1]

    back = signed_in.submit(url, {"decision": "autoriser"}, page=url)
    assert back.status_code == 302
    location = back.headers["Location"]
    assert location.startswith(APP_REDIRECT + "?")
    params = answer(location)
    assert params["state"] == parse_qs(urlsplit(url).query)["state"][0]

    response = exchange(signed_in, client_id, params["code"], verifier)
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    tokens = response.json
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["access_token"].startswith("vtc_oat_")
    assert tokens["refresh_token"].startswith("vtc_ort_")
    assert set(tokens["scope"].split()) == {"openid", "profile", "email"}

    keys = KeySet.import_key_set(signed_in.get("/oauth/jwks").json)
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    assert id_token.header["kid"] == keys.keys[0].kid
    claims = CodeIDToken(
        id_token.claims,
        id_token.header,
        {"iss": {"values": [ISSUER]}},
        {"nonce": "n-0123456789", "client_id": client_id, "access_token": tokens["access_token"]},
    )
    claims.validate()  # signature, iss, aud, exp, nonce, at_hash
    assert claims["sub"] == str(person.id) and claims["name"] == "Claire Martin"
    assert claims["email"] == person.email and claims["auth_time"] <= claims["iat"]

    info = signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"]))
    assert info.status_code == 200
    assert info.json == {"sub": str(person.id), "name": "Claire Martin", "email": person.email}
    assert "oauth.consent_given" in audit_actions(app)
    with app.app_context():
        stored = db.scalar(select(OAuthToken))
        assert tokens["access_token"] not in (stored.access_token_hash, stored.refresh_token_hash)


def test_a_code_is_single_use_and_its_second_use_revokes_what_it_gave(app, signed_in):
    client_id, _ = register(app)
    verifier, challenge = pkce()
    code = get_code(signed_in, client_id, challenge)
    first = exchange(signed_in, client_id, code, verifier)
    assert first.status_code == 200
    again = exchange(signed_in, client_id, code, verifier)
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"
    info = signed_in.get("/oauth/userinfo", headers=bearer(first.json["access_token"]))
    assert info.status_code == 401
    assert refresh(signed_in, client_id, first.json["refresh_token"]).status_code == 400
    assert "oauth.code_reused" in audit_actions(app)


def test_an_expired_code_is_an_invalid_grant(app, signed_in):
    client_id, _ = register(app)
    verifier, challenge = pkce()
    code = get_code(signed_in, client_id, challenge)
    with app.app_context():
        db.execute(
            update(OAuthAuthorizationCode).values(
                expires_at=oauth2.utcnow() - dt.timedelta(seconds=1)
            )
        )
        db.commit()
    response = exchange(signed_in, client_id, code, verifier)
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def test_the_code_lives_sixty_seconds(app, signed_in):
    client_id, _ = register(app)
    get_code(signed_in, client_id, pkce()[1])
    with app.app_context():
        row = db.scalar(select(OAuthAuthorizationCode))
        assert row.expires_at - row.created_at == dt.timedelta(seconds=60)


def test_pkce_is_required_from_public_clients_and_only_s256(app, signed_in):
    client_id, _ = register(app)
    for extra in ({}, {"code_challenge": pkce()[1], "code_challenge_method": "plain"}):
        response = signed_in.get(authorize_url(client_id, **extra))
        assert response.status_code == 302
        params = answer(response.headers["Location"])
        assert params["error"] == "invalid_request" and "state" in params
    code = get_code(signed_in, client_id, pkce()[1])
    wrong = exchange(signed_in, client_id, code, pkce()[0])
    assert wrong.status_code == 400 and wrong.json["error"] == "invalid_grant"
    missing = exchange(signed_in, client_id, code)
    assert missing.status_code == 400 and missing.json["error"] == "invalid_request"


def test_a_visitor_signs_in_first_then_comes_back_to_the_consent(app, client, person):
    client_id, _ = register(app)
    url = authorize_url(client_id, code_challenge=pkce()[1], code_challenge_method="S256")
    response = client.get(url)
    assert response.status_code == 302
    login = response.headers["Location"]
    assert login.startswith("/connexion?next=")
    form = {
        "email": person.email,
        "password": PASSWORD,
        "next": parse_qs(urlsplit(login).query)["next"][0],
    }
    signed = client.submit("/connexion", form, page=login)
    assert signed.status_code == 302 and signed.headers["Location"] == url
    assert "Autoriser « Viatic mobile » ?" in client.get(url).get_data(as_text=True)


def test_prompt_none_without_session_or_consent_goes_back_with_an_error(app, client, person):
    client_id, _ = register(app)
    challenge = pkce()[1]
    url = authorize_url(client_id, prompt="none", code_challenge=challenge)
    nobody = client.get(url + "&code_challenge_method=S256")
    assert answer(nobody.headers["Location"])["error"] == "login_required"
    client.login(person.email)
    no_consent = client.get(url + "&code_challenge_method=S256")
    assert answer(no_consent.headers["Location"])["error"] == "consent_required"


# --- Consent ----------------------------------------------------------------------------------


def test_consent_is_remembered_for_the_same_scopes_only(app, signed_in):
    client_id, _ = register(app)
    get_code(signed_in, client_id, pkce()[1])
    again = signed_in.get(
        authorize_url(client_id, code_challenge=pkce()[1], code_challenge_method="S256")
    )
    assert again.status_code == 302 and "code" in answer(again.headers["Location"])
    fewer = signed_in.get(
        authorize_url(
            client_id, scope="openid", code_challenge=pkce()[1], code_challenge_method="S256"
        )
    )
    assert fewer.status_code == 302
    more = authorize_url(
        client_id,
        scope="openid notifications",
        code_challenge=pkce()[1],
        code_challenge_method="S256",
    )
    page = signed_in.get(more)
    assert page.status_code == 200
    assert "Lire vos notifications et les marquer comme lues" in page.get_data(as_text=True)
    forced = signed_in.get(
        authorize_url(
            client_id, prompt="consent", code_challenge=pkce()[1], code_challenge_method="S256"
        )
    )
    assert forced.status_code == 200
    assert audit_actions(app).count("oauth.consent_given") == 1


def test_a_refused_consent_goes_back_with_access_denied(app, signed_in):
    client_id, _ = register(app)
    url = authorize_url(
        client_id, state="mon-etat", code_challenge=pkce()[1], code_challenge_method="S256"
    )
    response = consent(signed_in, url, "refuser")
    assert response.status_code == 302
    params = answer(response.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == "mon-etat"
    assert "oauth.consent_refused" in audit_actions(app)
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(OAuthAuthorizationCode)) == 0
        assert db.scalar(select(func.count()).select_from(OAuthConsent)) == 0


def test_the_consent_form_needs_its_csrf_token(app, signed_in):
    client_id, _ = register(app)
    url = authorize_url(client_id, code_challenge=pkce()[1], code_challenge_method="S256")
    assert signed_in.post(url, data={"decision": "autoriser"}).status_code == 400
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(OAuthAuthorizationCode)) == 0


# --- Bad authorization requests ---------------------------------------------------------------


def test_an_unknown_or_disabled_client_gets_a_page_and_no_redirect(app, signed_in, admin_client):
    response = signed_in.get(authorize_url("inconnue"))
    assert response.status_code == 400 and "Location" not in response.headers
    assert "pas enregistrée sur Viatic" in response.get_data(as_text=True)
    client_id, _ = register(app)
    with app.app_context():
        db.execute(update(OAuthClient).values(enabled=False))
        db.commit()
    disabled = signed_in.get(authorize_url(client_id, code_challenge=pkce()[1]))
    assert disabled.status_code == 400 and "Location" not in disabled.headers


def test_an_unregistered_redirect_uri_gets_a_page_and_no_redirect(app, signed_in):
    client_id, _ = register(app)
    for uri in ("https://pirate.exemple/vol", APP_REDIRECT + "/", "fr.viatic.app:/RETOUR"):
        response = signed_in.get(
            authorize_url(client_id, redirect_uri=uri, code_challenge=pkce()[1])
        )
        assert response.status_code == 400 and "Location" not in response.headers
        assert "n'est pas enregistrée" in response.get_data(as_text=True).replace("&#39;", "'")


@pytest.mark.parametrize("scope", ["openid inconnu:ecrire", "openid communes:read", ""])
def test_invalid_scopes_go_back_as_invalid_scope(app, signed_in, scope):
    # communes:read is declared by the core, but this client may not ask for it.
    client_id, _ = register(app)
    response = signed_in.get(
        authorize_url(
            client_id, scope=scope, code_challenge=pkce()[1], code_challenge_method="S256"
        )
    )
    assert response.status_code == 302
    params = answer(response.headers["Location"])
    assert params["error"] == "invalid_scope" and params["state"].startswith("etat-")


def test_parameters_that_are_not_printable_ascii_are_refused_not_a_500(app, signed_in):
    client_id, _ = register(app, confidential=True)
    for changes in (
        {"redirect_uri": "https://formation.exemple.fr/é"},
        {"response_type": "códe"},
        {"scope": "openid ʇǝɹɔǝs"},
        {"nonce": "a\x00b"},
    ):
        params = {"redirect_uri": TOOL_REDIRECT, **changes}
        response = signed_in.get(authorize_url(client_id, **params))
        assert response.status_code == 400 and "Location" not in response.headers
    form = {"grant_type": "authorization_code", "code": "é", "redirect_uri": TOOL_REDIRECT}
    for endpoint in ("/oauth/token", "/oauth/revoke"):
        response = signed_in.post(endpoint, data={**form, "token": "x\x00"})
        assert response.status_code == 400 and response.json["error"] == "invalid_request"
        undecodable = base64.b64encode(b"\xff\xfe:\xff").decode()
        response = signed_in.post(
            endpoint,
            data={"grant_type": "authorization_code", "code": "x", "token": "x"},
            headers={"Authorization": f"Basic {undecodable}"},
        )
        assert response.status_code == 401 and response.json["error"] == "invalid_client"


def test_another_response_type_goes_back_as_unsupported(app, signed_in):
    client_id, _ = register(app)
    response = signed_in.get(authorize_url(client_id, response_type="token"))
    assert answer(response.headers["Location"])["error"] == "unsupported_response_type"


# --- Confidential clients and the token endpoint ----------------------------------------------


def test_a_confidential_client_authenticates_and_may_skip_pkce(app, signed_in):
    client_id, secret = register(app, confidential=True)
    code = get_code(signed_in, client_id, None, redirect_uri=TOOL_REDIRECT)
    response = signed_in.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": TOOL_REDIRECT},
        headers=basic(client_id, secret),
    )
    assert response.status_code == 200 and "id_token" in response.json
    code = get_code(signed_in, client_id, None, redirect_uri=TOOL_REDIRECT)
    posted = exchange(signed_in, client_id, code, redirect_uri=TOOL_REDIRECT, client_secret=secret)
    assert posted.status_code == 200


@pytest.mark.parametrize("how", ["basic", "post", "none", "unknown"])
def test_a_wrong_client_secret_is_401_invalid_client(app, signed_in, how):
    client_id, _secret = register(app, confidential=True)
    code = get_code(signed_in, client_id, None, redirect_uri=TOOL_REDIRECT)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": TOOL_REDIRECT}
    headers = {}
    if how == "basic":
        headers = basic(client_id, "vtc_ocs_faux")
    elif how == "post":
        data.update(client_id=client_id, client_secret="vtc_ocs_faux")
    elif how == "none":
        data.update(client_id=client_id)
    else:
        headers = basic("inconnue", "secret")
    response = signed_in.post("/oauth/token", data=data, headers=headers)
    assert response.status_code == 401 and response.json["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    # The code was not spent on a client that failed to authenticate.
    assert (
        signed_in.post("/oauth/token", data=data, headers=basic(client_id, _secret)).status_code
        == 200
    )


def test_bad_token_requests_are_oauth_errors_not_500(app, signed_in):
    client_id, _ = register(app)
    cases = [
        ({"grant_type": "password", "username": "x", "password": "y"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "client_id": client_id}, "invalid_request"),
        (
            {"grant_type": "authorization_code", "client_id": client_id, "code": "n'importe"},
            "invalid_grant",
        ),
        ({"grant_type": "refresh_token", "client_id": client_id}, "invalid_request"),
        (
            {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": "vtc_ort_x"},
            "invalid_grant",
        ),
    ]
    for data, error in cases:
        response = signed_in.post("/oauth/token", data=data)
        assert response.status_code in (400, 401) and response.json["error"] == error, data


def test_a_code_for_another_redirect_uri_or_client_is_refused(app, signed_in):
    client_id, _ = register(app, redirect_uris=(APP_REDIRECT, "fr.viatic.app:/autre"))
    other_id, _ = register(app, name="Autre application")
    verifier, challenge = pkce()
    code = get_code(signed_in, client_id, challenge)
    wrong_uri = exchange(signed_in, client_id, code, verifier, redirect_uri="fr.viatic.app:/autre")
    assert wrong_uri.json["error"] == "invalid_grant"
    other = exchange(signed_in, other_id, code, verifier)
    assert other.json["error"] == "invalid_grant"


# --- Refresh tokens: rotation and reuse -------------------------------------------------------


def test_a_refresh_token_is_rotated_and_its_reuse_revokes_the_family(app, signed_in, person):
    client_id, _ = register(app)
    first = tokens_for(signed_in, client_id)
    rotated = refresh(signed_in, client_id, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert set(second["scope"].split()) == {"openid", "profile", "email"}
    assert (
        signed_in.get("/oauth/userinfo", headers=bearer(second["access_token"])).status_code == 200
    )
    with app.app_context():
        newest = db.scalar(select(OAuthToken).order_by(OAuthToken.id.desc()))
        assert newest.refresh_expires_at - newest.issued_at == dt.timedelta(days=30)
        assert newest.access_expires_at - newest.issued_at == dt.timedelta(hours=1)

    reused = refresh(signed_in, client_id, first["refresh_token"])
    assert reused.status_code == 400 and reused.json["error"] == "invalid_grant"
    # The whole family is gone: the latest refresh and access tokens too.
    assert refresh(signed_in, client_id, second["refresh_token"]).json["error"] == "invalid_grant"
    for token in (first["access_token"], second["access_token"]):
        assert signed_in.get("/oauth/userinfo", headers=bearer(token)).status_code == 401
    with app.app_context():
        family = db.scalar(select(OAuthGrant))
        assert family.revoked_reason == "refresh_token_reused"
        event = db.scalar(
            select(AuditEvent).where(AuditEvent.action == "oauth.refresh_token_reused")
        )
        assert event.actor_id == person.id and event.details["family_revoked"] is True
    # Another sign-in of the same person starts a new family, which works.
    assert (
        signed_in.get(
            "/oauth/userinfo", headers=bearer(tokens_for(signed_in, client_id)["access_token"])
        ).status_code
        == 200
    )


def test_a_refresh_may_narrow_the_scope_but_not_widen_it(app, signed_in):
    client_id, _ = register(app)
    first = tokens_for(signed_in, client_id)
    wider = signed_in.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": client_id,
            "scope": "openid notifications",
        },
    )
    assert wider.json["error"] == "invalid_scope"
    narrower = signed_in.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": client_id,
            "scope": "openid",
        },
    )
    assert narrower.status_code == 200 and narrower.json["scope"] == "openid"


def test_an_expired_refresh_token_or_one_of_another_client_is_refused(app, signed_in):
    client_id, _ = register(app)
    other_id, _ = register(app, name="Autre")
    first = tokens_for(signed_in, client_id)
    assert refresh(signed_in, other_id, first["refresh_token"]).json["error"] == "invalid_grant"
    with app.app_context():
        db.execute(
            update(OAuthToken).values(refresh_expires_at=oauth2.utcnow() - dt.timedelta(seconds=1))
        )
        db.commit()
    assert refresh(signed_in, client_id, first["refresh_token"]).json["error"] == "invalid_grant"
    with app.app_context():  # an expiry is not a reuse: the family stands
        assert db.scalar(select(OAuthGrant.revoked_at)) is None


# --- Revocation (RFC 7009) and the bearer check -----------------------------------------------


def test_revoking_an_access_token(app, signed_in):
    client_id, _ = register(app)
    tokens = tokens_for(signed_in, client_id)
    response = signed_in.post(
        "/oauth/revoke", data={"token": tokens["access_token"], "client_id": client_id}
    )
    assert response.status_code == 200
    info = signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"]))
    assert info.status_code == 401
    assert info.headers["WWW-Authenticate"] == 'Bearer realm="viatic", error="invalid_token"'


def test_revoking_a_refresh_token_revokes_its_family(app, signed_in):
    client_id, _ = register(app)
    tokens = tokens_for(signed_in, client_id)
    other = tokens_for(signed_in, client_id)  # another device: another family
    signed_in.post(
        "/oauth/revoke",
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": client_id,
        },
    )
    assert (
        signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    )
    assert refresh(signed_in, client_id, tokens["refresh_token"]).json["error"] == "invalid_grant"
    assert (
        signed_in.get("/oauth/userinfo", headers=bearer(other["access_token"])).status_code == 200
    )


def test_revocation_of_unknown_or_foreign_tokens(app, signed_in):
    client_id, _ = register(app)
    other_id, _ = register(app, name="Autre")
    tokens = tokens_for(signed_in, client_id)
    unknown = signed_in.post("/oauth/revoke", data={"token": "vtc_oat_x", "client_id": client_id})
    assert unknown.status_code == 200  # RFC 7009 §2.2
    foreign = signed_in.post(
        "/oauth/revoke", data={"token": tokens["access_token"], "client_id": other_id}
    )
    assert foreign.status_code == 400
    assert (
        signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"])).status_code == 200
    )
    missing = signed_in.post("/oauth/revoke", data={"client_id": client_id})
    assert missing.status_code == 400 and missing.json["error"] == "invalid_request"


def test_userinfo_needs_a_valid_token_with_openid(app, signed_in, person):
    client_id, _ = register(app)
    nothing = signed_in.get("/oauth/userinfo")
    assert nothing.status_code == 401
    assert nothing.headers["WWW-Authenticate"] == 'Bearer realm="viatic"'
    assert signed_in.get("/oauth/userinfo", headers=bearer("vtc_oat_faux")).status_code == 401
    verifier, challenge = pkce()
    code = get_code(signed_in, client_id, challenge, scope="notifications")
    tokens = exchange(signed_in, client_id, code, verifier).json
    assert "id_token" not in tokens
    no_openid = signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"]))
    assert no_openid.status_code == 403
    assert 'error="insufficient_scope"' in no_openid.headers["WWW-Authenticate"]
    only_openid = get_code(signed_in, client_id, challenge, scope="openid")
    tokens = exchange(signed_in, client_id, only_openid, verifier).json
    info = signed_in.post("/oauth/userinfo", headers=bearer(tokens["access_token"]))
    assert info.json == {"sub": str(person.id)}


def test_an_expired_access_token_or_a_closed_account_is_refused(app, signed_in, person):
    client_id, _ = register(app)
    tokens = tokens_for(signed_in, client_id)
    with app.app_context():
        db.execute(update(User).where(User.id == person.id).values(is_active=False))
        db.commit()
    assert (
        signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    )
    with app.app_context():
        db.execute(update(User).where(User.id == person.id).values(is_active=True))
        db.execute(
            update(OAuthToken).values(access_expires_at=oauth2.utcnow() - dt.timedelta(seconds=1))
        )
        db.commit()
    assert (
        signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    )


def test_the_bearer_authenticator_gives_the_person_scopes_and_client(app, signed_in, person):
    client_id, _ = register(app)
    tokens = tokens_for(signed_in, client_id)
    with app.test_request_context():
        found = oauth2.authenticate(tokens["access_token"])
        assert found.user.id == person.id and found.kind == "oauth"
        assert found.scopes == frozenset({"openid", "profile", "email"})
        assert found.client_id == client_id
        assert oauth2.authenticate("vtc_pat_autre-chose") is None


def test_an_oauth_token_reaches_the_api_until_it_is_revoked(app, signed_in, person):
    client_id, _ = register(app)
    tokens = tokens_for(signed_in, client_id)
    api = app.test_client()  # no session: the token alone
    me = api.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json["email"] == person.email
    forbidden = api.get("/api/v1/c/10145/membres", headers=bearer(tokens["access_token"]))
    assert forbidden.status_code == 403  # communes:read was not granted
    api.post("/oauth/revoke", data={"token": tokens["access_token"], "client_id": client_id})
    assert api.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 401


# --- Discovery and keys -----------------------------------------------------------------------


def test_the_discovery_document_and_the_keys(app, client):
    document = client.get("/.well-known/openid-configuration")
    assert document.status_code == 200
    doc = document.json
    assert doc["issuer"] == ISSUER
    for name, path in [
        ("authorization_endpoint", "/oauth/autoriser"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("jwks_uri", "/oauth/jwks"),
        ("revocation_endpoint", "/oauth/revoke"),
    ]:
        assert doc[name] == ISSUER + path
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email", "communes:read", "notifications"} <= set(
        doc["scopes_supported"]
    )
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    keys = client.get("/oauth/jwks").json["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert "d" not in keys[0] and "p" not in keys[0]  # the public part only
    with app.app_context():
        row = db.scalar(select(OidcSigningKey))
        assert row.private_jwk.startswith("enc:")


def test_the_signing_key_survives_a_restart_and_is_shared(app, client, database_backend):
    first = client.get("/oauth/jwks").json
    # Another process on the same database (a second worker, or after a restart).
    other = make_app(app.config["DATABASE_URL"], FAKE_PLUGINS)
    try:
        assert other.test_client().get("/oauth/jwks").json == first
        with other.test_request_context():
            assert oauth2.signing_key().kid == first["keys"][0]["kid"]
    finally:
        other.extensions["viatic.db"].engine.dispose()


def test_the_issuer_can_be_configured(app, client):
    app.config["OIDC_ISSUER"] = "https://viatic.exemple.fr/"
    doc = client.get("/.well-known/openid-configuration").json
    assert doc["issuer"] == "https://viatic.exemple.fr"
    assert doc["token_endpoint"] == "https://viatic.exemple.fr/oauth/token"


# --- The platform admin's registered apps -----------------------------------------------------


def _client_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": "Chamilo de la CC",
        "kind": "confidential",
        "redirect_uris": TOOL_REDIRECT + "\r\nhttp://127.0.0.1:8080/retour",
        "scopes": ["openid", "profile", "email"],
        "enabled": "y",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_the_admin_registers_a_client_whose_secret_is_shown_once(app, admin_client):
    created = admin_client.submit("/admin/applications/nouvelle", _client_form())
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    secret = re.search(r'<code id="secret-client">([^<]+)</code>', html).group(1)
    assert secret.startswith("vtc_ocs_")
    with app.app_context():
        row = db.scalar(select(OAuthClient))
        assert row.confidential and row.redirect_uris == [
            TOOL_REDIRECT,
            "http://127.0.0.1:8080/retour",
        ]
        assert row.scopes == "email openid profile"
        assert row.secret_hash == auth.credential_digest(secret) and secret not in row.secret_hash
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "oauth_client.created"))
        assert event.details["after"]["name"] == "Chamilo de la CC"
        assert secret not in str(event.details)
    listing = admin_client.get("/admin/applications").get_data(as_text=True)
    assert "Chamilo de la CC" in listing and row.client_id in listing and secret not in listing
    assert "http://viatic.test/.well-known/openid-configuration" in listing
    assert secret not in admin_client.get(f"/admin/applications/{row.id}").get_data(as_text=True)


def test_the_admin_regenerates_a_secret_and_the_old_one_stops(app, admin_client, signed_in):
    client_id, old = register(app, confidential=True)
    with app.app_context():
        row_id = db.scalar(select(OAuthClient.id))
    page = f"/admin/applications/{row_id}"
    answer_page = admin_client.submit(f"{page}/secret", page=page)
    new = re.search(r'<code id="secret-client">([^<]+)</code>', answer_page.get_data(as_text=True))
    assert new and new.group(1) != old
    for secret, status in ((old, 401), (new.group(1), 200)):
        code = get_code(signed_in, client_id, None, redirect_uri=TOOL_REDIRECT)
        response = signed_in.post(
            "/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": TOOL_REDIRECT},
            headers=basic(client_id, secret),
        )
        assert response.status_code == status
    assert "oauth_client.secret_regenerated" in audit_actions(app)


def test_a_public_client_has_no_secret(app, admin_client):
    created = admin_client.submit(
        "/admin/applications/nouvelle",
        _client_form(name="Appli mobile", kind="public", redirect_uris=APP_REDIRECT),
    )
    assert "pas de secret" in created.get_data(as_text=True)
    with app.app_context():
        row = db.scalar(select(OAuthClient))
        assert not row.confidential and row.secret_hash is None
    refused = admin_client.submit(
        f"/admin/applications/{row.id}/secret", page=f"/admin/applications/{row.id}"
    )
    assert refused.status_code == 400


def test_disabling_a_client_revokes_its_tokens(app, admin_client, signed_in):
    client_id, _ = register(app)
    tokens = tokens_for(signed_in, client_id)
    with app.app_context():
        row_id = db.scalar(select(OAuthClient.id))
    saved = admin_client.submit(
        f"/admin/applications/{row_id}",
        _client_form(name="Viatic mobile", redirect_uris=APP_REDIRECT, enabled=None, kind=None),
    )
    assert saved.status_code == 302
    flashed = admin_client.get("/admin/applications").get_data(as_text=True)
    assert "1 autorisation a été révoquée" in flashed and "Désactivée" in flashed
    assert (
        signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    )
    assert refresh(signed_in, client_id, tokens["refresh_token"]).json["error"] == "invalid_client"
    with app.app_context():
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "oauth_client.saved"))
        assert event.details["before"]["enabled"] is True
        assert event.details["after"]["enabled"] is False
        assert event.details["families_revoked"] == 1
        assert db.scalar(select(OAuthClient.confidential)) is False  # the type stays


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"redirect_uris": "http://formation.exemple.fr/retour"}, "utilisez https://"),
        ({"redirect_uris": "https://formation.exemple.fr/retour#x"}, "fragment"),
        ({"redirect_uris": "pas une adresse"}, "adresse complète"),
        ({"redirect_uris": "https://formation.exemple.fr/\x00"}, "adresse complète"),
        ({"name": "Chamilo\x00"}, "caractère non permis"),
        ({"redirect_uris": "  "}, "Ce champ est obligatoire"),
        ({"scopes": None}, "Cochez au moins une portée"),
        ({"scopes": ["openid", "inconnu:ecrire"]}, "Portée inconnue : inconnu:ecrire."),
        ({"name": ""}, "Ce champ est obligatoire"),
    ],
)
def test_bad_client_values_are_refused_with_a_message(app, admin_client, changes, message):
    response = admin_client.submit("/admin/applications/nouvelle", _client_form(**changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(OAuthClient)) == 0


def test_only_platform_admins_manage_clients(app, signed_in):
    assert signed_in.get("/admin/applications").status_code == 403
    assert signed_in.get("/admin/applications/nouvelle").status_code == 403


# --- A person's authorised apps ---------------------------------------------------------------


def test_a_person_sees_and_withdraws_an_authorised_app(app, signed_in, make_member, commune):
    client_id, _ = register(app)
    tokens = tokens_for(signed_in, client_id)
    page = signed_in.get("/compte/applications").get_data(as_text=True)
    assert "Viatic mobile" in page and "Connaître votre adresse e-mail" in page
    with app.app_context():
        consent_id = db.scalar(select(OAuthConsent.id))

    neighbour = app.test_client()
    neighbour.login(make_member(commune, "citoyen").email)
    stolen = neighbour.submit(
        f"/compte/applications/{consent_id}/retirer", page="/compte/applications"
    )
    assert stolen.status_code == 404

    withdrawn = signed_in.submit(
        f"/compte/applications/{consent_id}/retirer",
        page="/compte/applications",
        follow_redirects=True,
    )
    assert "« Viatic mobile » n'a plus accès à votre compte." in withdrawn.get_data(
        as_text=True
    ).replace("&#39;", "'")
    assert (
        signed_in.get("/oauth/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    )
    again = signed_in.get(
        authorize_url(client_id, code_challenge=pkce()[1], code_challenge_method="S256")
    )
    assert again.status_code == 200  # asked again
    assert "oauth.consent_revoked" in audit_actions(app)


def test_old_codes_and_tokens_are_forgotten(app, signed_in):
    client_id, _ = register(app)
    tokens_for(signed_in, client_id)
    with app.app_context():
        past = oauth2.utcnow() - dt.timedelta(days=40)
        db.execute(update(OAuthAuthorizationCode).values(expires_at=past))
        db.execute(update(OAuthToken).values(access_expires_at=past, refresh_expires_at=past))
        db.execute(update(OAuthGrant).values(created_at=past))
        db.commit()
        oauth2.forget_expired()
        db.commit()
        for model in (OAuthAuthorizationCode, OAuthToken, OAuthGrant):
            assert db.scalar(select(func.count()).select_from(model)) == 0
        assert db.scalar(select(func.count()).select_from(OAuthConsent)) == 1


# --- An independent OpenID Connect client, over HTTP ------------------------------------------


RP_CALLBACK = "http://127.0.0.1/rp/callback"


def relying_party(base: str, client_id: str, secret: str) -> Flask:
    """A small app of its own that signs people in with authlib's Flask client, knowing
    Viatic only by its discovery document."""
    rp = Flask("relying_party")
    rp.secret_key = secrets.token_hex(16)
    oauth = OAuth(rp)
    oauth.register(
        "viatic",
        client_id=client_id,
        client_secret=secret,
        server_metadata_url=f"{base}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )

    @rp.get("/login")
    def login() -> Any:
        return oauth.viatic.authorize_redirect(RP_CALLBACK)

    @rp.get("/rp/callback")
    def callback() -> Any:
        token = oauth.viatic.authorize_access_token()  # id_token checked against the JWKS
        session["token"] = token
        return jsonify(
            token=token, id_claims=dict(token["userinfo"]), userinfo=oauth.viatic.userinfo()
        )

    return rp


def browser_sign_in(browser: requests.Session, base: str, email: str) -> None:
    page = browser.get(f"{base}/connexion", timeout=10)
    csrf = CSRF_FIELD.search(page.text).group(1)
    response = browser.post(
        f"{base}/connexion",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302


def test_an_independent_oidc_client_signs_in_refreshes_and_is_revoked(
    app, live_server, person, database_backend
):
    client_id, secret = register(app, confidential=True, redirect_uris=(RP_CALLBACK,))
    rp = relying_party(live_server, client_id, secret).test_client()
    browser = requests.Session()
    browser_sign_in(browser, live_server, person.email)

    # The app sends the browser to Viatic, which asks the person's consent.
    to_viatic = rp.get("/login").headers["Location"]
    assert to_viatic.startswith(f"{live_server}/oauth/autoriser?")
    assert "code_challenge_method=S256" in to_viatic and "nonce=" in to_viatic
    consent_page = browser.get(to_viatic, allow_redirects=False, timeout=10)
    assert consent_page.status_code == 200 and "Autoriser « Formation » ?" in consent_page.text
    csrf = CSRF_FIELD.search(consent_page.text).group(1)
    back = browser.post(
        to_viatic,
        data={"csrf_token": csrf, "decision": "autoriser"},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 302 and back.headers["Location"].startswith(RP_CALLBACK + "?")

    # Back at the app: it exchanges the code, checks the id_token, reads userinfo.
    landed = rp.get(back.headers["Location"].removeprefix("http://127.0.0.1"))
    assert landed.status_code == 200, landed.get_data(as_text=True)[:1000]
    result = landed.json
    assert result["id_claims"]["iss"] == live_server
    assert result["id_claims"]["aud"] == [client_id]
    assert result["id_claims"]["sub"] == str(person.id)
    assert result["userinfo"] == {
        "sub": str(person.id),
        "name": "Claire Martin",
        "email": person.email,
    }
    token = result["token"]

    # Our own check of the id_token against Viatic's published keys.
    keys = KeySet.import_key_set(requests.get(f"{live_server}/oauth/jwks", timeout=10).json())
    assert jwt.decode(token["id_token"], keys).claims["email"] == person.email

    # Refresh and revoke with authlib's requests client.
    with OAuth2Session(client_id, secret, token=token) as app_session:
        fresh = app_session.refresh_token(
            f"{live_server}/oauth/token", refresh_token=token["refresh_token"]
        )
        assert fresh["access_token"] != token["access_token"]
        assert fresh["refresh_token"] != token["refresh_token"]
        me = app_session.get(f"{live_server}/oauth/userinfo", timeout=10)
        assert me.status_code == 200 and me.json()["sub"] == str(person.id)
        api = app_session.get(f"{live_server}/api/v1/me", timeout=10)
        assert api.status_code == 200 and api.json()["email"] == person.email

        revoked = app_session.revoke_token(
            f"{live_server}/oauth/revoke",
            token=fresh["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert revoked.status_code == 200
        refused = app_session.get(f"{live_server}/oauth/userinfo", timeout=10)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
        api = app_session.get(f"{live_server}/api/v1/me", timeout=10)
        assert api.status_code == 401
