"""Signing in (with its second step) and out, password reset, and accepting an invitation."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from core import audit, auth, federation, mail, members, throttle, totp
from core.db import db, utcnow
from core.forms import (
    AcceptInvitationForm,
    ActionForm,
    LoginForm,
    NewPasswordForm,
    RecoveryCodeForm,
    ResetRequestForm,
    TotpCodeForm,
)
from core.models import PasswordReset, User
from core.rights import public

bp = Blueprint("auth", __name__)

RESET_LIFETIME = dt.timedelta(hours=1)
MAX_RESETS_PER_HOUR = 3


def safe_next(target: str | None) -> str | None:
    """Only paths on this site: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/connexion", methods=["GET", "POST"])
@public
def login() -> Any:
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    error = None
    if request.method == "POST":
        if not form.validate():
            status = 400
        else:
            wait = throttle.wait_before_login(
                auth.normalize_email(form.email.data), auth.client_ip()
            )
            if wait is not None:
                error = _(
                    "Trop de tentatives de connexion. Par sécurité, réessayez dans "
                    "%(minutes)d minutes, ou réinitialisez votre mot de passe.",
                    minutes=_minutes(wait),
                )
                status = 429
            else:
                user = auth.authenticate(form.email.data, form.password.data)
                if user is not None:
                    next_url = safe_next(form.next.data)
                    second_step = auth.begin_login(user, next_url)
                    db.commit()
                    return second_step or redirect(next_url or url_for("public.home"))
                db.commit()
                error = _("Adresse e-mail ou mot de passe incorrect.")
                status = 401
    return render_template(
        "auth/login.html", form=form, error=error, providers=federation.providers().values()
    ), status


def _minutes(wait: dt.timedelta) -> int:
    return math.ceil(wait.total_seconds() / 60)


@bp.route("/connexion/code", methods=["GET", "POST"])
@public
def second_factor() -> Any:
    """The second step of signing in: the code of the person's app, or a recovery code.
    Wrong codes count as failed sign-ins of the account (same throttle) and are audited."""
    pending = auth.pending_login()
    if pending is None:
        flash(
            _(
                "Votre connexion a expiré ou n'a pas commencé : saisissez à nouveau votre "
                "adresse e-mail et votre mot de passe."
            ),
            "error",
        )
        return redirect(url_for("auth.login"))
    user, half = pending
    code_form, recovery_form = TotpCodeForm(), RecoveryCodeForm()
    status, error = 200, None
    if request.method == "POST":
        with_recovery = "recovery_code" in request.form
        form = recovery_form if with_recovery else code_form
        if not form.validate():
            status = 400
        elif (wait := throttle.wait_before_login(user.email, auth.client_ip())) is not None:
            error = _(
                "Trop de tentatives de connexion. Par sécurité, réessayez dans "
                "%(minutes)d minutes.",
                minutes=_minutes(wait),
            )
            status = 429
        else:
            code = recovery_form.recovery_code.data if with_recovery else code_form.code.data
            method = totp.verify(user, code)
            throttle.record_login(user.email, auth.client_ip(), method is not None)
            if method is not None:
                audit.record(
                    "login.success",
                    actor=user,
                    commune=None,
                    object_type="user",
                    object_id=user.id,
                    details={"second_factor": method},
                )
                next_url = auth.finish_login(user, half)
                db.commit()
                if method == "recovery":
                    flash(
                        _(
                            "Code de secours accepté ; il ne servira plus. Il vous en reste "
                            "%(count)d : vous pouvez en générer de nouveaux dans Mon compte → "
                            "Sécurité.",
                            count=totp.recovery_codes_left(user),
                        ),
                        "warning",
                    )
                return redirect(safe_next(next_url) or url_for("public.home"))
            audit.record(
                "login.second_factor_failure",
                actor=user,
                commune=None,
                object_type="user",
                object_id=user.id,
                details={"method": "recovery" if with_recovery else "totp"},
            )
            db.commit()
            error = (
                _("Ce code de secours n'est pas valable ou a déjà servi.")
                if with_recovery
                else _(
                    "Code incorrect ou déjà utilisé. Attendez le code suivant de votre "
                    "application, puis réessayez."
                )
            )
            status = 401
    return render_template(
        "auth/second_factor.html",
        code_form=code_form,
        recovery_form=recovery_form,
        error=error,
        with_recovery=request.method == "POST" and "recovery_code" in request.form,
    ), status


