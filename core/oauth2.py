"""Viatic as an OAuth2 authorization server and OpenID Connect provider, for its own mobile
apps and the platform's tools that sign people in through it (Chamilo's ``oauth2`` plugin...).

Built on authlib's ``AuthorizationServer``: the authorization code grant with PKCE (S256 only;
required from public clients, accepted from confidential ones), the OpenID Connect extension
(an RS256 id_token), refresh tokens with rotation and reuse detection, and revocation
(RFC 7009). The pages (consent screen, discovery document, JWKS, userinfo, the admin's and the
person's pages) are in ``core.views.oauth``.

Tokens, codes and client secrets are random strings given once and stored as
``auth.credential_digest`` (SHA-256).

Token families: an authorization code leads to an ``OAuthGrant``; every token issued from it,
and from the refresh tokens rotated since, belongs to that grant. A refresh token is used
once; presenting one already rotated (a copy in a thief's hands, or the app's after the
thief's) revokes the whole family, as does a second use of a code. Revoking the grant
revokes every token of the family in the one place the bearer check looks.

Lifetimes: access token 1 hour, refresh token 30 days (each rotation gives a new one),
authorization code 60 seconds.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import is_secure_transport
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    TokenMixin,
    grants,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import grants as oidc_grants
from flask import Flask, current_app, g, url_for
from flask import request as flask_request
from flask_babel import gettext as _
from joserfc.jwk import RSAKey
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from core import audit, auth, settings
from core.db import db, get_database, utcnow
from core.models import (
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthConsent,
    OAuthGrant,
    OAuthToken,
    OidcSigningKey,
    User,
)
from core.tokens import Bearer

log = logging.getLogger(__name__)

ACCESS_TOKEN_LIFETIME = dt.timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = dt.timedelta(days=30)
CODE_LIFETIME = dt.timedelta(seconds=60)
# Prefixes tell the kinds apart (and the bearer check skips what is not its own).
ACCESS_PREFIX = "vtc_oat_"
REFRESH_PREFIX = "vtc_ort_"
SECRET_PREFIX = "vtc_ocs_"
SIGNING_ALGORITHM = "RS256"
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post")

# Why a family was revoked (OAuthGrant.revoked_reason).
REVOKED_BY_CLIENT = "revoked_by_client"
REVOKED_BY_USER = "revoked_by_user"
CLIENT_DISABLED = "client_disabled"
REFRESH_TOKEN_REUSED = "refresh_token_reused"
CODE_REUSED = "code_reused"


def init_app(app: Flask) -> None:
    """The app's authorization server, and the check of its access tokens on the API."""
    app.extensions["viatic.oauth2"] = _build_server()
    app.extensions.setdefault("viatic.bearer_authenticators", []).append(authenticate)


def server() -> Server:
    return current_app.extensions["viatic.oauth2"]


def declared_scopes() -> dict[str, Any]:
    """The scopes the core and the plugins declare (``viatic_api_scopes``), by name."""
    return current_app.extensions["viatic.plugins"].api_scopes


def issuer() -> str:
    """The issuer identifier, which the discovery document's addresses start with:
    ``VIATIC_OIDC_ISSUER`` (``https://viatic.example.fr`` behind a proxy that terminates
    TLS), or else the scheme and host of the request."""
    configured = current_app.config.get("OIDC_ISSUER")
    return (configured or flask_request.host_url).rstrip("/")


# --- authlib's models, over the tables --------------------------------------------------------


