"""A fake FranceConnect v2 / ProConnect OpenID Provider, for the test suite.

This stands in for an external system: it reproduces the contract described in
``shared/contracts/oidc-franceconnect-proconnect.md`` (sections 5.1 to 5.6) so that Viatic's
OIDC client can be tested end to end against a real HTTP server on 127.0.0.1. It must not
import anything from ``core``.

Profiles: ``franceconnect`` (FC v2, eidas1), ``franceconnect_plus`` (FC+, eidas2/eidas3) and
``proconnect``. Rules enforced:

- ``/authorize``: ``response_type=code``; known ``client_id``; ``redirect_uri`` exactly equal
  to a registered one (ProConnect: ``Y030031``); ``scope`` containing ``openid``; ``nonce``
  at least 22 (FC) or 32 (PC) characters; ``state`` required (FC) or at least 32 characters
  (PC); ``acr_values`` required and among the profile's values (FC); on ProConnect any
  parameter outside the documented list is refused with ``Y000400``; a parameter given twice
  is refused; ``claims`` must be a JSON object; PKCE only with ``S256``.
- ``/token``: ``client_secret_post`` or ``client_secret_basic`` (wrong secret: 401
  ``invalid_client``); codes are single use and expire (FC 30 s, PC 60 s); ``redirect_uri``
  must equal the authorization's; PKCE verified when a challenge was sent. ProConnect also
  issues refresh tokens (2 h, rotated on use).
- id_token: ES256 with a ``kid``; ``iss, sub, aud, exp, iat, auth_time, acr, nonce, at_hash,
  sid`` and ``amr`` when requested; ``sub`` is pairwise (different for each client).
- ``/userinfo``: Bearer access token valid 60 s (401 ``invalid_token`` with
  ``WWW-Authenticate`` otherwise); answers a signed JWT (``application/jwt``), or plain JSON for
  a ProConnect client registered without a userinfo algorithm; only the claims of the granted
  scopes.
- ``/session/end``: ``id_token_hint`` (signed by this provider), ``state`` and an exactly
  registered ``post_logout_redirect_uri`` (ProConnect: ``Y030111``); answers 303 back with the
  same ``state``.

Browser-facing errors (``/authorize``, ``/session/end``) are an HTML page with HTTP 400 that
shows the error code: with an unknown client or redirect URI the provider has nowhere safe to
redirect to, and the real platforms show their own error page in those cases. API errors
(``/token``, ``/userinfo``) are JSON ``{"error", "error_description"}``.

Usage::

    with running_fake_provider("proconnect", client_id="viatic") as provider:
        provider.next_identity = {...}
        discovery = f"{provider.issuer}/.well-known/openid-configuration"

Test knobs (plain attributes, read at request time): ``next_identity``, ``identity_key``,
``code_ttl``, ``access_token_ttl``, ``id_token_ttl``, ``refresh_token_ttl``, ``clock``,
``tamper_id_token``, ``id_token_nonce_override``, ``id_token_claims_override``,
``authorize_error``, ``fail_with_status``, ``fail_endpoints``, ``discovery_override``,
``sso_session_active``. Records: ``authorize_requests``, ``token_requests``,
``userinfo_requests``, ``ended_sessions``, ``issued_id_tokens``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import pytest
from flask import Flask, Response, jsonify, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from werkzeug.serving import make_server

__all__ = [
    "PROFILES",
    "Client",
    "FakeProvider",
    "Profile",
    "fake_provider_factory",
    "running_fake_provider",
]

BASE_PATH = "/api/v2"

# FranceConnect scopes -> userinfo claims (fcp-low.scopes.ts). ``amr`` is a scope whose claim
# goes into the id_token, so it maps to no userinfo claim here.
FC_SCOPES: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "given_name": ("given_name", "given_name_array"),
    "family_name": ("family_name",),
    "birthdate": ("birthdate",),
    "gender": ("gender",),
    "birthplace": ("birthplace",),
    "birthcountry": ("birthcountry",),
    "email": ("email",),
    "preferred_username": ("preferred_username",),
    "profile": (
        "given_name",
        "given_name_array",
        "family_name",
        "birthdate",
        "gender",
        "preferred_username",
    ),
    "birth": ("birthplace", "birthcountry"),
    "identite_pivot": (
        "given_name",
        "given_name_array",
        "family_name",
        "birthdate",
        "gender",
        "birthplace",
        "birthcountry",
    ),
    "idp_birthdate": ("idp_birthdate",),
    "idp_id": ("idp_id",),
    "amr": (),
}

# ProConnect scopes -> userinfo claims (scope-claims.md, donnees_fournies.md); the
# complementary data are requested with scopes of the same name.
PC_SCOPES: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "given_name": ("given_name",),
    "usual_name": ("usual_name",),
    "email": ("email",),
    "uid": ("uid",),
    "siret": ("siret",),
    "idp_id": ("idp_id",),
    "roles": ("roles",),
    "organization_label": ("organization_label",),
    "phone": ("phone_number",),
    "custom": ("custom",),
    "siren": ("siren",),
    "organizational_unit": ("organizational_unit",),
    "belonging_population": ("belonging_population",),
    "chorusdt": ("chorusdt",),
}

PC_ACR_VALUES = (
    "eidas0",
    "eidas0-mfa",
    "eidas1",
    "eidas1-mfa",
    "eidas2",
    "eidas3",
    "https://proconnect.gouv.fr/assurance/consistency-checked-2fa",
    "https://proconnect.gouv.fr/assurance/certification-dirigeant",
)

# The documented ProConnect authorization parameters. PKCE (code_challenge,
# code_challenge_method) is not in the contract's table, but the current ProConnect and
# FranceConnect platforms accept it, so the fake accepts it too (S256 only) on every profile
# instead of answering Y000400.
PC_AUTHORIZE_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "acr_values",
        "nonce",
        "state",
        "prompt",
        "claims",
        "idp_hint",
        "login_hint",
        "siret_hint",
        "code_challenge",
        "code_challenge_method",
    }
)


@dataclass(frozen=True)
class Profile:
    """What differs between FranceConnect, FranceConnect+ and ProConnect."""

    name: str
    scopes: dict[str, tuple[str, ...]]
    acr_values: tuple[str, ...]
    default_acr: str
    acr_values_required: bool
    nonce_min_length: int
    state_min_length: int
    prompt_values: frozenset[str]
    reject_unknown_params: bool
    code_ttl: int
    refresh_token_ttl: int | None  # None: no refresh tokens
    default_identity: dict[str, Any]

    @property
    def is_proconnect(self) -> bool:
        return self.name == "proconnect"


_FC_IDENTITY = {
    "given_name": "Angela Claire Louise",
    "family_name": "DUBOIS",
    "email": "angela@example.fr",
    "birthdate": "1962-08-24",
    "gender": "female",
    "birthplace": "75107",
    "birthcountry": "99100",
    "preferred_username": "",
    "idp_birthdate": "1962-08-24",
    "idp_id": "fia1v2",
}

PROFILES: dict[str, Profile] = {
    "franceconnect": Profile(
        name="franceconnect",
        scopes=FC_SCOPES,
        acr_values=("eidas1",),
        default_acr="eidas1",
        acr_values_required=True,
        nonce_min_length=22,
        state_min_length=1,
        prompt_values=frozenset({"login", "consent"}),
        reject_unknown_params=False,
        code_ttl=30,
        refresh_token_ttl=None,
        default_identity=_FC_IDENTITY,
    ),
    "franceconnect_plus": Profile(
        name="franceconnect_plus",
        scopes=FC_SCOPES,
        acr_values=("eidas2", "eidas3"),
        default_acr="eidas2",
        acr_values_required=True,
        nonce_min_length=22,
        state_min_length=1,
        prompt_values=frozenset({"login", "consent"}),
        reject_unknown_params=False,
        code_ttl=30,
        refresh_token_ttl=None,
        default_identity=_FC_IDENTITY,
    ),
    "proconnect": Profile(
        name="proconnect",
        scopes=PC_SCOPES,
        acr_values=PC_ACR_VALUES,
        default_acr="eidas1",
        acr_values_required=False,
        nonce_min_length=32,
        state_min_length=32,
        prompt_values=frozenset({"none", "login", "consent", "select_account"}),
        reject_unknown_params=True,
        code_ttl=60,
        refresh_token_ttl=2 * 3600,
        default_identity={
            "given_name": "Jean",
            "usual_name": "Martin",
            "email": "jean.martin@mairie-exemple.fr",
            "uid": "4f1c6a2e-jean-martin",
            "siret": "21100145000017",
            "siren": "211001450",
            "organization_label": "Commune de Faux-Villecerf",
            "idp_id": "fia1v2",
            "roles": ["agent_public_territorial"],
            "phone_number": "0325000000",
        },
    ),
}


@dataclass
class Client:
    """A registered service provider (FS)."""

    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    # ProConnect: False models an FS registered without a userinfo signing algorithm.
    userinfo_signed: bool = True


@dataclass
class _Grant:
    """What an authorization decided; carried by the code, then the tokens."""

    client_id: str
    redirect_uri: str
    scopes: list[str]
    nonce: str
    acr: str
    amr_requested: bool
    code_challenge: str | None
    identity: dict[str, Any]
    identity_key: str
    sid: str
    auth_time: int
    issued_at: float = 0.0
    used: bool = False
    access_tokens: list[str] = field(default_factory=list)


class OIDCError(Exception):
    """An error answered to the browser (HTML page) or to the API caller (JSON)."""

    def __init__(self, error: str, description: str, status: int = 400, pc_code: str = ""):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.pc_code = pc_code


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _with_query(uri: str, params: dict[str, str]) -> str:
    """Appends parameters to a URI that may already have a query string."""
    parts = urlsplit(uri)
    query = urlencode(params)
    query = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit(parts._replace(query=query))


class FakeProvider:
    """A FranceConnect / ProConnect OpenID Provider with its rules and test knobs."""

    def __init__(
        self,
        profile: str = "franceconnect",
        client_id: str = "viatic-test-client",
        client_secret: str = "viatic-test-secret",
        redirect_uris: list[str] | None = None,
        post_logout_redirect_uris: list[str] | None = None,
        *,
        userinfo_signed: bool = True,
        issuer: str = "http://fake-oidc.localhost" + BASE_PATH,
        pairwise_salt: str = "viatic-fake-oidc-pairwise",
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
        self.profile = PROFILES[profile]
        self.issuer = issuer
        self.pairwise_salt = pairwise_salt
        self.clients: dict[str, Client] = {}
        self.add_client(
            client_id,
            client_secret,
            redirect_uris or ["http://127.0.0.1:5000/auth/oidc/callback"],
            post_logout_redirect_uris or ["http://127.0.0.1:5000/"],
            userinfo_signed=userinfo_signed,
        )
        self.client_id = client_id
        self._initial_clients = copy.deepcopy(self.clients)
        self.key = ECKey.generate_key("P-256", parameters={"kid": secrets.token_hex(8)})
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.reset()
        self.app = self._create_app()

    def reset(self) -> None:
        """Back to the state after construction (same key, issuer and first clients).

        Lets a test module share one running provider between tests.
        """
        self.clients = copy.deepcopy(self._initial_clients)

        # The person who "logs in" at the next authorization (auto-consent, no login page).
        self.next_identity: dict[str, Any] = copy.deepcopy(self.profile.default_identity)
        self.identity_key = "user-1"

        # Lifetimes, read when a code or token is used, so a test may shorten them afterwards.
        self.code_ttl: float = self.profile.code_ttl
        self.access_token_ttl: float = 60
        self.id_token_ttl: int = 60
        self.refresh_token_ttl: float | None = self.profile.refresh_token_ttl
        self.clock: Callable[[], float] = time.time

        # Knobs for the client's negative tests.
        self.tamper_id_token = False
        self.id_token_nonce_override: str | None = None
        self.id_token_claims_override: dict[str, Any] = {}  # a None value removes the claim
        self.authorize_error: str | None = None  # e.g. "access_denied": redirect back with it
        self.fail_with_status: int | None = None
        # Endpoint names: discovery, jwks, authorize, token, userinfo, end_session.
        self.fail_endpoints: set[str] | None = None  # None: every endpoint fails
        # A dict is merged into the document (a None value removes the key); a str replaces
        # the whole body, e.g. to serve something that is not JSON.
        self.discovery_override: dict[str, Any] | str | None = None
        self.sso_session_active = True  # False: prompt=none gets login_required

        # Records for assertions.
        self.authorize_requests: list[dict[str, str]] = []  # query parameters, even refused
        self.token_requests: list[dict[str, str]] = []  # form fields + "_auth_method"
        self.userinfo_requests: list[str | None] = []  # Authorization headers
        self.ended_sessions: list[dict[str, Any]] = []  # client_id, sub, sid, state, uri
        self.issued_id_tokens: list[str] = []  # as signed, before any tampering

        self._codes: dict[str, _Grant] = {}
        self._access_tokens: dict[str, tuple[_Grant, float]] = {}
        self._refresh_tokens: dict[str, tuple[_Grant, float]] = {}

    # -- configuration ---------------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        post_logout_redirect_uris: list[str],
        *,
        userinfo_signed: bool = True,
    ) -> Client:
        """Registers another FS, e.g. to show that ``sub`` is pairwise."""
        if not userinfo_signed and not self.profile.is_proconnect:
            # FranceConnect v2 always signs userinfo (jwtUserinfo enabled).
            raise ValueError("only ProConnect can answer userinfo as plain JSON")
        client = Client(
            client_id,
            client_secret,
            list(redirect_uris),
            list(post_logout_redirect_uris),
            userinfo_signed,
        )
        self.clients[client_id] = client
        return client

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False, alg="ES256", use="sig")]}

    def pairwise_sub(self, client_id: str, identity_key: str | None = None) -> str:
        """The ``sub`` this provider gives the person ``identity_key`` for ``client_id``."""
        key = self.identity_key if identity_key is None else identity_key
        digest = hmac.new(
            self.pairwise_salt.encode(), f"{client_id}\x00{key}".encode(), hashlib.sha256
        )
        if self.profile.is_proconnect:
            # ProConnect subs are opaque; a UUID-shaped value keeps them recognisable.
            return str(uuid.UUID(bytes=digest.digest()[:16]))
        # FranceConnect: 64 hex characters followed by "v1".
        return digest.hexdigest() + "v1"

    # -- running ---------------------------------------------------------------------------

    def start(self) -> FakeProvider:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}{BASE_PATH}"
        self._thread = threading.Thread(
            # A short poll interval so that stop() returns quickly (the default is 0.5 s).
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-oidc-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- helpers ---------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock()

    def _page_error(self, err: OIDCError) -> Response:
        """The provider's own error page: it cannot safely redirect back to the FS."""
        code = err.pc_code if self.profile.is_proconnect and err.pc_code else err.error
        body = (
            "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
            f"<title>Erreur {html.escape(code)}</title></head><body>"
            "<h1>Une erreur est survenue</h1>"
            f"<p>Code d'erreur : <code>{html.escape(code)}</code></p>"
            f"<p>{html.escape(err.error)} : {html.escape(err.description)}</p>"
            "</body></html>"
        )
        return Response(body, status=err.status, content_type="text/html; charset=utf-8")

    @staticmethod
    def _json_error(err: OIDCError, headers: dict[str, str] | None = None) -> Response:
        resp = jsonify({"error": err.error, "error_description": err.description})
        resp.status_code = err.status
        resp.headers["Cache-Control"] = "no-store"
        for name, value in (headers or {}).items():
            resp.headers[name] = value
        return resp

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "ES256", "kid": self.key.kid, "typ": "JWT"}, claims, self.key)

    def _scoped_claims(self, grant: _Grant) -> dict[str, Any]:
        identity = dict(grant.identity)
        if "given_name" in identity and "given_name_array" not in identity:
            identity["given_name_array"] = str(identity["given_name"]).split()
        claims: dict[str, Any] = {}
        for scope in grant.scopes:
            for name in self.profile.scopes.get(scope, ()):
                if name != "sub" and name in identity:
                    claims[name] = identity[name]
        return claims

    # -- the endpoints ---------------------------------------------------------------------

    def _create_app(self) -> Flask:
        app = Flask(__name__)

        @app.before_request
        def _simulate_outage() -> Response | None:
            # "Provider unavailable": every endpoint (or the chosen ones) answers this status.
            if self.fail_with_status is None:
                return None
            endpoint = (request.endpoint or "").rsplit(".", 1)[-1]
            if self.fail_endpoints is not None and endpoint not in self.fail_endpoints:
                return None
            return Response(
                json.dumps({"error": "temporarily_unavailable"}),
                status=self.fail_with_status,
                content_type="application/json",
            )

        app.add_url_rule(
            f"{BASE_PATH}/.well-known/openid-configuration", "discovery", self._discovery
        )
        app.add_url_rule(f"{BASE_PATH}/jwks", "jwks", self._jwks)
        app.add_url_rule(f"{BASE_PATH}/authorize", "authorize", self._authorize)
        app.add_url_rule(f"{BASE_PATH}/token", "token", self._token, methods=["POST"])
        app.add_url_rule(f"{BASE_PATH}/userinfo", "userinfo", self._userinfo)
        app.add_url_rule(f"{BASE_PATH}/session/end", "end_session", self._end_session)
        return app

    def discovery_document(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/session/end",
            "jwks_uri": f"{base}/jwks",
            "scopes_supported": list(self.profile.scopes),
            "claims_supported": sorted(
                {"sub", *(c for cs in self.profile.scopes.values() for c in cs)}
            ),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"]
            + (["refresh_token"] if self.profile.refresh_token_ttl else []),
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "userinfo_signing_alg_values_supported": ["ES256"],
            "acr_values_supported": list(self.profile.acr_values),
            "claims_parameter_supported": True,
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "client_secret_basic",
            ],
            "code_challenge_methods_supported": ["S256"],
        }

    def _discovery(self) -> Response:
        override = self.discovery_override
        if isinstance(override, str):
            # Served verbatim, to simulate a document that is not even JSON.
            return Response(override, content_type="application/json")
        doc = self.discovery_document()
        for name, value in (override or {}).items():
            if value is None:
                doc.pop(name, None)
            else:
                doc[name] = value
        return jsonify(doc)

    def _jwks(self) -> Response:
        return jsonify(self.public_jwks())

    # /authorize ---------------------------------------------------------------------------

    def _authorize(self) -> Response:
        with self._lock:
            self.authorize_requests.append(request.args.to_dict())
        try:
            client, params, acr, amr_requested = self._check_authorize(request.args)
        except OIDCError as err:
            return self._page_error(err)
        redirect_uri, state = params["redirect_uri"], params["state"]

        if self.authorize_error:
            # The user cancelled or the IdP refused: a standard error redirect to the FS.
            return self._redirect(
                _with_query(
                    redirect_uri,
                    {
                        "error": self.authorize_error,
                        "error_description": "simulated by the fake provider",
                        "state": state,
                    },
                )
            )
        if "none" in params.get("prompt", "").split() and not self.sso_session_active:
            return self._redirect(
                _with_query(redirect_uri, {"error": "login_required", "state": state})
            )

        now = self._now()
        scopes = params["scope"].split()
        grant = _Grant(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            nonce=params["nonce"],
            acr=acr,
            amr_requested=amr_requested or "amr" in scopes,
            code_challenge=params.get("code_challenge"),
            identity=copy.deepcopy(self.next_identity),
            identity_key=self.identity_key,
            sid=secrets.token_urlsafe(16),
            auth_time=int(now),
            issued_at=now,
        )
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = grant
            self.sso_session_active = True
        return self._redirect(_with_query(redirect_uri, {"code": code, "state": state}))

    @staticmethod
    def _redirect(location: str, status: int = 302) -> Response:
        return Response("", status=status, headers={"Location": location})

    def _check_authorize(self, args: Any) -> tuple[Client, dict[str, str], str, bool]:
        """Validates an authorization request: (client, parameters, acr, amr requested)."""
        prof = self.profile

        def invalid(description: str, error: str = "invalid_request") -> OIDCError:
            return OIDCError(error, description, pc_code="Y000400")

        # RFC 6749 3.1: a parameter must not be included more than once.
        for name in args:
            if len(args.getlist(name)) > 1:
                raise invalid(f"parameter {name} given more than once")
        params = args.to_dict()

        if prof.reject_unknown_params:
            unknown = sorted(set(params) - PC_AUTHORIZE_PARAMS)
            if unknown:
                raise invalid(f"unknown parameter(s): {', '.join(unknown)}")

        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise invalid("unknown client_id", "invalid_client")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            # Exact string comparison: a trailing slash or another port is a mismatch.
            raise OIDCError(
                "invalid_redirect_uri", "redirect_uri is not registered", pc_code="Y030031"
            )

        if params.get("response_type") != "code":
            raise invalid("response_type must be code", "unsupported_response_type")
        if "openid" not in params.get("scope", "").split():
            raise invalid("scope must include openid", "invalid_scope")

        nonce = params.get("nonce", "")
        if len(nonce) < prof.nonce_min_length:
            raise invalid(f"nonce must be at least {prof.nonce_min_length} characters")
        state = params.get("state", "")
        if len(state) < prof.state_min_length:
            raise invalid(
                "state is required"
                if prof.state_min_length <= 1
                else f"state must be at least {prof.state_min_length} characters"
            )

        prompt = params.get("prompt")
        if prompt is not None:
            values = prompt.split()
            if not values or not set(values) <= prof.prompt_values:
                raise invalid(f"prompt must be among {sorted(prof.prompt_values)}")
            if "none" in values and len(values) > 1:
                raise invalid("prompt=none cannot be combined")

        if "siret_hint" in params and not (
            len(params["siret_hint"]) == 14 and params["siret_hint"].isdigit()
        ):
            raise invalid("siret_hint must be 14 digits")

        claims: dict[str, Any] = {}
        if "claims" in params:
            try:
                claims = json.loads(params["claims"])
            except ValueError:
                raise invalid("claims is not valid JSON") from None
            if not isinstance(claims, dict):
                raise invalid("claims must be a JSON object")

        acr = self._choose_acr(params.get("acr_values"), claims, invalid)

        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None or method is not None:
            if method != "S256":
                raise invalid("code_challenge_method must be S256")
            if challenge is None or not 43 <= len(challenge) <= 128:
                raise invalid("code_challenge must be 43 to 128 characters")

        id_token_claims = claims.get("id_token") if isinstance(claims.get("id_token"), dict) else {}
        return client, params, acr, "amr" in id_token_claims

    def _choose_acr(
        self, acr_values: str | None, claims: dict[str, Any], invalid: Callable[..., OIDCError]
    ) -> str:
        prof = self.profile
        acr = prof.default_acr
        if acr_values is None:
            if prof.acr_values_required:
                raise invalid("acr_values is required")
        else:
            requested = acr_values.split()
            supported = [v for v in requested if v in prof.acr_values]
            if not supported:
                raise invalid(f"acr_values must be among {list(prof.acr_values)}")
            acr = supported[0]
        # claims={"id_token":{"acr":{"essential":true,"values":[...]}}}: the id_token's acr
        # is taken from those values (the first one this provider supports).
        id_token = claims.get("id_token")
        acr_claim = id_token.get("acr") if isinstance(id_token, dict) else None
        if isinstance(acr_claim, dict):
            values = acr_claim.get("values")
            if acr_claim.get("value") is not None:
                values = [acr_claim["value"]]
            if isinstance(values, list) and values:
                supported = [v for v in values if v in prof.acr_values]
                if supported:
                    acr = supported[0]
                elif acr_claim.get("essential"):
                    raise invalid("none of the essential acr values is supported")
        return acr

    # /token -------------------------------------------------------------------------------

    def _authenticate_client(self) -> Client:
        form = request.form
        header = request.headers.get("Authorization", "")
        basic = header[:6].lower() == "basic "
        if basic and "client_secret" in form:
            raise OIDCError("invalid_request", "use only one client authentication method")
        if basic:
            try:
                raw = base64.b64decode(header[6:].strip(), validate=True)
                try:
                    decoded = raw.decode()
                except UnicodeDecodeError:  # some clients (authlib) encode in latin-1
                    decoded = raw.decode("latin-1")
                raw_id, _, raw_secret = decoded.partition(":")
            except ValueError:
                raise OIDCError("invalid_client", "malformed Basic credentials", 401) from None
            # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
            client_id, secret = (
                unquote(raw_id.replace("+", " ")),
                unquote(raw_secret.replace("+", " ")),
            )
            if form.get("client_id", client_id) != client_id:
                raise OIDCError("invalid_request", "client_id differs from the Basic one")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret")
        client = self.clients.get(client_id)
        if (
            client is None
            or secret is None
            or not hmac.compare_digest(secret.encode(), client.client_secret.encode())
        ):
            raise OIDCError("invalid_client", "client authentication failed", 401)
        return client

    def _token(self) -> Response:
        record = request.form.to_dict()
        basic = request.headers.get("Authorization", "")[:6].lower() == "basic "
        record["_auth_method"] = "client_secret_basic" if basic else "client_secret_post"
        with self._lock:
            self.token_requests.append(record)
        try:
            client = self._authenticate_client()
            grant_type = request.form.get("grant_type")
            if grant_type == "authorization_code":
                body = self._redeem_code(client)
            elif grant_type == "refresh_token" and self.profile.refresh_token_ttl:
                body = self._redeem_refresh_token(client)
            else:
                raise OIDCError("unsupported_grant_type", f"grant_type {grant_type!r}")
        except OIDCError as err:
            headers = {}
            if err.status == 401 and basic:
                headers["WWW-Authenticate"] = 'Basic realm="token"'
            return self._json_error(err, headers)
        resp = jsonify(body)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def _redeem_code(self, client: Client) -> dict[str, Any]:
        form = request.form
        now = self._now()
        with self._lock:
            grant = self._codes.get(form.get("code", ""))
            if grant is None:
                raise OIDCError("invalid_grant", "unknown authorization code")
            if grant.used:
                # A replayed code also revokes what the first use issued (RFC 6749 4.1.2).
                for token in grant.access_tokens:
                    self._access_tokens.pop(token, None)
                raise OIDCError("invalid_grant", "authorization code already used")
            grant.used = True
        if now - grant.issued_at >= self.code_ttl:
            raise OIDCError("invalid_grant", "authorization code expired")
        if grant.client_id != client.client_id:
            raise OIDCError("invalid_grant", "authorization code issued to another client")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise OIDCError("invalid_grant", "redirect_uri differs from the authorization's")
        verifier = form.get("code_verifier")
        if grant.code_challenge is not None:
            if not verifier:
                raise OIDCError("invalid_grant", "code_verifier is required")
            expected = _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            if not hmac.compare_digest(expected, grant.code_challenge):
                raise OIDCError("invalid_grant", "PKCE verification failed")
        elif verifier:
            raise OIDCError("invalid_grant", "code_verifier given but PKCE was not used")
        return self._issue_tokens(grant, with_nonce=True)

    def _redeem_refresh_token(self, client: Client) -> dict[str, Any]:
        token = request.form.get("refresh_token", "")
        with self._lock:
            entry = self._refresh_tokens.pop(token, None)  # rotated: single use
        if entry is None:
            raise OIDCError("invalid_grant", "unknown refresh token")
        grant, issued_at = entry
        if self.refresh_token_ttl is None or self._now() - issued_at >= self.refresh_token_ttl:
            raise OIDCError("invalid_grant", "refresh token expired")
        if grant.client_id != client.client_id:
            raise OIDCError("invalid_grant", "refresh token issued to another client")
        # OIDC Core 12.2: a refreshed id_token carries no nonce.
        return self._issue_tokens(grant, with_nonce=False)

    def _issue_tokens(self, grant: _Grant, *, with_nonce: bool) -> dict[str, Any]:
        now = self._now()
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[access_token] = (grant, now)
            grant.access_tokens.append(access_token)
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(self.access_token_ttl),
            "id_token": self._id_token(grant, access_token, now, with_nonce=with_nonce),
        }
        if self.profile.refresh_token_ttl:
            refresh_token = secrets.token_urlsafe(32)
            with self._lock:
                self._refresh_tokens[refresh_token] = (grant, now)
            body["refresh_token"] = refresh_token
        return body

    def _id_token(self, grant: _Grant, access_token: str, now: float, *, with_nonce: bool) -> str:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.pairwise_sub(grant.client_id, grant.identity_key),
            "aud": grant.client_id,
            "exp": int(now) + self.id_token_ttl,
            "iat": int(now),
            "auth_time": grant.auth_time,
            "acr": grant.acr,
            "at_hash": _b64url(digest[: len(digest) // 2]),
            "sid": grant.sid,
        }
        if with_nonce:
            claims["nonce"] = grant.nonce
        if grant.amr_requested:
            claims["amr"] = ["pwd"] if self.profile.is_proconnect else ["fc"]
        if self.id_token_nonce_override is not None:
            claims["nonce"] = self.id_token_nonce_override
        for name, value in self.id_token_claims_override.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        token = self._sign(claims)
        with self._lock:
            self.issued_id_tokens.append(token)
        if self.tamper_id_token:
            # Change one character in the middle of the signature (the last character may
            # only carry padding bits, so changing it could leave the signature valid).
            head, payload, sig = token.split(".")
            i = len(sig) // 2
            sig = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1 :]
            token = f"{head}.{payload}.{sig}"
        return token

    # /userinfo ----------------------------------------------------------------------------

    def _userinfo(self) -> Response:
        header = request.headers.get("Authorization")
        with self._lock:
            self.userinfo_requests.append(header)
        if not header or header[:7].lower() != "bearer ":
            # RFC 6750 3.1: no credentials, no error code in the challenge.
            return self._json_error(
                OIDCError("invalid_request", "missing Bearer access token", 401),
                {"WWW-Authenticate": 'Bearer realm="userinfo"'},
            )
        with self._lock:
            entry = self._access_tokens.get(header[7:].strip())
        if entry is None or self._now() - entry[1] >= self.access_token_ttl:
            return self._json_error(
                OIDCError("invalid_token", "access token unknown or expired", 401),
                {
                    "WWW-Authenticate": 'Bearer realm="userinfo", error="invalid_token", '
                    'error_description="access token unknown or expired"'
                },
            )
        grant = entry[0]
        now = int(self._now())
        sub = self.pairwise_sub(grant.client_id, grant.identity_key)
        claims = {"sub": sub, **self._scoped_claims(grant)}
        client = self.clients[grant.client_id]
        if not client.userinfo_signed:
            return jsonify(claims)
        claims.update({"iss": self.issuer, "aud": grant.client_id, "iat": now, "exp": now + 60})
        return Response(self._sign(claims), content_type="application/jwt")

    # /session/end -------------------------------------------------------------------------

    def _end_session(self) -> Response:
        try:
            params = request.args.to_dict()
            hint = params.get("id_token_hint")
            if not hint:
                raise OIDCError("invalid_request", "id_token_hint is required", pc_code="Y000400")
            try:
                # The signature must verify; an expired id_token is still a valid hint.
                token = jwt.decode(hint, self.key, algorithms=["ES256"])
            except (JoseError, ValueError):
                raise OIDCError(
                    "invalid_request", "id_token_hint is not valid", pc_code="Y000400"
                ) from None
            hint_claims = token.claims
            if hint_claims.get("iss") != self.issuer or hint not in self.issued_id_tokens:
                raise OIDCError(
                    "invalid_request", "id_token_hint was not issued here", pc_code="Y000400"
                )
            client = self.clients.get(hint_claims.get("aud", ""))
            if client is None or params.get("client_id", client.client_id) != client.client_id:
                raise OIDCError("invalid_client", "unknown client", pc_code="Y000400")
            state = params.get("state")
            if not state:
                raise OIDCError("invalid_request", "state is required", pc_code="Y000400")
            target = params.get("post_logout_redirect_uri")
            if not target:
                raise OIDCError(
                    "invalid_request", "post_logout_redirect_uri is required", pc_code="Y000400"
                )
            if target not in client.post_logout_redirect_uris:
                raise OIDCError(
                    "invalid_request",
                    "post_logout_redirect_uri is not registered",
                    pc_code="Y030111",
                )
        except OIDCError as err:
            return self._page_error(err)
        with self._lock:
            self.ended_sessions.append(
                {
                    "client_id": client.client_id,
                    "sub": hint_claims.get("sub"),
                    "sid": hint_claims.get("sid"),
                    "state": state,
                    "post_logout_redirect_uri": target,
                }
            )
            self.sso_session_active = False
        return self._redirect(_with_query(target, {"state": state}), status=303)


@contextlib.contextmanager
def running_fake_provider(profile: str = "franceconnect", **kwargs: Any) -> Iterator[FakeProvider]:
    """Serves a ``FakeProvider`` on 127.0.0.1 (random port) for the duration of the block."""
    provider = FakeProvider(profile, **kwargs).start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def fake_provider_factory() -> Iterator[Callable[..., FakeProvider]]:
    """A function ``start(profile, **kwargs)`` running fake providers, stopped after the test.

    Import it into a test module (``from tests.fake_oidc_provider import
    fake_provider_factory``) to use it as a fixture.
    """
    with contextlib.ExitStack() as stack:

        def start(profile: str = "franceconnect", **kwargs: Any) -> FakeProvider:
            return stack.enter_context(running_fake_provider(profile, **kwargs))

        yield start
