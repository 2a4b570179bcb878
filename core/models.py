"""The core's tables: territory, people, rights, modules, audit, outbox, notifications, mail."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.db import Base, utcnow

# The roles a membership can have; their labels are in core.i18n.
ROLES = ("maire", "adjoint", "conseiller", "agent", "citoyen", "partenaire")


# --- Territory (Etalab "découpage administratif") -------------------------------------------


class Region(Base):
    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Departement(Base):
    __tablename__ = "departement"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))

    region: Mapped[Region] = relationship()


class Epci(Base):
    """An intercommunality (communauté de communes, d'agglomération, urbaine, métropole)."""

    __tablename__ = "epci"

    siren: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    population: Mapped[int | None]

    members: Mapped[list[Commune]] = relationship(back_populates="epci", order_by="Commune.name")


class Commune(Base):
    """A tenant: everything a municipal team does lives under one commune."""

    __tablename__ = "commune"

    id: Mapped[int] = mapped_column(primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    siren: Mapped[str | None] = mapped_column(String(9))
    postcodes: Mapped[list[str]] = mapped_column(default=list)
    departement_code: Mapped[str | None] = mapped_column(ForeignKey("departement.code"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epci.siren"), index=True)
    population: Mapped[int | None]
    # Bumped whenever a module is enabled or disabled or the rights table changes, so that
    # every worker's caches of this commune notice it without talking to the others.
    config_version: Mapped[int] = mapped_column(default=0)

    departement: Mapped[Departement | None] = relationship()
    region: Mapped[Region | None] = relationship()
    epci: Mapped[Epci | None] = relationship(back_populates="members")

    def __repr__(self) -> str:
        return f"<Commune {self.insee} {self.name}>"


# --- People ----------------------------------------------------------------------------------


def new_security_stamp() -> str:
    return secrets.token_hex(16)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    # Changing it (password change or reset) signs out every session of this person.
    security_stamp: Mapped[str] = mapped_column(String(32), default=new_security_stamp)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    # Second factor (TOTP, see core.totp): the secret, encrypted, set when enrolment starts;
    # in force once confirmed with a code (``totp_enabled_at``). ``totp_last_step`` is the
    # 30-second step of the last code accepted: no code of that step or before is taken again.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[dt.datetime | None]
    totp_last_step: Mapped[int | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(Base):
    """A person's place in a commune: one role, and maybe the commune-admin flag."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "commune_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    commune_id: Mapped[int] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    is_commune_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    commune: Mapped[Commune] = relationship()


class Invitation(Base):
    """An e-mailed invitation to join a commune; the token is stored hashed."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    is_commune_admin: Mapped[bool] = mapped_column(default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]

    commune: Mapped[Commune] = relationship()


class PasswordReset(Base):
    """A single-use password reset token, stored hashed."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class RecoveryCode(Base):
    """A single-use code that stands in for the TOTP code when the phone is lost; stored
    hashed. A new set replaces the old one."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]


class UserSession(Base):
    """One signed-in browser. The session cookie holds a random ``sid``, stored here hashed;
    a session whose row is gone or revoked is signed out at its next request."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Refreshed at most every few minutes (see core.auth.LAST_SEEN_EVERY), not at every request.
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class PersonalAccessToken(Base):
    """A token a person made for their own scripts: their rights, narrowed to ``scopes``,
    until ``expires_at``. Only its hash is kept; ``prefix`` lets the person recognise it."""

    __tablename__ = "personal_access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(1000))  # space-separated
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    # Refreshed at most every few minutes, like a session's last_seen_at.
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class IdentityProvider(Base):
    """An OpenID Connect provider registered from the platform admin page (those given in
    ``VIATIC_OIDC_PROVIDERS`` are not stored). The client secret is stored encrypted."""

    __tablename__ = "identity_provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # proconnect, franceconnect or generic
    label: Mapped[str] = mapped_column(String(100))
    discovery_url: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(500), default="")  # empty: the kind's defaults
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FederatedIdentity(Base):
    """A person's identity at a provider. ``sub`` is pairwise (it differs from one provider,
    and one client, to another), so only (provider, sub) names someone."""

    __tablename__ = "federated_identity"
    __table_args__ = (UniqueConstraint("provider", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(40))
    sub: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    # What the provider last said that the portal shows: SIRET, organisation, names.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class IdentityLinkRequest(Base):
    """A federated identity waiting to be linked to the existing account of its e-mail
    address, until the person proves that account is theirs (its password, or a link sent
    to it). ``browser_token_hash`` ties the request to the browser that signed in at the
    provider; ``mail_token_hash`` is the e-mailed link's."""

    __tablename__ = "identity_link_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    sub: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    browser_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mail_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """One login attempt, kept for throttling (per account and per address)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    succeeded: Mapped[bool]
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- Viatic as OAuth2 authorization server and OpenID provider (see core.oauth2) ----------------


class OAuthClient(Base):
    """An app registered by the platform admin: Viatic's mobile apps, a tool of the platform
    that signs people in through Viatic. A confidential client holds a secret, stored only
    as a hash; a public one (a phone app) has none and must use PKCE."""

    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    confidential: Mapped[bool] = mapped_column(default=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    # Compared exactly with the redirect_uri of each request.
    redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    scopes: Mapped[str] = mapped_column(String(1000), default="")  # space-separated
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    secret_created_at: Mapped[dt.datetime | None]


class OAuthConsent(Base):
    """The scopes a person approved for an app: asked again only for scopes beyond them."""

    __tablename__ = "oauth_consent"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[str] = mapped_column(String(1000))  # space-separated
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    client: Mapped[OAuthClient] = relationship()


class OAuthGrant(Base):
    """A token family: what one authorization code led to. Every access and refresh token
    rotated from it belongs to it, and revoking it revokes them all at once."""

    __tablename__ = "oauth_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    # Why: revoked by the app, by the person, client disabled, refresh token reused...
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class OAuthAuthorizationCode(Base):
    """A single-use, short-lived authorization code (stored hashed). Kept after its use, so
    that a second use is recognised and revokes the family it led to."""

    __tablename__ = "oauth_authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str | None] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(1000))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_grant.id", ondelete="CASCADE"))


class OAuthToken(Base):
    """An access token and the refresh token issued with it (both stored hashed). A refresh
    token is used once: ``refresh_used_at`` marks it rotated, and presenting it again
    revokes its whole family."""

    __tablename__ = "oauth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_grant.id", ondelete="CASCADE"), index=True
    )
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(1000))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    access_expires_at: Mapped[dt.datetime]
    refresh_expires_at: Mapped[dt.datetime | None]
    refresh_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    grant: Mapped[OAuthGrant] = relationship()


