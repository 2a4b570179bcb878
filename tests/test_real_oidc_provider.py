"""The harness of tests/real_oidc.py against the real oidc-provider, with authlib's own client.

These tests prove the provider and the browser helpers, not Viatic: the OIDC login tests of
the portal use the same fixtures with their own redirect URIs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError
from joserfc.jwk import KeySet

from tests import real_oidc
from tests.real_oidc import (
    DEFAULT_POST_LOGOUT_REDIRECT_URI,
    DEFAULT_REDIRECT_URI,
    TEST_ACCOUNTS,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    RunningProvider,
    client_metadata,
    end_session_at_provider,
    login_at_provider,
    oidc_provider_running,
    start_oidc_provider,
)

slow = pytest.mark.slow


# --- A client as Viatic's would be: authlib, PKCE, ID token checked against the JWKS ----------


class Client:
    """authlib's requests client for ``viatic-test`` at ``provider``."""

    def __init__(self, provider: RunningProvider, scope: str = "openid profile email") -> None:
        self.provider = provider
        self.metadata = requests.get(provider.discovery_url, timeout=5).json()
        self.session = OAuth2Session(
            TEST_CLIENT_ID,
            TEST_CLIENT_SECRET,
            scope=scope,
            redirect_uri=DEFAULT_REDIRECT_URI,
            code_challenge_method="S256",
        )
        self.code_verifier = generate_token(48)
        self.nonce = generate_token(20)
        self.state = ""

    def authorize_url(self, **params: str) -> str:
        url, self.state = self.session.create_authorization_url(
            self.metadata["authorization_endpoint"],
            code_verifier=self.code_verifier,
            nonce=self.nonce,
            **params,
        )
        return url

    def fetch_token(self, callback_url: str) -> dict[str, Any]:
        return self.session.fetch_token(
            self.metadata["token_endpoint"],
            authorization_response=callback_url,
            code_verifier=self.code_verifier,
        )

    def key_set(self) -> KeySet:
        jwks = requests.get(self.metadata["jwks_uri"], timeout=5).json()
        return KeySet.import_key_set(jwks)

    def id_token_claims(self, token: dict[str, Any], now: int | None = None) -> CodeIDToken:
        decoded = jwt.decode(
            token["id_token"],
            self.key_set(),
            algorithms=self.metadata["id_token_signing_alg_values_supported"],
        )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": self.metadata["issuer"]},
                "aud": {"essential": True, "value": TEST_CLIENT_ID},
            },
            {
                "nonce": self.nonce,
                "client_id": TEST_CLIENT_ID,
                "access_token": token["access_token"],
            },
        )
        claims.validate(now=now)
        return claims


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def sign_in(client: Client, login: str, browser: requests.Session | None = None, **params: str):
    callback = login_at_provider(
        browser or requests.Session(), client.authorize_url(**params), login
    )
    assert callback.startswith(DEFAULT_REDIRECT_URI + "?"), callback
    return callback


# --- The flows --------------------------------------------------------------------------------


@slow
def test_authorization_code_flow_with_pkce(oidc_provider: RunningProvider) -> None:
    client = Client(oidc_provider)
    assert client.metadata["issuer"] == oidc_provider.issuer
    assert client.metadata["code_challenge_methods_supported"] == ["S256"]

    callback = sign_in(client, "alice")
    answer = query(callback)
    assert answer["state"] == client.state
    assert answer["iss"] == oidc_provider.issuer  # RFC 9207
    token = client.fetch_token(callback)
    assert token["token_type"] == "Bearer"

    claims = client.id_token_claims(token)
    assert claims["sub"] == "alice"
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == TEST_CLIENT_ID
    assert claims["nonce"] == client.nonce
    assert claims.header["alg"] == "RS256"
    with pytest.raises(ExpiredTokenError):
        client.id_token_claims(token, now=claims["exp"] + 1)

    other = Client(oidc_provider)
    other.nonce = "not-the-nonce-sent"
    with pytest.raises(InvalidClaimError):
        other.id_token_claims(token)

    userinfo = client.session.get(client.metadata["userinfo_endpoint"])
    assert userinfo.headers["Content-Type"].startswith("application/json")
    assert userinfo.json() == {"sub": "alice", **TEST_ACCOUNTS["alice"]}

    # The code is single-use.
    with pytest.raises(OAuthError) as error:
        client.fetch_token(callback)
    assert error.value.error == "invalid_grant"


@slow
def test_scopes_limit_the_claims(oidc_provider: RunningProvider) -> None:
    client = Client(oidc_provider, scope="openid email")
    token = client.fetch_token(sign_in(client, "bob"))
    userinfo = client.session.get(client.metadata["userinfo_endpoint"]).json()
    assert userinfo == {"sub": "bob", "email": "bob@example.org", "email_verified": True}
    assert client.id_token_claims(token)["sub"] == "bob"


@slow
def test_pkce_is_required_and_checked(oidc_provider: RunningProvider) -> None:
    client = Client(oidc_provider)
    url = client.authorize_url()
    without_challenge = url.replace("code_challenge=", "no_challenge=")
    refused = login_at_provider(requests.Session(), without_challenge, "alice")
    assert query(refused)["error"] == "invalid_request"
    assert "code_challenge" in query(refused)["error_description"]

    callback = login_at_provider(requests.Session(), url, "alice")
    client.code_verifier = generate_token(48)  # not the one of the challenge
    with pytest.raises(OAuthError) as error:
        client.fetch_token(callback)
    assert error.value.error == "invalid_grant"


