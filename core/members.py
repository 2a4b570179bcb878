"""Members of a commune: invitations, roles, removal. Shared by the pages and the CLI."""

from __future__ import annotations

import datetime as dt

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from core import audit, auth, mail, notifications, rights
from core.db import db, utcnow
from core.models import ROLES, Commune, Invitation, Membership, User

INVITATION_LIFETIME = dt.timedelta(days=7)


class MemberError(Exception):
    """A request about a member that cannot be honoured; the message is for the admin."""


def listing_query(commune: Commune) -> Select[tuple[User, Membership]]:
    """The commune's members with their membership, by name (a page of it for the API)."""
    return (
        select(User, Membership)
        .join(Membership)
        .where(Membership.commune_id == commune.id)
        .order_by(User.name, User.id)
    )


def listing(commune: Commune) -> list[tuple[User, Membership]]:
    return [(user, membership) for user, membership in db.execute(listing_query(commune))]


def invite(
    commune: Commune, email: str, role: str, is_commune_admin: bool, by: User | None
) -> Invitation:
    """Invite ``email`` to join ``commune`` with ``role``; the link is e-mailed."""
    email = auth.normalize_email(email)
    if role not in ROLES:
        raise MemberError(_("Rôle inconnu."))
    existing = auth.find_user(email)
    if existing is not None and _membership(existing, commune) is not None:
        raise MemberError(_("Cette personne est déjà membre de la commune."))
    token, token_hash = auth.new_token()
    invitation = Invitation(
        commune_id=commune.id,
        email=email,
        role=role,
        is_commune_admin=is_commune_admin,
        token_hash=token_hash,
        invited_by_id=by.id if by is not None else None,
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    db.add(invitation)
    link = url_for("auth.invitation", token=token, _external=True)
    inviter = by.name if by is not None else _("L'équipe municipale")
    mail.queue(
        email,
        _("Invitation à rejoindre %(commune)s sur Viatic", commune=commune.name),
        _(
            "Bonjour,\n\n%(inviter)s vous invite à rejoindre l'espace de %(commune)s sur "
            "Viatic.\n\nPour accepter, ouvrez ce lien (valable 7 jours) :\n%(link)s\n\n"
            "Si vous ne vous attendiez pas à ce message, ignorez-le.",
            inviter=inviter,
            commune=commune.name,
            link=link,
        ),
        commune=commune,
    )
    audit.record(
        "member.invited",
        commune=commune,
        object_type="invitation",
        object_id=email,
        details={"email": email, "role": role, "commune_admin": is_commune_admin},
    )
    return invitation


def find_invitation(token: str) -> Invitation | None:
    """The invitation behind ``token`` if it is still valid."""
    invitation = db.scalar(
        select(Invitation).where(Invitation.token_hash == auth.token_hash(token))
    )
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at < utcnow():
        return None
    return invitation


def accept(invitation: Invitation, user: User) -> Membership:
    membership = _membership(user, invitation.commune)
    if membership is None:
        membership = Membership(
            user=user,
            commune_id=invitation.commune_id,
            role=invitation.role,
            is_commune_admin=invitation.is_commune_admin,
        )
        db.add(membership)
    invitation.accepted_at = utcnow()
    db.flush()
    audit.record(
        "member.joined",
        actor=user,
        commune=invitation.commune,
        object_type="user",
        object_id=user.id,
        details={"role": invitation.role},
    )
    notifications.notify(
        [a for a in rights.commune_admins(invitation.commune) if a.id != user.id],
        "core.member_joined",
        _("%(name)s a rejoint %(commune)s", name=user.name, commune=invitation.commune.name),
        commune=invitation.commune,
        url=url_for("admin.members", insee=invitation.commune.insee),
    )
    return membership


def _membership(user: User, commune: Commune) -> Membership | None:
    return db.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.commune_id == commune.id)
    )


def _other_admins(membership: Membership) -> int:
    return (
        db.scalar(
            select(func.count()).where(
                Membership.commune_id == membership.commune_id,
                Membership.is_commune_admin.is_(True),
                Membership.id != membership.id,
            )
        )
        or 0
    )


def change(membership: Membership, role: str, is_commune_admin: bool) -> None:
    """Change a member's role and admin flag (a commune always keeps one admin)."""
    if role not in ROLES:
        raise MemberError(_("Rôle inconnu."))
    if membership.is_commune_admin and not is_commune_admin and _other_admins(membership) == 0:
        raise MemberError(_("La commune doit garder au moins un administrateur."))
    before = {"role": membership.role, "commune_admin": membership.is_commune_admin}
    after = {"role": role, "commune_admin": is_commune_admin}
    if before == after:
        return
    membership.role = role
    membership.is_commune_admin = is_commune_admin
    audit.record(
        "member.role_changed",
        commune=membership.commune,
        object_type="user",
        object_id=membership.user_id,
        details={"email": membership.user.email, "before": before, "after": after},
    )
    from core.i18n import role_label

    notifications.notify(
        [membership.user],
        "core.role_changed",
        _(
            "Votre rôle à %(commune)s : %(role)s",
            commune=membership.commune.name,
            role=role_label(role),
        ),
        commune=membership.commune,
    )


def remove(membership: Membership) -> None:
    if membership.is_commune_admin and _other_admins(membership) == 0:
        raise MemberError(_("La commune doit garder au moins un administrateur."))
    audit.record(
        "member.removed",
        commune=membership.commune,
        object_type="user",
        object_id=membership.user_id,
        details={"email": membership.user.email, "role": membership.role},
    )
    db.delete(membership)