class Client(ClientMixin):
    def __init__(self, row: OAuthClient) -> None:
        self.row = row

    @property
    def client_id(self) -> str:
        return self.row.client_id

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.row.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scope if the client may ask for all of it, else None (which authlib
        answers with ``invalid_scope``); asking for no scope is refused too."""
        requested = scope_to_list(scope) or []
        allowed = set(self.row.scopes.split())
        if not requested or not set(requested) <= allowed:
            return None
        return list_to_scope(list(dict.fromkeys(requested)))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.row.secret_hash
        return stored is not None and hmac.compare_digest(
            stored, auth.credential_digest(client_secret)
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.row.confidential:
            return method in CONFIDENTIAL_METHODS
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class Code(AuthorizationCodeMixin):
    def __init__(self, row: OAuthAuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int | None:
        return int(self.row.auth_time.timestamp()) if self.row.auth_time else None

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class Token(TokenMixin):
    """A row of ``oauth_token`` as found by one of its two values (``kind``)."""

    def __init__(self, row: OAuthToken, family: OAuthGrant, kind: str) -> None:
        self.row = row
        self.family = family
        self.kind = kind

    def check_client(self, client: Client) -> bool:
        return self.family.client_id == client.row.id

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int(ACCESS_TOKEN_LIFETIME.total_seconds())

    def is_expired(self) -> bool:
        return self.row.access_expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.family.revoked_at is not None


# --- The server and its grants ----------------------------------------------------------------


class _Request(FlaskOAuth2Request):
    """authlib refuses a request whose URL is not https (or loopback). TLS ends at the
    reverse proxy (see the README), so the app itself sees http:// URLs; and outside
    development the session cookie is Secure, so the portal is not usable without TLS."""

    def __init__(self, request: Any) -> None:
        url = request.url
        if not is_secure_transport(url):
            url = "https://" + url.split("://", 1)[-1]
        OAuth2Request.__init__(self, request.method, url, headers=request.headers)
        self._request = request
        self.payload = FlaskOAuth2Payload(request)


class Server(AuthorizationServer):
    def create_oauth2_request(self, request: Any) -> _Request:
        return _Request(flask_request)

    def query_client(self, client_id: str) -> Client | None:
        """The registered, enabled client; a disabled one is unknown."""
        row = db.scalar(
            select(OAuthClient).where(
                OAuthClient.client_id == client_id, OAuthClient.enabled.is_(True)
            )
        )
        return Client(row) if row is not None else None

    def validate_requested_scope(self, scope: str | None) -> None:
        """Every requested scope is one the core or a plugin declares."""
        requested = scope_to_list(scope) or []
        if not requested:
            raise InvalidScopeError("A scope is required.")
        if not set(requested) <= set(declared_scopes()):
            # Not echoed: an error description must be plain ASCII.
            raise InvalidScopeError("A requested scope is unknown.")

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        now = utcnow()
        if request.refresh_token is not None:  # a rotation: the same family
            family_id = request.refresh_token.family.id
        else:  # an authorization code: a new family
            code = request.authorization_code.row
            family = OAuthGrant(
                client_id=code.client_id, user_id=code.user_id, scope=token.get("scope", "")
            )
            db.add(family)
            db.flush()
            code.grant_id = family_id = family.id
        refresh = token.get("refresh_token")
        db.add(
            OAuthToken(
                grant_id=family_id,
                access_token_hash=auth.credential_digest(token["access_token"]),
                refresh_token_hash=auth.credential_digest(refresh) if refresh else None,
                scope=token.get("scope", ""),
                issued_at=now,
                access_expires_at=now + dt.timedelta(seconds=token["expires_in"]),
                refresh_expires_at=now + REFRESH_TOKEN_LIFETIME if refresh else None,
            )
        )
        db.flush()


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        now = utcnow()
        db.add(
            OAuthAuthorizationCode(
                code_hash=auth.credential_digest(code),
                client_id=request.client.row.id,
                user_id=request.user.id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=request.user.last_login_at,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        row = db.scalar(
            select(OAuthAuthorizationCode).where(
                OAuthAuthorizationCode.code_hash == auth.credential_digest(code),
                OAuthAuthorizationCode.client_id == client.row.id,
            )
        )
        if row is None:
            return None
        if row.used_at is not None:
            # RFC 6749 §4.1.2: a code used twice revokes what it led to.
            if row.grant_id is not None and revoke_families(
                select(OAuthGrant.id).where(OAuthGrant.id == row.grant_id), CODE_REUSED
            ):
                _audit_reuse("oauth.code_reused", row.user_id, client.row, row.grant_id)
            return None
        if row.expires_at <= utcnow():
            return None
        return Code(row)

    def authenticate_user(self, authorization_code: Code) -> User:
        """Take the code for good, in one statement: of two concurrent uses, one wins."""
        taken = db.execute(
            update(OAuthAuthorizationCode)
            .where(
                OAuthAuthorizationCode.id == authorization_code.row.id,
                OAuthAuthorizationCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        user = db.get(User, authorization_code.row.user_id)
        if taken.rowcount != 1 or user is None or not user.is_active:
            raise InvalidGrantError("Invalid 'code' in request.")
        return user

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Kept, marked used: a second use must be recognised (and is forgotten later)."""


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        if not refresh_token.startswith(REFRESH_PREFIX):
            return None
        found = db.execute(
            select(OAuthToken, OAuthGrant)
            .join(OAuthGrant, OAuthGrant.id == OAuthToken.grant_id)
            .where(OAuthToken.refresh_token_hash == auth.credential_digest(refresh_token))
        ).one_or_none()
        if found is None:
            return None
        token = Token(found[0], found[1], "refresh_token")
        client = self.request.client
        if not token.check_client(client) or token.is_revoked():
            return None
        if token.row.refresh_used_at is not None:
            _reused(token, client)
            return None
        if token.row.refresh_expires_at is None or token.row.refresh_expires_at <= utcnow():
            return None
        return token

    def authenticate_user(self, refresh_token: Token) -> User:
        """Rotate: mark the refresh token used, in one statement. Losing that race to a
        concurrent use is a reuse too."""
        rotated = db.execute(
            update(OAuthToken)
            .where(OAuthToken.id == refresh_token.row.id, OAuthToken.refresh_used_at.is_(None))
            .values(refresh_used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if rotated.rowcount != 1:
            _reused(refresh_token, self.request.client)
            raise InvalidGrantError("This refresh token was already used.")
        user = db.get(User, refresh_token.family.user_id)
        if user is None or not user.is_active:
            raise InvalidGrantError("The account of this token is closed.")
        return user

    def issue_token(self, user: User, refresh_token: Token) -> dict[str, Any]:
        scope = self.request.payload.scope or refresh_token.get_scope()
        return self.generate_token(user=user, scope=scope, include_refresh_token=True)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Done by ``authenticate_user``: the used token stays, to recognise a reuse."""


def _reused(token: Token, client: Client) -> None:
    """A rotated refresh token came back: revoke the whole family, and say so."""
    if revoke_families(
        select(OAuthGrant.id).where(OAuthGrant.id == token.family.id), REFRESH_TOKEN_REUSED
    ):
        log.warning(
            "Refresh token of family %s reused by client %s: family revoked",
            token.family.id,
            client.client_id,
        )
        _audit_reuse(
            "oauth.refresh_token_reused", token.family.user_id, client.row, token.family.id
        )


def _audit_reuse(action: str, user_id: int, client: OAuthClient, family_id: int) -> None:
    audit.record(
        action,
        actor=db.get(User, user_id),
        commune=None,
        object_type="oauth_client",
        object_id=client.client_id,
        details={"client": client.name, "family": family_id, "family_revoked": True},
    )


class Pkce(CodeChallenge):
    """PKCE with S256 only, and required from public clients at the authorization request
    (authlib would only notice at the token endpoint)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if not challenge and not grant.request.client.row.confidential:
            raise InvalidRequestError("PKCE (code_challenge with S256) is required.")
        if challenge and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("The code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class OpenIDCode(oidc_grants.OpenIDCode):
    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return (
            db.scalar(
                select(OAuthAuthorizationCode.id)
                .where(
                    OAuthAuthorizationCode.client_id == request.client.row.id,
                    OAuthAuthorizationCode.nonce == nonce,
                )
                .limit(1)
            )
            is not None
        )

    def get_client_algorithm(self, client: Client) -> str:
        return SIGNING_ALGORITHM

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return signing_key()

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": SIGNING_ALGORITHM, "kid": signing_key().kid or ""}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": issuer(), "aud": [client.get_client_id()]}

    def generate_user_info(self, user: User, scope: str) -> dict[str, Any]:
        return user_claims(user, scope_to_list(scope) or [])


class Revocation(RevocationEndpoint):
    """RFC 7009. A refresh token revokes its family (RFC 7009 §2.1: the access tokens of the
    same grant too); an access token revokes itself and the refresh token issued with it."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        if token_string.startswith(ACCESS_PREFIX):
            column, kind = OAuthToken.access_token_hash, "access_token"
        elif token_string.startswith(REFRESH_PREFIX):
            column, kind = OAuthToken.refresh_token_hash, "refresh_token"
        else:
            return None
        found = db.execute(
            select(OAuthToken, OAuthGrant)
            .join(OAuthGrant, OAuthGrant.id == OAuthToken.grant_id)
            .where(column == auth.credential_digest(token_string))
        ).one_or_none()
        return Token(found[0], found[1], kind) if found is not None else None

    def revoke_token(self, token: Token, request: Any) -> None:
        if token.kind == "refresh_token":
            revoke_families(
                select(OAuthGrant.id).where(OAuthGrant.id == token.family.id), REVOKED_BY_CLIENT
            )
        elif token.row.revoked_at is None:
            token.row.revoked_at = utcnow()


def _build_server() -> Server:
    authorization = Server()
    authorization.register_token_generator(
        "default",
        BearerTokenGenerator(
            lambda **_: ACCESS_PREFIX + secrets.token_urlsafe(32),
            lambda **_: REFRESH_PREFIX + secrets.token_urlsafe(32),
            int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        ),
    )
    authorization.register_grant(AuthorizationCodeGrant, [Pkce(required=True), OpenIDCode()])
    authorization.register_grant(RefreshTokenGrant)
    authorization.register_endpoint(Revocation)
    return authorization


PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")
# The consent form's own fields, beside the app's parameters.
FORM_FIELDS = ("csrf_token", "decision")


def unreadable_request(values: Any, headers: Any) -> OAuth2Error | None:
    """The error of a request whose parameters, or HTTP Basic credentials, are not printable
    ASCII, as RFC 6749 (appendix A) defines them all. authlib would echo some of them into
    an error description, which it refuses to build from anything else (a 500), and
    PostgreSQL refuses a NUL character."""
    for key in values:
        if key not in FORM_FIELDS and not all(
            PRINTABLE_ASCII.match(value) for value in values.getlist(key)
        ):
            return InvalidRequestError("The parameters must be printable ASCII.")
    header = headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            credentials = base64.b64decode(header[6:].strip(), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            credentials = "\x00"
        if not PRINTABLE_ASCII.match(credentials):
            return InvalidClientError(
                status_code=401, description="The client credentials cannot be read."
            )
    return None


# --- Families -------------------------------------------------------------------------------


def revoke_families(ids: Any, reason: str) -> int:
    """Revoke the grants whose ids ``ids`` (a select) gives, with every token issued from
    them; return how many were still active."""
    now = utcnow()
    result = db.execute(
        update(OAuthGrant)
        .where(OAuthGrant.id.in_(ids), OAuthGrant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        update(OAuthToken)
        .where(OAuthToken.grant_id.in_(ids), OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# --- The bearer check of the API --------------------------------------------------------------


def _access_token_query() -> Any:
    """The person of a valid access token, with their memberships and communes (rights),
    the token's scope and the app's client_id: one statement. Valid means: not expired,
    neither it nor its family revoked, the app enabled and the account active."""
    return (
        auth.person_of_request(OAuthToken.scope, OAuthClient.client_id)
        .join(OAuthGrant, OAuthGrant.user_id == User.id)
        .join(OAuthToken, OAuthToken.grant_id == OAuthGrant.id)
        .join(OAuthClient, OAuthClient.id == OAuthGrant.client_id)
        .where(
            OAuthToken.access_token_hash == bindparam("hash"),
            OAuthToken.revoked_at.is_(None),
            OAuthToken.access_expires_at > bindparam("now"),
            OAuthGrant.revoked_at.is_(None),
            OAuthClient.enabled.is_(True),
            User.is_active.is_(True),
        )
    )


ACCESS_TOKEN = _access_token_query()


def authenticate(raw: str) -> Bearer | None:
    """The bearer of an access token this server issued (``viatic.bearer_authenticators``)."""
    if not raw.startswith(ACCESS_PREFIX):
        return None
    row = (
        db.execute(ACCESS_TOKEN, {"hash": auth.credential_digest(raw), "now": utcnow()})
        .unique()
        .one_or_none()
    )
    if row is None:
        return None
    user, g.unread_notifications, scope, client_id = row
    return Bearer(user, frozenset(scope.split()), "oauth", client_id)


def user_claims(user: User, scopes: Iterable[str]) -> dict[str, Any]:
    """What the id_token and userinfo say of ``user`` under ``scopes``."""
    scopes = set(scopes)
    claims: dict[str, Any] = {"sub": str(user.id)}
    if "profile" in scopes:
        claims["name"] = user.name
        if user.locale:
            claims["locale"] = user.locale
    if "email" in scopes:
        claims["email"] = user.email
    return claims


# --- The signing key --------------------------------------------------------------------------
#
# Generated on first use and stored in the database, its private part encrypted like module
# secrets, rather than given in an environment variable: nothing to configure, the same key
# for every worker (they share the database), kept across restarts, and a new generation can
# be added without redeploying. The unique ``generation`` settles a race between two
# workers creating the first key: the loser reads the winner's.


def signing_key() -> RSAKey:
    """The key that signs id_tokens (the newest generation), created if there is none."""
    cached = g.get("_viatic_signing_key")
    if cached is not None:
        return cached
    row = db.scalar(
        select(OidcSigningKey)
        .where(OidcSigningKey.retired_at.is_(None))
        .order_by(OidcSigningKey.generation.desc())
        .limit(1)
    )
    key = _private_key(row) if row is not None else None
    if key is None:
        key = _create_key((row.generation + 1) if row is not None else 1)
    g._viatic_signing_key = key
    return key


def _private_key(row: OidcSigningKey) -> RSAKey | None:
    cache = current_app.extensions.setdefault("viatic.oidc_keys", {})
    if row.kid not in cache:
        clear = settings.decrypt(row.private_jwk)
        if clear is None:
            log.warning("OIDC signing key %s cannot be decrypted: making a new one", row.kid)
            return None
        cache[row.kid] = RSAKey.import_key(json.loads(clear))
    return cache[row.kid]


def _create_key(generation: int) -> RSAKey:
    """Made in a session of its own, committed at once, before the request writes anything
    (SQLite would otherwise wait on the request's own lock)."""
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": SIGNING_ALGORITHM})
    key.ensure_kid()
    with get_database().sessionmaker() as session:
        session.add(
            OidcSigningKey(
                generation=generation,
                kid=key.kid,
                algorithm=SIGNING_ALGORITHM,
                public_jwk=key.as_dict(private=False),
                private_jwk=settings.encrypt(json.dumps(key.as_dict(private=True))),
            )
        )
        try:
            session.commit()
        except IntegrityError:  # another worker made it first
            session.rollback()
            row = session.scalar(
                select(OidcSigningKey).where(OidcSigningKey.generation == generation)
            )
            found = _private_key(row) if row is not None else None
            if found is None:
                raise
            return found
    current_app.extensions.setdefault("viatic.oidc_keys", {})[key.kid] = key
    return key


def public_key_set() -> dict[str, Any]:
    """The JWKS: the public part of every key not retired (a token signed by the previous
    generation stays verifiable)."""
    signing_key()  # there is always one to publish
    keys = db.scalars(
        select(OidcSigningKey.public_jwk)
        .where(OidcSigningKey.retired_at.is_(None))
        .order_by(OidcSigningKey.generation.desc())
    )
    return {"keys": list(keys)}


def discovery_document() -> dict[str, Any]:
    """OpenID Connect Discovery 1.0, for ``/.well-known/openid-configuration``."""
    methods = list(AUTH_METHODS)
    base = issuer()
    return {
        "issuer": base,
        "authorization_endpoint": base + url_for("oauth.authorize"),
        "token_endpoint": base + url_for("oauth.token"),
        "userinfo_endpoint": base + url_for("oauth.userinfo"),
        "jwks_uri": base + url_for("oauth.jwks"),
        "revocation_endpoint": base + url_for("oauth.revoke"),
        "scopes_supported": sorted(declared_scopes()),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "name",
            "locale",
            "email",
        ],
        "prompt_values_supported": ["none", "consent"],
    }


# --- Consent ----------------------------------------------------------------------------------


def consented_scopes(user: User, client: OAuthClient) -> set[str]:
    scopes = db.scalar(
        select(OAuthConsent.scopes).where(
            OAuthConsent.user_id == user.id, OAuthConsent.client_id == client.id
        )
    )
    return set(scopes.split()) if scopes else set()


def give_consent(user: User, client: OAuthClient, scopes: Iterable[str]) -> None:
    """Remember that ``user`` approved ``scopes`` for ``client`` (beside those approved
    before), and record it."""
    scopes = list(scopes)
    consent = db.scalar(
        select(OAuthConsent).where(
            OAuthConsent.user_id == user.id, OAuthConsent.client_id == client.id
        )
    )
    if consent is None:
        consent = OAuthConsent(user_id=user.id, client_id=client.id, scopes="")
        db.add(consent)
    consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scopes)))
    consent.updated_at = utcnow()
    audit.record(
        "oauth.consent_given",
        actor=user,
        commune=None,
        object_type="oauth_client",
        object_id=client.client_id,
        details={"client": client.name, "scopes": sorted(scopes)},
    )


