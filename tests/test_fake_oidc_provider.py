"""The fake FranceConnect / ProConnect provider enforces the rules of the contract.

Every test talks to the real HTTP server with ``requests``, as Viatic's OIDC client will.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from tests.fake_oidc_provider import (
    FakeProvider,
    fake_provider_factory,  # noqa: F401  (a fixture, used by name)
    running_fake_provider,
)

CLIENT_ID = "viatic-client"
CLIENT_SECRET = "s3cret-viatic"
REDIRECT_URI = "http://127.0.0.1:5000/auth/callback"
LOGOUT_URI = "http://127.0.0.1:5000/auth/logged-out"
PROFILES = ["franceconnect", "proconnect"]
SCOPES = {
    "franceconnect": "openid given_name family_name email birthdate gender",
    "proconnect": "openid given_name usual_name email siret organization_label roles",
}
TIMEOUT = 5


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FakeProvider]]:
    """One running provider per profile for the module; each test starts from reset()."""
    with contextlib.ExitStack() as stack:
        yield {
            profile: stack.enter_context(
                running_fake_provider(
                    profile,
                    client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET,
                    redirect_uris=[REDIRECT_URI],
                    post_logout_redirect_uris=[LOGOUT_URI],
                )
            )
            for profile in PROFILES
        }


@pytest.fixture(params=PROFILES)
def provider(request: pytest.FixtureRequest, servers: dict[str, FakeProvider]) -> FakeProvider:
    servers[request.param].reset()
    return servers[request.param]


@pytest.fixture
def fc(servers: dict[str, FakeProvider]) -> FakeProvider:
    servers["franceconnect"].reset()
    return servers["franceconnect"]


@pytest.fixture
def pc(servers: dict[str, FakeProvider]) -> FakeProvider:
    servers["proconnect"].reset()
    return servers["proconnect"]


def auth_params(provider: FakeProvider, **overrides: Any) -> dict[str, str]:
    """A valid authorization request for the provider's profile; None drops a parameter."""
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPES[provider.profile.name],
        "nonce": secrets.token_urlsafe(32),
        "state": secrets.token_urlsafe(32),
    }
    if not provider.profile.is_proconnect:
        params["acr_values"] = "eidas1"
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize(provider: FakeProvider, **overrides: Any) -> requests.Response:
    return requests.get(
        f"{provider.issuer}/authorize",
        params=auth_params(provider, **overrides),
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def get_code(provider: FakeProvider, **overrides: Any) -> tuple[str, dict[str, str]]:
    params = auth_params(provider, **overrides)
    resp = requests.get(
        f"{provider.issuer}/authorize", params=params, allow_redirects=False, timeout=TIMEOUT
    )
    assert resp.status_code == 302, resp.text
    location = urlsplit(resp.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == params["redirect_uri"]
    assert query["state"] == params["state"]
    return query["code"], params


def redeem(
    provider: FakeProvider,
    code: str,
    *,
    secret: str = CLIENT_SECRET,
    client_id: str = CLIENT_ID,
    redirect_uri: str = REDIRECT_URI,
    basic: bool = False,
    **extra: str,
) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    data.update(extra)
    auth = None
    if basic:
        auth = (client_id, secret)
    else:
        data.update(client_id=client_id, client_secret=secret)
    return requests.post(f"{provider.issuer}/token", data=data, auth=auth, timeout=TIMEOUT)


def jwks(provider: FakeProvider) -> KeySet:
    return KeySet.import_key_set(requests.get(f"{provider.issuer}/jwks", timeout=TIMEOUT).json())


def login(provider: FakeProvider, **overrides: Any) -> tuple[dict[str, Any], dict[str, str]]:
    code, params = get_code(provider, **overrides)
    resp = redeem(provider, code)
    assert resp.status_code == 200, resp.text
    return resp.json(), params


def assert_error_page(resp: requests.Response, provider: FakeProvider, pc_code: str, fc: str):
    assert resp.status_code == 400
    assert resp.headers["Content-Type"].startswith("text/html")
    assert (pc_code if provider.profile.is_proconnect else fc) in resp.text


# -- discovery and keys ---------------------------------------------------------------------


def test_discovery_document(provider: FakeProvider) -> None:
    resp = requests.get(provider.discovery_url, timeout=TIMEOUT)
    doc = resp.json()
    assert provider.issuer.endswith("/api/v2")
    assert doc["issuer"] == provider.issuer
    for name, path in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("end_session_endpoint", "/session/end"),
        ("jwks_uri", "/jwks"),
    ]:
        assert doc[name] == provider.issuer + path
    assert doc["response_types_supported"] == ["code"]
    assert doc["subject_types_supported"] == ["pairwise"]
    assert doc["id_token_signing_alg_values_supported"] == ["ES256"]
    assert doc["userinfo_signing_alg_values_supported"] == ["ES256"]
    assert doc["claims_parameter_supported"] is True
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_post",
        "client_secret_basic",
    }
    assert "openid" in doc["scopes_supported"]
    expected_acr = "eidas1" if not provider.profile.is_proconnect else "eidas1-mfa"
    assert expected_acr in doc["acr_values_supported"]