@bp.post("/deconnexion")
@public
def logout() -> Any:
    form = ActionForm()
    if not form.validate():
        abort(400)
    came_from_provider = session.get("oidc")
    auth.logout_user()
    db.commit()
    # Signed in through a provider: end its session too, or the next visitor of a shared
    # computer would be signed in again with one click.
    at_provider = federation.end_session_url(came_from_provider)
    if at_provider is not None:
        return redirect(at_provider)
    flash(_("Vous êtes déconnecté·e."), "success")
    return redirect(url_for("public.home"))


@bp.route("/mot-de-passe/oublie", methods=["GET", "POST"])
@public
def forgot_password() -> Any:
    form = ResetRequestForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/forgot.html", form=form), 400
        user = auth.find_user(form.email.data)
        if user is not None and user.is_active and not _too_many_resets(user):
            token, token_hash = auth.new_token()
            db.add(
                PasswordReset(
                    user=user, token_hash=token_hash, expires_at=utcnow() + RESET_LIFETIME
                )
            )
            link = url_for("auth.reset_password", token=token, _external=True)
            mail.queue(
                user.email,
                _("Réinitialisation de votre mot de passe Viatic"),
                _(
                    "Bonjour %(name)s,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien "
                    "(valable une heure, une seule fois) :\n%(link)s\n\nSi vous n'avez rien "
                    "demandé, ignorez ce message : votre mot de passe ne change pas.",
                    name=user.name,
                    link=link,
                ),
            )
            audit.record(
                "password.reset_requested", actor=user, object_type="user", object_id=user.id
            )
            db.commit()
        # The same answer whether the account exists or not.
        flash(
            _(
                "Si un compte existe pour cette adresse, un e-mail vient de lui être envoyé "
                "avec un lien pour choisir un nouveau mot de passe."
            ),
            "success",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


def _too_many_resets(user: User) -> bool:
    """A few links an hour are plenty; more would let anyone flood a mailbox."""
    recent = db.scalar(
        select(func.count()).where(
            PasswordReset.user_id == user.id,
            PasswordReset.created_at > utcnow() - dt.timedelta(hours=1),
        )
    )
    return (recent or 0) >= MAX_RESETS_PER_HOUR


def _valid_reset(token: str) -> PasswordReset | None:
    reset = db.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == auth.token_hash(token))
    )
    if reset is None or reset.used_at is not None or reset.expires_at < utcnow():
        return None
    return reset


@bp.route("/mot-de-passe/nouveau/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> Any:
    reset = _valid_reset(token)
    if reset is None:
        return render_template("auth/link_invalid.html"), 400
    form = NewPasswordForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/reset.html", form=form), 400
        reset.used_at = utcnow()
        auth.set_password(reset.user, form.password.data)
        audit.record(
            "password.reset", actor=reset.user, object_type="user", object_id=reset.user_id
        )
        db.commit()
        flash(_("Votre mot de passe est changé. Vous pouvez vous connecter."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def invitation(token: str) -> Any:
    invite = members.find_invitation(token)
    if invite is None:
        return render_template("auth/link_invalid.html"), 400
    existing = db.scalar(select(User).where(User.email == invite.email))
    if existing is not None and (g.user is None or g.user.id != existing.id):
        # The account exists: its owner signs in as themselves, then joins.
        flash(
            _(
                "Connectez-vous avec le compte %(email)s pour accepter l'invitation.",
                email=invite.email,
            ),
            "info",
        )
        return redirect(url_for("auth.login", next=request.path))
    if g.user is not None:
        # Signed in (with a password or through a provider, whose address may differ): the
        # link was sent to the invited address, and whoever holds it joins as themselves.
        form = ActionForm()
        if request.method == "POST":
            if not form.validate():
                abort(400)
            members.accept(invite, g.user)
            db.commit()
            flash(_("Bienvenue à %(commune)s !", commune=invite.commune.name), "success")
            return redirect(url_for("commune.dashboard", insee=invite.commune.insee))
        return render_template("auth/join.html", invite=invite, form=form)
    form = AcceptInvitationForm()
    if request.method == "POST":
        if not form.validate():
            return render_template(
                "auth/accept.html",
                invite=invite,
                form=form,
                providers=federation.providers().values(),
            ), 400
        user = User(email=invite.email, name=form.name.data.strip())
        auth.set_password(user, form.password.data)
        db.add(user)
        db.flush()
        audit.record("user.created", actor=user, object_type="user", object_id=user.id)
        members.accept(invite, user)
        auth.login_user(user)
        db.commit()
        flash(_("Bienvenue à %(commune)s !", commune=invite.commune.name), "success")
        return redirect(url_for("commune.dashboard", insee=invite.commune.insee))
    return render_template(
        "auth/accept.html", invite=invite, form=form, providers=federation.providers().values()
    )