def refuse_consent(user: User, client: OAuthClient, scopes: Iterable[str]) -> None:
    audit.record(
        "oauth.consent_refused",
        actor=user,
        commune=None,
        object_type="oauth_client",
        object_id=client.client_id,
        details={"client": client.name, "scopes": sorted(scopes)},
    )


def authorised_apps(user: User) -> list[OAuthConsent]:
    """The apps ``user`` approved, by name."""
    return list(
        db.scalars(
            select(OAuthConsent)
            .join(OAuthClient, OAuthClient.id == OAuthConsent.client_id)
            .options(joinedload(OAuthConsent.client))
            .where(OAuthConsent.user_id == user.id)
            .order_by(OAuthClient.name)
        )
    )


def withdraw(user: User, consent: OAuthConsent) -> int:
    """Forget the consent and revoke every token the app holds for ``user``."""
    client = consent.client
    revoked = revoke_families(
        select(OAuthGrant.id).where(
            OAuthGrant.user_id == user.id, OAuthGrant.client_id == client.id
        ),
        REVOKED_BY_USER,
    )
    db.delete(consent)
    audit.record(
        "oauth.consent_revoked",
        actor=user,
        commune=None,
        object_type="oauth_client",
        object_id=client.client_id,
        details={"client": client.name, "families_revoked": revoked},
    )
    return revoked