def test_jwks_is_public_p256_with_kid(provider: FakeProvider) -> None:
    (key,) = requests.get(f"{provider.issuer}/jwks", timeout=TIMEOUT).json()["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["kid"]
    assert "d" not in key


# -- /authorize -------------------------------------------------------------------------------


def test_nonce_too_short_is_refused(provider: FakeProvider) -> None:
    minimum = 32 if provider.profile.is_proconnect else 22
    resp = authorize(provider, nonce="n" * (minimum - 1))
    assert_error_page(resp, provider, "Y000400", "nonce")
    assert authorize(provider, nonce="n" * minimum).status_code == 302


def test_state_too_short_is_refused_by_proconnect(pc: FakeProvider) -> None:
    assert_error_page(authorize(pc, state="s" * 31), pc, "Y000400", "")
    assert authorize(pc, state="s" * 32).status_code == 302


def test_state_is_required_by_franceconnect(fc: FakeProvider) -> None:
    assert_error_page(authorize(fc, state=None), fc, "", "state is required")
    assert authorize(fc, state="short").status_code == 302


def test_acr_values_required_and_checked_by_franceconnect(fc: FakeProvider) -> None:
    assert_error_page(authorize(fc, acr_values=None), fc, "", "acr_values is required")
    assert_error_page(authorize(fc, acr_values="eidas3"), fc, "", "acr_values must be")


def test_proconnect_needs_no_acr_values(pc: FakeProvider) -> None:
    assert authorize(pc).status_code == 302


def test_unknown_parameter_is_refused_by_proconnect(pc: FakeProvider) -> None:
    resp = authorize(pc, ui_locales="fr")
    assert_error_page(resp, pc, "Y000400", "")
    assert "ui_locales" in resp.text


def test_unknown_parameter_is_ignored_by_franceconnect(fc: FakeProvider) -> None:
    assert authorize(fc, ui_locales="fr", something="else").status_code == 302


def test_repeated_parameter_is_refused(provider: FakeProvider) -> None:
    params = [*auth_params(provider).items(), ("scope", "openid")]
    resp = requests.get(
        f"{provider.issuer}/authorize", params=params, allow_redirects=False, timeout=TIMEOUT
    )
    assert_error_page(resp, provider, "Y000400", "invalid_request")


@pytest.mark.parametrize(
    "redirect_uri",
    [REDIRECT_URI + "/", REDIRECT_URI.replace("5000", "5001"), "http://evil.example/cb"],
)
def test_wrong_redirect_uri_is_refused_with_an_error_page(
    provider: FakeProvider, redirect_uri: str
) -> None:
    resp = authorize(provider, redirect_uri=redirect_uri)
    assert_error_page(resp, provider, "Y030031", "invalid_redirect_uri")
    assert "Location" not in resp.headers


@pytest.mark.parametrize(
    ("overrides", "fc_error"),
    [
        ({"client_id": "nobody"}, "invalid_client"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "email"}, "invalid_scope"),
        ({"claims": "{not json"}, "claims is not valid JSON"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "S256"),
    ],
)
def test_other_invalid_requests_are_refused(
    provider: FakeProvider, overrides: dict[str, str], fc_error: str
) -> None:
    assert_error_page(authorize(provider, **overrides), provider, "Y000400", fc_error)


