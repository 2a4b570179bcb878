"""A person's personal access tokens (Mon compte → Jetons d'accès), for their own scripts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from core import tokens
from core.db import db, utcnow
from core.forms import ActionForm, PersonalTokenForm
from core.rights import login_required

bp = Blueprint("tokens", __name__, url_prefix="/compte/jetons")


def _form() -> PersonalTokenForm:
    form = PersonalTokenForm()
    scopes = current_app.extensions["viatic.plugins"].api_scopes
    # "openid" belongs to the sign-in of apps, not to a script's token.
    form.scopes.choices = [(s.name, str(s.label)) for s in scopes.values() if s.name != "openid"]
    return form


def _page(form: PersonalTokenForm, created: str | None = None, status: int = 200) -> Any:
    response = current_app.make_response(
        (
            render_template(
                "account/tokens.html",
                form=form,
                owned=tokens.owned(g.user),
                created=created,
                action=ActionForm(),
                now=utcnow(),
            ),
            status,
        )
    )
    response.headers["Cache-Control"] = "no-store"  # a new token is shown once, in clear
    return response


@bp.get("/")
@login_required
def index() -> Any:
    return _page(_form())


@bp.post("/")
@login_required
def create() -> Any:
    form = _form()
    if not form.validate():
        return _page(form, status=400)
    raw, _token = tokens.create(
        g.user, form.name.data.strip(), form.scopes.data, int(form.days.data)
    )
    db.commit()
    return _page(_form(), created=raw, status=201)


@bp.post("/<int:token_id>/revoquer")
@login_required
def revoke(token_id: int) -> Any:
    if not ActionForm().validate():
        abort(400)
    token = next((t for t in tokens.owned(g.user) if t.id == token_id), None)
    if token is None:
        abort(404)
    if token.revoked_at is None:
        tokens.revoke(g.user, token)
        db.commit()
    flash(
        _("Le jeton « %(name)s » est révoqué : il ne fonctionne plus.", name=token.name), "success"
    )
    return redirect(url_for("tokens.index"))
