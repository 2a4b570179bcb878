"""Signing in through the real, certified ``oidc-provider`` (node), driven by HTTP: a
commune's own provider (kind ``generic``). The browser's part at the provider is played by
``tests.real_oidc``; Viatic is the Flask test client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from connectors import oidc
from core.db import db
from core.models import AuditEvent, FederatedIdentity, User
from core.testing import make_app
from tests.conftest import FAKE_PLUGINS
from tests.real_oidc import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    end_session_at_provider,
    login_at_provider,
)

pytestmark = pytest.mark.slow

SLUG = "mairie"
CALLBACK = f"http://viatic.test/connexion/avec/{SLUG}/retour"
LOGGED_OUT = "http://viatic.test/deconnexion/retour"


def _portal(database_backend: Any, tmp_path: Any, provider: Any) -> Any:
    return make_app(
        database_backend.fresh_url(tmp_path),
        FAKE_PLUGINS,
        OIDC_PROVIDERS=[
            {
                "slug": SLUG,
                "kind": "generic",
                "label": "Mairie de Faux-Villecerf",
                "discovery_url": provider.discovery_url,
                "client_id": TEST_CLIENT_ID,
                "client_secret": TEST_CLIENT_SECRET,
            }
        ],
    )


@pytest.fixture
def portal(database_backend, tmp_path, oidc_provider_factory) -> Iterator[Any]:
    provider = oidc_provider_factory(
        redirect_uris=[CALLBACK], post_logout_redirect_uris=[LOGGED_OUT]
    )
    application = _portal(database_backend, tmp_path, provider)
    yield application
    application.extensions["viatic.db"].engine.dispose()


def _start(client: Any) -> str:
    start = client.get(f"/connexion/avec/{SLUG}")
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    return start.headers["Location"]


def _deliver(client: Any, url: str) -> Any:
    back = urlsplit(url)
    assert f"{back.scheme}://{back.netloc}{back.path}" in (CALLBACK, LOGGED_OUT), url
    return client.get(f"{back.path}?{back.query}")


def _refusal(application: Any) -> dict[str, Any] | None:
    with application.app_context():
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "login.federated_refused"))
        return event.details if event is not None else None


def test_login_then_logout_through_the_real_provider(portal):
    client, browser = portal.test_client(), requests.Session()
    answer = _deliver(client, login_at_provider(browser, _start(client), "alice"))
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    with portal.app_context():
        user = db.scalar(select(User).where(User.email == "alice@example.org"))
        assert user is not None and user.name == "Alice Martin"
        identity = db.scalar(select(FederatedIdentity))
        assert (identity.user_id, identity.provider, identity.sub) == (user.id, SLUG, "alice")
    page = client.get("/compte/identites").get_data(as_text=True)
    assert "Mairie de Faux-Villecerf" in page

    out = client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    end_session = out.headers["Location"]
    sent = parse_qs(urlsplit(end_session).query)
    assert sent["post_logout_redirect_uri"] == [LOGGED_OUT] and sent["id_token_hint"]
    home = _deliver(client, end_session_at_provider(browser, end_session))
    assert home.status_code == 302
    assert "et de Mairie de Faux-Villecerf" in client.get("/").get_data(as_text=True)
    assert client.get("/compte/identites").status_code == 302  # signed out here too
    # ...and at the provider: a new sign-in asks for the login again.
    again = browser.get(_start(client), allow_redirects=True)
    assert 'name="login"' in again.text


def test_the_signed_userinfo_jwt_is_read(database_backend, tmp_path, oidc_provider_factory):
    provider = oidc_provider_factory(
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=[LOGGED_OUT],
        userinfo_signed_response_alg="RS256",
    )
    application = _portal(database_backend, tmp_path, provider)
    client = application.test_client()
    answer = _deliver(client, login_at_provider(requests.Session(), _start(client), "bob"))
    assert answer.status_code == 302
    with application.app_context():
        assert db.scalar(select(User.name).where(User.email == "bob@example.org")) == "Bob Durand"
    application.extensions["viatic.db"].engine.dispose()


def test_a_replayed_state_is_refused(portal):
    client = portal.test_client()
    callback = login_at_provider(requests.Session(), _start(client), "alice")
    assert _deliver(client, callback).status_code == 302
    replay = _deliver(client, callback)
    assert replay.status_code == 400
    assert "Rien n&#39;a été enregistré" in replay.get_data(as_text=True)
    assert _refusal(portal) == {"provider": SLUG, "reason": "state_unknown"}


def test_a_wrong_nonce_is_refused(portal):
    client = portal.test_client()
    callback = login_at_provider(requests.Session(), _start(client), "alice")
    with client.session_transaction() as session:  # the id_token answers another request
        for pending in session["oidc_pending"].values():
            pending["nonce"] = oidc.random_token()
        session.modified = True
    assert _deliver(client, callback).status_code == 400
    assert _refusal(portal)["reason"] == "bad_id_token"
    with portal.app_context():
        assert db.scalars(select(User)).all() == []


def test_a_tampered_id_token_is_refused(portal, monkeypatch):
    exchange = oidc.OidcClient._exchange

    def tampered(self: oidc.OidcClient, code: str, pending: oidc.Pending) -> dict[str, Any]:
        tokens = exchange(self, code, pending)
        header, payload, signature = tokens["id_token"].split(".")
        tokens["id_token"] = f"{header}.{payload}.{signature[:-4]}AAAA"
        return tokens

    monkeypatch.setattr(oidc.OidcClient, "_exchange", tampered)
    client = portal.test_client()
    callback = login_at_provider(requests.Session(), _start(client), "alice")
    assert _deliver(client, callback).status_code == 400
    assert _refusal(portal)["reason"] == "bad_signature"


def test_an_expired_code_is_refused(database_backend, tmp_path, oidc_provider_factory):
    provider = oidc_provider_factory(
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=[LOGGED_OUT],
        ttl={"AuthorizationCode": 1},
    )
    application = _portal(database_backend, tmp_path, provider)
    client = application.test_client()
    callback = login_at_provider(requests.Session(), _start(client), "alice")
    time.sleep(2.1)
    answer = _deliver(client, callback)
    assert answer.status_code == 400
    assert _refusal(application)["reason"] == "code_refused"
    application.extensions["viatic.db"].engine.dispose()


def test_a_cancelled_sign_in_comes_back_cleanly(portal):
    client = portal.test_client()
    start = _start(client)
    state = parse_qs(urlsplit(start).query)["state"][0]
    answer = client.get(f"/connexion/avec/{SLUG}/retour?error=access_denied&state={state}")
    assert answer.status_code == 400
    assert _refusal(portal)["reason"] == "provider_error"