# --- Clients (the platform admin's) -----------------------------------------------------------

PRIVATE_USE_SCHEME = re.compile(r"^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$")
LOOPBACK = ("127.0.0.1", "[::1]", "localhost")


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be a redirect URI, or None: https, http on the machine itself
    (RFC 8252 §7.3), or a private-use scheme of a phone app (``fr.commune.app:/retour``,
    RFC 8252 §7.1); absolute, without fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not PRINTABLE_ASCII.match(uri) or " " in uri:
        return _("« %(uri)s » n'est pas une adresse complète.", uri=uri)
    if parts.fragment or "#" in uri:
        return _("« %(uri)s » ne doit pas contenir de fragment (#…).", uri=uri)
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return None
    if scheme == "http" and parts.netloc.split(":")[0] in LOOPBACK:
        return None
    if scheme not in ("http", "https") and PRIVATE_USE_SCHEME.match(scheme) and parts.path:
        return None
    return _(
        "« %(uri)s » : utilisez https://, http:// vers 127.0.0.1 ou localhost, ou le schéma "
        "propre d'une application mobile (par exemple fr.commune.app:/retour).",
        uri=uri,
    )


def form_action_source(redirect_uri: str) -> str:
    """The CSP source that lets the consent form lead on to ``redirect_uri``."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def new_secret() -> tuple[str, str]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    return secret, auth.credential_digest(secret)


def client_audit(row: OAuthClient) -> dict[str, Any]:
    """What the audit log keeps of a client: everything but the secret."""
    return {
        "client_id": row.client_id,
        "name": row.name,
        "confidential": row.confidential,
        "redirect_uris": list(row.redirect_uris),
        "scopes": row.scopes,
        "enabled": row.enabled,
    }


def create_client(
    name: str, confidential: bool, redirect_uris: list[str], scopes: Iterable[str]
) -> tuple[OAuthClient, str | None]:
    """A new client, and its secret in clear (None for a public client), shown once."""
    secret, secret_hash = new_secret() if confidential else (None, None)
    row = OAuthClient(
        client_id=secrets.token_urlsafe(18),
        name=name,
        confidential=confidential,
        secret_hash=secret_hash,
        secret_created_at=utcnow() if confidential else None,
        redirect_uris=redirect_uris,
        scopes=" ".join(sorted(set(scopes))),
        enabled=True,
    )
    db.add(row)
    db.flush()
    audit.record(
        "oauth_client.created",
        commune=None,
        object_type="oauth_client",
        object_id=row.client_id,
        details={"after": client_audit(row)},
    )
    return row, secret


def update_client(
    row: OAuthClient, name: str, redirect_uris: list[str], scopes: Iterable[str], enabled: bool
) -> int:
    """Change a client; disabling it revokes every token it holds. Returns how many
    families were revoked."""
    before = client_audit(row)
    row.name = name
    row.redirect_uris = redirect_uris
    row.scopes = " ".join(sorted(set(scopes)))
    row.enabled = enabled
    revoked = 0
    if before["enabled"] and not enabled:
        revoked = revoke_families(
            select(OAuthGrant.id).where(OAuthGrant.client_id == row.id), CLIENT_DISABLED
        )
    audit.record(
        "oauth_client.saved",
        commune=None,
        object_type="oauth_client",
        object_id=row.client_id,
        details={"before": before, "after": client_audit(row), "families_revoked": revoked},
    )
    return revoked


def regenerate_secret(row: OAuthClient) -> str:
    """A new secret for a confidential client; the old one stops working at once."""
    secret, row.secret_hash = new_secret()
    row.secret_created_at = utcnow()
    audit.record(
        "oauth_client.secret_regenerated",
        commune=None,
        object_type="oauth_client",
        object_id=row.client_id,
        details={"client": row.name},
    )
    return secret


def active_families() -> dict[int, int]:
    """How many people each client holds a live authorisation of, by client id."""
    rows = db.execute(
        select(OAuthGrant.client_id, func.count(func.distinct(OAuthGrant.user_id)))
        .join(OAuthToken, OAuthToken.grant_id == OAuthGrant.id)
        .where(
            OAuthGrant.revoked_at.is_(None),
            OAuthToken.revoked_at.is_(None),
            OAuthToken.refresh_expires_at > utcnow(),
        )
        .group_by(OAuthGrant.client_id)
    )
    return {client_id: count for client_id, count in rows}


def forget_expired() -> None:
    """Codes a day after they expired; tokens once both their values expired (a rotated
    refresh token is kept until then, to recognise its reuse); families with no token left."""
    now = utcnow()
    db.execute(
        delete(OAuthAuthorizationCode).where(
            OAuthAuthorizationCode.expires_at < now - dt.timedelta(days=1)
        )
    )
    db.execute(
        delete(OAuthToken).where(
            OAuthToken.access_expires_at < now,
            (OAuthToken.refresh_expires_at.is_(None)) | (OAuthToken.refresh_expires_at < now),
        )
    )
    db.execute(
        delete(OAuthGrant).where(
            OAuthGrant.created_at < now - dt.timedelta(days=1),
            ~select(OAuthToken.id).where(OAuthToken.grant_id == OAuthGrant.id).exists(),
            ~select(OAuthAuthorizationCode.id)
            .where(OAuthAuthorizationCode.grant_id == OAuthGrant.id)
            .exists(),
        )
    )
