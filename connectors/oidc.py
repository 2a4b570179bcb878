"""OpenID Connect relying party: signing in through ProConnect, FranceConnect or any provider.

The authorization code flow with PKCE, written for the providers' own rules
(``../shared/contracts/oidc-franceconnect-proconnect.md``):

- ``state`` and ``nonce`` of 43 characters (ProConnect demands at least 32, FranceConnect a
  nonce of 22; authlib's defaults are 30 and 20);
- FranceConnect gets ``acr_values=eidas1``; ProConnect refuses any parameter it does not
  know, so it gets the acr request through ``claims`` and nothing else;
- the id_token's signature (against the provider's JWKS, fetched again once for an unknown
  key id), issuer, audience, expiry, nonce and ``at_hash`` are checked with joserfc and
  authlib's OIDC claim rules;
- a userinfo answer signed as a JWT (``application/jwt``: FranceConnect v2, ProConnect) is
  verified like the id_token, and its ``sub`` must be the id_token's;
- logout goes through the provider's end-session endpoint with ``id_token_hint``, ``state``
  and ``post_logout_redirect_uri``.

Calls go through :class:`connectors.http.HttpClient` (timeouts, retries, breakers, call log).
Nothing from Flask or ``core`` is imported here: the caller keeps the :class:`Pending`
request between the two legs (in the session) and decides what an identity means.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from connectors.http import CallRecord, ConnectorError, ConnectorRejected, HttpClient

KINDS = ("proconnect", "franceconnect", "generic")
DEFAULT_SCOPES = {
    "proconnect": ("openid", "email", "given_name", "usual_name", "siret", "organization_label"),
    "franceconnect": ("openid", "email", "given_name", "family_name"),
    "generic": ("openid", "email", "profile"),
}
# The eIDAS levels asked of each federation: "substantial" needs more than a password.
FRANCECONNECT_ACR = "eidas1"
PROCONNECT_ACR = ("eidas1", "eidas2", "eidas3")
METADATA_TTL = 3600.0  # seconds a discovery document and its JWKS are kept
LEEWAY = 60  # seconds of clock difference tolerated on exp/iat
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class OidcError(Exception):
    """A sign-in that cannot go on. ``reason`` is a short code for the audit log; the
    message is safe to show a platform admin (no secret, no token)."""

    reason = "error"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or self.reason


class ProviderUnavailable(OidcError):
    """The provider did not answer, or answered with a server error."""

    reason = "unavailable"


class ProviderMisconfigured(OidcError):
    """The provider's discovery document, or our registration there, is not usable (a wrong
    client secret, say): an admin must act, the person cannot."""

    reason = "misconfigured"


class LoginRejected(OidcError):
    """The answer of this sign-in is not acceptable: refused at the provider, forged,
    replayed, expired, or meant for another request."""

    reason = "rejected"


@dataclass(frozen=True)
class ProviderSettings:
    """One provider as the platform registered it."""

    slug: str
    kind: str
    discovery_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"provider {self.slug!r}: kind must be one of {', '.join(KINDS)}")
        if urlsplit(self.discovery_url).scheme not in ("http", "https"):
            raise ValueError(f"provider {self.slug!r}: the discovery URL must be http(s)")
        if not self.client_id or not self.client_secret:
            raise ValueError(f"provider {self.slug!r}: client id and secret are required")

    @property
    def requested_scopes(self) -> tuple[str, ...]:
        scopes = self.scopes or DEFAULT_SCOPES[self.kind]
        return scopes if "openid" in scopes else ("openid", *scopes)

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return f"ProviderSettings({self.slug!r}, kind={self.kind!r})"


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    id_token_algorithms: tuple[str, ...] | None


@dataclass
class Pending:
    """What the callback needs to check the answer: kept by the caller between the legs."""

    provider: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pending:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass
class Identity:
    """The person the provider vouches for. ``sub`` is pairwise: only (provider, sub) names
    a person. ``claims`` merges the id_token's and userinfo's."""

    provider: str
    sub: str
    id_token: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def email(self) -> str | None:
        email = self.claims.get("email")
        return email.strip() if isinstance(email, str) and email.strip() else None

    @property
    def name(self) -> str:
        """First name and (ProConnect's ``usual_name``, or) family name, else the e-mail."""
        family = self.claims.get("usual_name") or self.claims.get("family_name") or ""
        given = self.claims.get("given_name") or ""
        name = f"{given} {family}".strip() or str(self.claims.get("name") or "").strip()
        return name or (self.email or "").split("@")[0]

    @property
    def siret(self) -> str | None:
        return self.claims.get("siret")

    @property
    def organization(self) -> str | None:
        return self.claims.get("organization_label") or self.claims.get("organization")


def random_token() -> str:
    """43 URL-safe characters (256 bits): long enough for every provider's state and nonce."""
    return secrets.token_urlsafe(32)


class _Cache:
    """Discovery documents and key sets by URL, for the whole process, with an expiry."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> Any:
        with self._lock:
            item = self._items.get(key)
        return item[1] if item is not None and item[0] > now else None

    def put(self, key: str, value: Any, now: float) -> None:
        with self._lock:
            self._items[key] = (now + METADATA_TTL, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = _Cache()


class OidcClient:
    """The client of one provider. Cheap to build: what it fetches is cached per process."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        on_call: Callable[[CallRecord], None] | None = None,
        clock: Callable[[], float] = time.time,
        timeout: tuple[float, float] = (5.0, 15.0),
    ) -> None:
        self.settings = settings
        self.clock = clock
        parts = urlsplit(settings.discovery_url)
        self.http = HttpClient(
            f"{parts.scheme}://{parts.netloc}",
            name=f"oidc-{settings.slug}",
            on_call=on_call,
            timeout=timeout,
            retries=1,
            redact_keys=("code", "state", "id_token_hint", "client_secret"),
        )

    # -- the provider's documents

    def metadata(self, refresh: bool = False) -> Metadata:
        cached = None if refresh else CACHE.get(self.settings.discovery_url, self.clock())
        if cached is not None:
            return cached
        document = self._get_json(self.settings.discovery_url, "discovery document")
        missing = [key for key in REQUIRED_METADATA if not isinstance(document.get(key), str)]
        if missing:
            raise ProviderMisconfigured(
                f"the discovery document lacks {', '.join(missing)}", "bad_discovery"
            )
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if urlsplit(document[key]).scheme not in ("http", "https"):
                raise ProviderMisconfigured(f"{key} is not an http(s) URL", "bad_discovery")
        algorithms = document.get("id_token_signing_alg_values_supported")
        metadata = Metadata(
            issuer=document["issuer"],
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            jwks_uri=document["jwks_uri"],
            userinfo_endpoint=document.get("userinfo_endpoint"),
            end_session_endpoint=document.get("end_session_endpoint"),
            # "none" is never acceptable, whatever a provider advertises.
            id_token_algorithms=tuple(a for a in algorithms if a != "none")
            if isinstance(algorithms, list)
            else None,
        )
        CACHE.put(self.settings.discovery_url, metadata, self.clock())
        return metadata

    def key_set(self, refresh: bool = False) -> KeySet:
        uri = self.metadata().jwks_uri
        cached = None if refresh else CACHE.get(uri, self.clock())
        if cached is not None:
            return cached
        try:
            keys = KeySet.import_key_set(self._get_json(uri, "key set"))
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderMisconfigured(f"unreadable key set ({exc})", "bad_jwks") from None
        CACHE.put(uri, keys, self.clock())
        return keys

    # -- first leg: send the person to the provider

    def begin(self, redirect_uri: str) -> tuple[str, Pending]:
        """The provider's authorization URL, and what to keep until the callback."""
        metadata = self.metadata()
        pending = Pending(
            provider=self.settings.slug,
            state=random_token(),
            nonce=random_token(),
            code_verifier=secrets.token_urlsafe(64),
            redirect_uri=redirect_uri,
            created_at=self.clock(),
        )
        params: list[tuple[str, str]] = [
            ("response_type", "code"),
            ("client_id", self.settings.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", " ".join(self.settings.requested_scopes)),
            ("state", pending.state),
            ("nonce", pending.nonce),
            ("code_challenge", create_s256_code_challenge(pending.code_verifier)),
            ("code_challenge_method", "S256"),
        ]
        if self.settings.kind == "franceconnect":
            params.append(("acr_values", FRANCECONNECT_ACR))
        elif self.settings.kind == "proconnect":
            acr = {"essential": True, "values": list(PROCONNECT_ACR)}
            params.append(("claims", _json({"id_token": {"acr": acr, "amr": {"essential": True}}})))
        return add_params_to_uri(metadata.authorization_endpoint, params), pending

    # -- second leg: the provider sends the person back

    def finish(self, pending: Pending, answer: Mapping[str, str]) -> Identity:
        """Check the callback's parameters, exchange the code, and return the identity."""
        if not secrets.compare_digest(str(answer.get("state", "")), pending.state):
            raise LoginRejected("the state does not match this sign-in", "state_mismatch")
        if answer.get("error"):
            # The person cancelled, or the provider refused: its words stay out of the page.
            raise LoginRejected(f"the provider answered {answer['error']}", "provider_error")
        code = answer.get("code")
        if not code:
            raise LoginRejected("the provider sent no code", "no_code")
        tokens = self._exchange(code, pending)
        id_token = tokens.get("id_token")
        access_token = tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise LoginRejected("the token answer lacks the id_token", "no_id_token")
        claims = self._validated_id_token(id_token, pending.nonce, access_token)
        identity = Identity(self.settings.slug, str(claims["sub"]), id_token, dict(claims))
        if self.metadata().userinfo_endpoint:
            userinfo = self._userinfo(access_token)
            if userinfo.get("sub") != identity.sub:
                raise LoginRejected("userinfo names another person", "userinfo_sub")
            identity.claims.update(userinfo)
        return identity

    def end_session_url(
        self, id_token: str, post_logout_redirect_uri: str, state: str
    ) -> str | None:
        """Where to send the person to end the provider's session too (None: no endpoint)."""
        endpoint = self.metadata().end_session_endpoint
        if not endpoint:
            return None
        return add_params_to_uri(
            endpoint,
            [
                ("id_token_hint", id_token),
                ("state", state),
                ("post_logout_redirect_uri", post_logout_redirect_uri),
            ],
        )

    # -- internals

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self.http.get(url)
        except ConnectorRejected as exc:
            raise ProviderMisconfigured(f"{what}: HTTP {exc.status}", "bad_discovery") from None
        except ConnectorError as exc:
            raise ProviderUnavailable(f"{what}: {exc.message}") from None
        try:
            document = response.json()
        except ValueError:
            raise ProviderMisconfigured(f"{what} is not JSON", "bad_discovery") from None
        if not isinstance(document, dict):
            raise ProviderMisconfigured(f"{what} is not a JSON object", "bad_discovery")
        return document

    def _exchange(self, code: str, pending: Pending) -> dict[str, Any]:
        # client_secret_post: the method ProConnect documents, accepted by FranceConnect.
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "code_verifier": pending.code_verifier,
        }
        try:
            response = self.http.post(
                self.metadata().token_endpoint,
                data=form,
                headers={"Accept": "application/json"},
                expected=(400, 401),
            )
        except ConnectorRejected as exc:
            raise LoginRejected(f"token endpoint: HTTP {exc.status}", "token_refused") from None
        except ConnectorError as exc:
            raise ProviderUnavailable(f"token endpoint: {exc.message}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 401 or body.get("error") == "invalid_client":
            raise ProviderMisconfigured("the provider refused our client credentials", "client")
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error", "unknown") if isinstance(body, dict) else "unknown"
            # invalid_grant: the code expired, was used already, or is not ours.
            raise LoginRejected(f"token endpoint refused the code: {error}", "code_refused")
        return body

    def _decode(self, token: str) -> Any:
        algorithms = self.metadata().id_token_algorithms
        registry = JWSRegistry(algorithms=list(algorithms) if algorithms else None)
        try:
            try:
                return jwt.decode(token, self.key_set(), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys
                return jwt.decode(token, self.key_set(refresh=True), registry=registry)
        except (JoseError, ValueError) as exc:
            raise LoginRejected(f"invalid signed token ({exc})", "bad_signature") from None

    def _validated_id_token(self, id_token: str, nonce: str, access_token: str) -> dict[str, Any]:
        decoded = self._decode(id_token)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"essential": True, "values": [self.metadata().issuer]}},
            {"nonce": nonce, "client_id": self.settings.client_id, "access_token": access_token},
        )
        try:
            claims.validate(now=int(self.clock()), leeway=LEEWAY)
        except JoseError as exc:
            raise LoginRejected(f"the id_token is not valid ({exc})", "bad_id_token") from None
        if not claims.get("sub"):
            raise LoginRejected("the id_token names nobody", "bad_id_token")
        return dict(claims)

    def _userinfo(self, access_token: str) -> dict[str, Any]:
        endpoint = self.metadata().userinfo_endpoint
        assert endpoint is not None
        try:
            response = self.http.get(
                endpoint,
                headers={
                    "Authorization": f"Bearer {access_token}",
                    "Accept": "application/jwt, application/json",
                },
            )
        except ConnectorRejected as exc:
            raise LoginRejected(f"userinfo: HTTP {exc.status}", "userinfo_refused") from None
        except ConnectorError as exc:
            raise ProviderUnavailable(f"userinfo: {exc.message}") from None
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type == "application/jwt":
            decoded = self._decode(response.text.strip())
            claims = dict(decoded.claims)
            issuer, audience = claims.get("iss"), claims.get("aud")
            if issuer is not None and issuer != self.metadata().issuer:
                raise LoginRejected("userinfo signed by another issuer", "userinfo_iss")
            audiences = audience if isinstance(audience, list) else [audience]
            if audience is not None and self.settings.client_id not in audiences:
                raise LoginRejected("userinfo meant for another client", "userinfo_aud")
            return claims
        try:
            claims = response.json()
        except ValueError:
            raise LoginRejected("userinfo is neither JSON nor a JWT", "userinfo_format") from None
        if not isinstance(claims, dict):
            raise LoginRejected("userinfo is not a JSON object", "userinfo_format")
        return claims


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
