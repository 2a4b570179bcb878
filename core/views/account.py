"""A person's own pages: notifications, which types to mute, language, password."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from core import audit, auth
from core.db import db, utcnow
from core.forms import ActionForm, NewPasswordForm
from core.models import Commune, Notification, NotificationMute
from core.rights import login_required

bp = Blueprint("account", __name__, url_prefix="/compte")


@bp.get("/notifications")
@login_required
def notifications() -> Any:
    items = db.execute(
        select(Notification, Commune)
        .outerjoin(Commune, Commune.id == Notification.commune_id)
        .where(Notification.user_id == g.user.id)
        .order_by(Notification.created_at.desc())
        .limit(100)
    ).all()
    return render_template("account/notifications.html", items=items)


@bp.post("/notifications/lues")
@login_required
def mark_read() -> Any:
    if not ActionForm().validate():
        abort(400)
    db.execute(
        update(Notification)
        .where(Notification.user_id == g.user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.commit()
    return redirect(url_for("account.notifications"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> Any:
    types = current_app.extensions["viatic.plugins"].notification_types
    muted = set(
        db.scalars(select(NotificationMute.type).where(NotificationMute.user_id == g.user.id))
    )
    if request.method == "POST":
        if not ActionForm().validate():
            abort(400)
        wanted_muted = {name for name in types if request.form.get(f"mute:{name}") != "on"}
        db.execute(delete(NotificationMute).where(NotificationMute.user_id == g.user.id))
        for name in sorted(wanted_muted):
            db.add(NotificationMute(user_id=g.user.id, type=name))
        db.commit()
        flash(_("Préférences enregistrées."), "success")
        return redirect(url_for("account.preferences"))
    return render_template("account/preferences.html", types=types, muted=muted)


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@login_required
def password() -> Any:
    form = NewPasswordForm()
    status = 200
    if request.method == "POST":
        current = request.form.get("current", "")
        if not auth.check_password(g.user, current):
            form.validate()
            form.password.errors = list(form.password.errors)
            flash(_("Le mot de passe actuel est incorrect."), "error")
            status = 400
        elif form.validate():
            auth.set_password(g.user, form.password.data)
            auth.login_user(g.user)  # this session stays, every other one ends
            audit.record("password.changed", object_type="user", object_id=g.user.id)
            db.commit()
            flash(_("Mot de passe changé. Vos autres sessions sont fermées."), "success")
            return redirect(url_for("account.preferences"))
        else:
            status = 400
    return render_template("account/password.html", form=form), status