@slow
def test_signed_userinfo_and_es256_id_token(
    oidc_provider_factory: Callable[..., RunningProvider],
) -> None:
    provider = oidc_provider_factory(
        userinfo_signed_response_alg="RS256", id_token_signed_response_alg="ES256"
    )
    client = Client(provider)
    token = client.fetch_token(sign_in(client, "alice"))
    assert client.id_token_claims(token).header["alg"] == "ES256"

    response = client.session.get(client.metadata["userinfo_endpoint"])
    assert response.headers["Content-Type"].startswith("application/jwt")
    decoded = jwt.decode(response.text, client.key_set(), algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256"
    assert decoded.claims["iss"] == provider.issuer
    assert decoded.claims["aud"] == TEST_CLIENT_ID
    assert decoded.claims["sub"] == "alice"
    assert decoded.claims["email"] == "alice@example.org"
    assert decoded.claims["name"] == "Alice Martin"

    # The factory gives the same provider for the same options.
    same = oidc_provider_factory(
        id_token_signed_response_alg="ES256", userinfo_signed_response_alg="RS256"
    )
    assert same is provider


@slow
def test_refresh_token_with_offline_access(oidc_provider: RunningProvider) -> None:
    # Without prompt=consent the provider drops offline_access: no refresh token.
    plain = Client(oidc_provider, scope="openid offline_access")
    assert "refresh_token" not in plain.fetch_token(sign_in(plain, "alice"))

    client = Client(oidc_provider, scope="openid email offline_access")
    token = client.fetch_token(sign_in(client, "alice", prompt="consent"))
    assert "offline_access" in token["scope"].split()
    assert token["refresh_token"]

    refreshed = client.session.refresh_token(client.metadata["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert client.id_token_claims(refreshed)["sub"] == "alice"
    userinfo = client.session.get(client.metadata["userinfo_endpoint"]).json()
    assert userinfo["email"] == "alice@example.org"


@slow
def test_short_ttls(oidc_provider_factory: Callable[..., RunningProvider]) -> None:
    provider = oidc_provider_factory(ttl={"AccessToken": 30, "IdToken": 40})
    client = Client(provider)
    token = client.fetch_token(sign_in(client, "alice"))
    assert token["expires_in"] == 30
    claims = client.id_token_claims(token)
    assert claims["exp"] - claims["iat"] == 40


@slow
def test_end_session_comes_back_with_state(oidc_provider: RunningProvider) -> None:
    browser = requests.Session()
    client = Client(oidc_provider)
    token = client.fetch_token(sign_in(client, "alice", browser))

    # The provider's session lets a prompt=none request through...
    again = Client(oidc_provider)
    assert "code" in query(login_at_provider(browser, again.authorize_url(prompt="none"), "x"))

    state = generate_token(20)
    end_session_url = (
        client.metadata["end_session_endpoint"]
        + "?"
        + urlencode(
            {
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": DEFAULT_POST_LOGOUT_REDIRECT_URI,
                "state": state,
            }
        )
    )
    page = browser.get(end_session_url)
    assert "Do you want to sign-out from" in page.text
    back = end_session_at_provider(browser, end_session_url)
    assert back == f"{DEFAULT_POST_LOGOUT_REDIRECT_URI}?state={state}"

    # ...and no more once it has ended.
    after = Client(oidc_provider)
    refused = login_at_provider(browser, after.authorize_url(prompt="none"), "x")
    assert query(refused)["error"] == "login_required"


# --- The harness itself -----------------------------------------------------------------------


@slow
def test_a_bad_configuration_fails_with_nodes_reason() -> None:
    with pytest.raises(RuntimeError) as error:
        start_oidc_provider([client_metadata(["not a url"])], TEST_ACCOUNTS)
    assert "exited with code 1" in str(error.value)
    assert "redirect_uris must only contain valid uris" in str(error.value)


@slow
def test_stopped_by_sigterm() -> None:
    with oidc_provider_running([client_metadata([DEFAULT_REDIRECT_URI])], TEST_ACCOUNTS) as op:
        assert requests.get(op.discovery_url, timeout=5).json()["issuer"] == op.issuer
        process = op.process
    assert process.returncode == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(op.discovery_url, timeout=5)


def test_missing_node_skips_or_fails_under_require_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(real_oidc.shutil, "which", lambda name: None)
    monkeypatch.delenv("VIATIC_TEST_REQUIRE_ALL", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs node"):
        real_oidc.node_executable()
    monkeypatch.setenv("VIATIC_TEST_REQUIRE_ALL", "1")
    with pytest.raises(pytest.fail.Exception, match="VIATIC_TEST_REQUIRE_ALL"):
        real_oidc.node_executable()


def test_missing_node_modules_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(real_oidc, "HARNESS_DIR", tmp_path)
    monkeypatch.delenv("VIATIC_TEST_REQUIRE_ALL", raising=False)
    if real_oidc.shutil.which("node") is None:
        pytest.skip("node is not installed")
    with pytest.raises(pytest.skip.Exception, match="make dev-install"):
        real_oidc.node_executable()


def test_page_forms_are_read_like_a_browser() -> None:
    page = """<form id="op.logoutForm" method="post" action="/session/end/confirm">
      <input type="hidden" name="xsrf" value="abc"/></form>
      <button type="submit" form="op.logoutForm" value="yes" name="logout">Yes</button>
      <input form="op.logoutForm" name="extra" value="1">"""
    (form,) = real_oidc._forms(page)
    assert form == {
        "id": "op.logoutForm",
        "action": "/session/end/confirm",
        "method": "post",
        "fields": {"xsrf": "abc", "extra": "1"},
    }
