"""The core's own hook implementations: it uses the plugin contract like any plugin.

Registered first by the plugin manager, under the name ``core``, and always enabled.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete

import core
from core import auth, mail, oauth2, outbox
from core.db import db, utcnow
from core.hookspecs import hookimpl
from core.models import ConnectorCall, LoginAttempt, PasswordReset
from core.types import ApiScope, Job, NotificationType, Permission, PluginInfo

ELECTED_AND_STAFF = ("maire", "adjoint", "conseiller", "agent")


@hookimpl
def viatic_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="core",
        label=_l("Socle Viatic"),
        version=core.__version__,
        description=_l("Identité, communes, droits, portail, planificateur et journal d'audit."),
        essential=True,
    )


@hookimpl
def viatic_permissions() -> list[Permission]:
    return [
        Permission(
            "core.view",
            _l("Voir l'espace de la commune"),
            ("maire", "adjoint", "conseiller", "agent", "citoyen", "partenaire"),
        ),
        Permission("core.members.view", _l("Voir la liste des membres"), ELECTED_AND_STAFF),
    ]


@hookimpl
def viatic_api_scopes() -> list[ApiScope]:
    return [
        ApiScope("openid", _l("Vous identifier")),
        ApiScope("profile", _l("Connaître votre nom et vos communes")),
        ApiScope("email", _l("Connaître votre adresse e-mail")),
        ApiScope("communes:read", _l("Voir les membres et les modules de vos communes")),
        ApiScope("notifications", _l("Lire vos notifications et les marquer comme lues")),
    ]


@hookimpl
def viatic_notification_types() -> list[NotificationType]:
    return [
        NotificationType("core.member_joined", _l("Un membre a rejoint la commune"), email=False),
        NotificationType("core.role_changed", _l("Mon rôle dans une commune a changé"), email=True),
    ]


@hookimpl
def viatic_outbox_handlers() -> dict:
    return {mail.OUTBOX_KIND: mail.deliver}


def deliver_outbox() -> None:
    outbox.deliver_due()


def forget_old_records() -> None:
    """Login attempts serve 15 minutes for throttling (a day for the admins); connector calls
    two weeks for the admins; expired reset tokens, nothing."""
    now = utcnow()
    db.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(days=1)))
    db.execute(delete(PasswordReset).where(PasswordReset.expires_at < now))
    db.execute(delete(ConnectorCall).where(ConnectorCall.at < now - dt.timedelta(days=14)))


@hookimpl
def viatic_scheduled_jobs() -> list[Job]:
    return [
        Job("deliver_outbox", deliver_outbox, "interval", {"seconds": 15}),
        Job("forget_old_records", forget_old_records, "interval", {"hours": 6}),
        Job("forget_old_sessions", auth.forget_old_sessions, "interval", {"days": 1}),
        Job("forget_old_oauth_records", oauth2.forget_expired, "interval", {"hours": 6}),
    ]