def test_authorize_requests_are_recorded(provider: FakeProvider) -> None:
    authorize(provider, nonce="short")
    assert provider.authorize_requests[-1]["nonce"] == "short"


def test_authorize_error_knob_redirects_back_with_the_error(provider: FakeProvider) -> None:
    provider.authorize_error = "access_denied"
    resp = authorize(provider, state="s" * 40)
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert resp.status_code == 302
    assert query["error"] == ["access_denied"] and query["state"] == ["s" * 40]


# -- full flow ----------------------------------------------------------------------------


@pytest.mark.parametrize("basic", [False, True], ids=["client_secret_post", "client_secret_basic"])
def test_happy_path(provider: FakeProvider, basic: bool) -> None:
    keys = jwks(provider)
    code, params = get_code(provider)
    resp = redeem(provider, code, basic=basic)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 60
    assert ("refresh_token" in body) is provider.profile.is_proconnect

    id_token = jwt.decode(body["id_token"], keys, algorithms=["ES256"])
    assert id_token.header["alg"] == "ES256" and id_token.header["kid"]
    claims = id_token.claims
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == params["nonce"]
    assert claims["sub"] == provider.pairwise_sub(CLIENT_ID)
    assert claims["exp"] - claims["iat"] == 60
    assert claims["acr"] == "eidas1" and claims["sid"] and claims["auth_time"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert "amr" not in claims  # only when requested

    resp = requests.get(
        f"{provider.issuer}/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/jwt"
    info = jwt.decode(resp.text, keys, algorithms=["ES256"]).claims
    assert info["sub"] == claims["sub"] and info["aud"] == CLIENT_ID
    assert info["iss"] == provider.issuer and info["exp"] > info["iat"]
    if provider.profile.is_proconnect:
        assert info["usual_name"] == "Martin" and info["siret"] == "21100145000017"
        assert info["roles"] == ["agent_public_territorial"]
        assert "uid" not in info and "phone_number" not in info  # scopes not granted
    else:
        assert info["given_name"] == "Angela Claire Louise"
        assert info["given_name_array"] == ["Angela", "Claire", "Louise"]
        assert info["family_name"] == "DUBOIS" and info["birthdate"] == "1962-08-24"
        assert "birthplace" not in info  # the birth scope was not granted

    state = secrets.token_urlsafe(32)
    resp = requests.get(
        f"{provider.issuer}/session/end",
        params={
            "id_token_hint": body["id_token"],
            "state": state,
            "post_logout_redirect_uri": LOGOUT_URI,
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"{LOGOUT_URI}?state={state}"
    assert provider.ended_sessions == [
        {
            "client_id": CLIENT_ID,
            "sub": claims["sub"],
            "sid": claims["sid"],
            "state": state,
            "post_logout_redirect_uri": LOGOUT_URI,
        }
    ]
    assert provider.token_requests[-1]["_auth_method"] == (
        "client_secret_basic" if basic else "client_secret_post"
    )


def test_sub_is_pairwise(provider: FakeProvider) -> None:
    other_uri = "http://127.0.0.1:6000/cb"
    provider.add_client("other-client", "other-secret", [other_uri], [LOGOUT_URI])
    keys = jwks(provider)

    def sub_for(client_id: str, secret: str, redirect_uri: str) -> str:
        code, _ = get_code(provider, client_id=client_id, redirect_uri=redirect_uri)
        resp = redeem(provider, code, client_id=client_id, secret=secret, redirect_uri=redirect_uri)
        return jwt.decode(resp.json()["id_token"], keys).claims["sub"]

    first = sub_for(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    assert sub_for(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI) == first  # stable
    assert sub_for("other-client", "other-secret", other_uri) != first  # per client
    provider.identity_key = "user-2"
    assert sub_for(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI) != first  # per person
    if not provider.profile.is_proconnect:
        assert len(first) == 66 and first.endswith("v1")


def test_claims_parameter_chooses_acr_and_asks_amr(provider: FakeProvider) -> None:
    wanted = "eidas1" if not provider.profile.is_proconnect else "eidas2"
    claims = {"id_token": {"acr": {"essential": True, "values": [wanted]}, "amr": None}}
    body, _ = login(provider, claims=json.dumps(claims))
    id_token = jwt.decode(body["id_token"], jwks(provider)).claims
    assert id_token["acr"] == wanted
    assert isinstance(id_token["amr"], list)


def test_pkce_is_verified(provider: FakeProvider) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    pkce = {"code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256"}

    code, _ = get_code(provider, **pkce)
    resp = redeem(provider, code, code_verifier=secrets.token_urlsafe(48))
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"

    code, _ = get_code(provider, **pkce)
    assert redeem(provider, code).json()["error"] == "invalid_grant"  # verifier missing

    code, _ = get_code(provider, **pkce)
    assert redeem(provider, code, code_verifier=verifier).status_code == 200


# -- /token -------------------------------------------------------------------------------


def test_code_is_single_use(provider: FakeProvider) -> None:
    code, _ = get_code(provider)
    first = redeem(provider, code)
    assert first.status_code == 200
    second = redeem(provider, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant" and "error_description" in second.json()
    # The replay revoked the access token of the first use.
    resp = requests.get(
        f"{provider.issuer}/userinfo",
        headers={"Authorization": f"Bearer {first.json()['access_token']}"},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 401


def test_code_expires(provider: FakeProvider) -> None:
    assert provider.code_ttl == (60 if provider.profile.is_proconnect else 30)
    code, _ = get_code(provider)
    provider.code_ttl = 0
    resp = redeem(provider, code)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    assert "expired" in resp.json()["error_description"]


def test_token_redirect_uri_must_match_the_authorization(provider: FakeProvider) -> None:
    code, _ = get_code(provider)
    resp = redeem(provider, code, redirect_uri=REDIRECT_URI + "/")
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("basic", [False, True], ids=["client_secret_post", "client_secret_basic"])
def test_wrong_client_secret(provider: FakeProvider, basic: bool) -> None:
    code, _ = get_code(provider)
    resp = redeem(provider, code, secret="wrong", basic=basic)
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    assert redeem(provider, "anything", client_id="nobody").status_code == 401


def test_unsupported_grant_type(provider: FakeProvider) -> None:
    resp = requests.post(
        f"{provider.issuer}/token",
        data={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


def test_refresh_token(provider: FakeProvider) -> None:
    body, _ = login(provider)
    data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    if not provider.profile.is_proconnect:
        resp = requests.post(
            f"{provider.issuer}/token",
            data={**data, "grant_type": "refresh_token", "refresh_token": "x"},
            timeout=TIMEOUT,
        )
        assert resp.json()["error"] == "unsupported_grant_type"
        return
    assert provider.refresh_token_ttl == 2 * 3600
    refresh = {**data, "grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    resp = requests.post(f"{provider.issuer}/token", data=refresh, timeout=TIMEOUT)
    assert resp.status_code == 200
    assert resp.json()["access_token"] != body["access_token"]
    # Rotated: the old refresh token is single use.
    resp = requests.post(f"{provider.issuer}/token", data=refresh, timeout=TIMEOUT)
    assert resp.json()["error"] == "invalid_grant"


# -- /userinfo ----------------------------------------------------------------------------


def test_expired_or_unknown_access_token(provider: FakeProvider) -> None:
    body, _ = login(provider)
    provider.access_token_ttl = 0
    for token in (body["access_token"], "unknown"):
        resp = requests.get(
            f"{provider.issuer}/userinfo",
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        assert resp.status_code == 401
        assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert resp.json()["error"] == "invalid_token"
    resp = requests.get(f"{provider.issuer}/userinfo", timeout=TIMEOUT)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_proconnect_userinfo_can_be_plain_json(pc: FakeProvider) -> None:
    # An FS registered at ProConnect without a userinfo signing algorithm.
    pc.add_client("json-client", "json-secret", [REDIRECT_URI], [], userinfo_signed=False)
    code, _ = get_code(pc, client_id="json-client")
    body = redeem(pc, code, client_id="json-client", secret="json-secret").json()
    resp = requests.get(
        f"{pc.issuer}/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=TIMEOUT,
    )
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json()["email"] == "jean.martin@mairie-exemple.fr"
    with pytest.raises(ValueError):
        FakeProvider("franceconnect", userinfo_signed=False)


# -- /session/end -------------------------------------------------------------------------


def end_session(provider: FakeProvider, id_token: str, **overrides: Any) -> requests.Response:
    params = {
        "id_token_hint": id_token,
        "state": secrets.token_urlsafe(32),
        "post_logout_redirect_uri": LOGOUT_URI,
        **overrides,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return requests.get(
        f"{provider.issuer}/session/end", params=params, allow_redirects=False, timeout=TIMEOUT
    )


def test_session_end_rules(provider: FakeProvider) -> None:
    body, _ = login(provider)
    token = body["id_token"]
    resp = end_session(provider, token, post_logout_redirect_uri=LOGOUT_URI + "/")
    assert_error_page(resp, provider, "Y030111", "not registered")
    assert_error_page(end_session(provider, token, state=None), provider, "Y000400", "state")
    resp = end_session(provider, token, post_logout_redirect_uri=None)
    assert_error_page(resp, provider, "Y000400", "post_logout_redirect_uri")
    assert_error_page(end_session(provider, None), provider, "Y000400", "id_token_hint")
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    assert_error_page(end_session(provider, forged), provider, "Y000400", "id_token_hint")
    assert provider.ended_sessions == []
    # An expired id_token is still a valid hint.
    provider.clock = lambda: 4_000_000_000.0
    assert end_session(provider, token).status_code == 303


def test_prompt_none_after_logout_gets_login_required(pc: FakeProvider) -> None:
    body, _ = login(pc)
    assert end_session(pc, body["id_token"]).status_code == 303
    resp = authorize(pc, prompt="none")
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["error"] == ["login_required"]


# -- knobs for the client's negative tests -------------------------------------------------


def test_tamper_id_token(provider: FakeProvider) -> None:
    provider.tamper_id_token = True
    body, _ = login(provider)
    with pytest.raises(BadSignatureError):
        jwt.decode(body["id_token"], jwks(provider))


def test_id_token_nonce_override(provider: FakeProvider) -> None:
    provider.id_token_nonce_override = "not-the-nonce-you-sent-x"
    body, params = login(provider)
    claims = jwt.decode(body["id_token"], jwks(provider)).claims
    assert claims["nonce"] == "not-the-nonce-you-sent-x" != params["nonce"]


def test_fail_with_status(provider: FakeProvider) -> None:
    provider.fail_with_status = 503
    for path in ("/.well-known/openid-configuration", "/jwks", "/authorize", "/userinfo"):
        assert requests.get(provider.issuer + path, timeout=TIMEOUT).status_code == 503
    assert requests.post(provider.issuer + "/token", timeout=TIMEOUT).status_code == 503
    provider.fail_endpoints = {"token"}
    assert requests.get(provider.discovery_url, timeout=TIMEOUT).status_code == 200
    assert requests.post(provider.issuer + "/token", timeout=TIMEOUT).status_code == 503


def test_id_token_claims_override(provider: FakeProvider) -> None:
    provider.id_token_claims_override = {"iss": "https://elsewhere.example", "at_hash": None}
    body, _ = login(provider)
    claims = jwt.decode(body["id_token"], jwks(provider)).claims
    assert claims["iss"] == "https://elsewhere.example" and "at_hash" not in claims


def test_discovery_override(provider: FakeProvider) -> None:
    provider.discovery_override = {"issuer": "https://elsewhere.example", "jwks_uri": None}
    doc = requests.get(provider.discovery_url, timeout=TIMEOUT).json()
    assert doc["issuer"] == "https://elsewhere.example" and "jwks_uri" not in doc
    provider.discovery_override = "{not json"
    assert requests.get(provider.discovery_url, timeout=TIMEOUT).text == "{not json"


def test_fixture_factory_runs_and_stops_providers(fake_provider_factory) -> None:  # noqa: F811
    provider = fake_provider_factory("franceconnect_plus")
    doc = requests.get(provider.discovery_url, timeout=TIMEOUT).json()
    assert doc["acr_values_supported"] == ["eidas2", "eidas3"]