class OidcSigningKey(Base):
    """A key that signs the id_tokens (RS256). The private part is encrypted like module
    secrets; the public part is published at /oauth/jwks. The highest ``generation`` signs;
    the unique generation lets two workers race to create the first one safely."""

    __tablename__ = "oidc_signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(unique=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(10))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(default=dict)
    private_jwk: Mapped[str] = mapped_column(Text)  # encrypted (core.settings.encrypt)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None]


# --- Modules and rights ------------------------------------------------------------------------


class CommuneModule(Base):
    """Whether a plugin is enabled for a commune, and the commune's settings for it."""

    __tablename__ = "commune_module"
    __table_args__ = (UniqueConstraint("commune_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), index=True
    )
    plugin: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=False)
    # Secret values are stored encrypted (see core.settings).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The last failure of the module's work for the commune, for its admin: what failed
    # (``core.modules.record_error``) stays until that same work succeeds or the admin
    # clears it.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None]
    last_error_source: Mapped[str | None] = mapped_column(String(200))


class CommuneCapability(Base):
    """Which enabled plugin provides a capability (``video``, ``lms``...) for a commune."""

    __tablename__ = "commune_capability"
    __table_args__ = (UniqueConstraint("commune_id", "capability"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    capability: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(64))


class RolePermission(Base):
    """A commune's change to the default role→permission table (granted or withdrawn)."""

    __tablename__ = "role_permission"
    __table_args__ = (UniqueConstraint("commune_id", "role", "permission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    permission: Mapped[str] = mapped_column(String(100))
    granted: Mapped[bool]


# --- Audit ------------------------------------------------------------------------------------


class AuditEvent(Base):
    """An append-only record of a state change. No foreign keys: it outlives what it names."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_commune_at", "commune_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None]
    actor: Mapped[str | None] = mapped_column(String(254))
    commune_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(100))
    module: Mapped[str] = mapped_column(String(64), default="core")
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("audit events can be neither changed nor deleted")


# --- Outbox, notifications, mail, scheduler ---------------------------------------------------


class OutboxMessage(Base):
    """A write to an external system, saved with the local change and delivered later."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status_next", "status", "next_attempt_at"),)

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]


class NotificationMute(Base):
    """A notification type a person chose not to receive."""

    __tablename__ = "notification_mute"
    __table_args__ = (UniqueConstraint("user_id", "type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(100))


class EmailMessage(Base):
    """An outgoing e-mail. Bodies are kept only by the development mailbox backend."""

    __tablename__ = "email_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    # An invitation a calendar app can add (iMIP, RFC 6047): iCalendar with METHOD:REQUEST,
    # sent as a text/calendar alternative of the text; dropped once sent, as the body.
    calendar: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class SchedulerLock(Base):
    """A lease on a scheduled job, so that two scheduler processes never run it at once."""

    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    locked_until: Mapped[dt.datetime]


class JobRun(Base):
    """The last runs of scheduled jobs, for the admins' status pages."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_name_started", "name", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class ConnectorCall(Base):
    """One call of a connector to an external system (see connectors/http.py): what the
    platform admin reads when a tool misbehaves. No body, no header, secrets masked."""

    __tablename__ = "connector_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    connector: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[int | None]
    duration_ms: Mapped[int]
    attempt: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
