"""Pages anyone may open: home, accessibility statement, legal notice, language choice."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import or_, select

from core.db import db
from core.forms import ActionForm
from core.models import Commune
from core.rights import login_required, public
from core.views import my_communes

bp = Blueprint("public", __name__)


@bp.get("/")
@public
def home() -> Any:
    communes = my_communes()
    if len(communes) == 1 and not g.user.is_platform_admin:
        return redirect(url_for("commune.dashboard", insee=communes[0].insee))
    return render_template("home.html", communes=communes)


@bp.get("/communes")
@public
def find_commune() -> Any:
    """Find a commune by name, postcode or INSEE code (to reach its sign-in page)."""
    query = request.args.get("q", "").strip()[:100]
    results: list[Commune] = []
    if len(query) >= 2:
        pattern = f"{query}%"
        results = list(
            db.scalars(
                select(Commune)
                .where(or_(Commune.name.ilike(pattern), Commune.insee == query))
                .order_by(Commune.population.desc().nulls_last(), Commune.name)
                .limit(30)
            )
        )
    return render_template("find_commune.html", query=query, results=results)


@bp.get("/aller")
@login_required
def switch_commune() -> Any:
    """The header's commune switcher (a plain form, so that it works without JavaScript)."""
    insee = request.args.get("insee", "")
    if insee not in {c.insee for c in my_communes()}:
        abort(404)
    return redirect(url_for("commune.dashboard", insee=insee))


@bp.get("/accessibilite")
@public
def accessibility() -> Any:
    return render_template("accessibility.html")


@bp.get("/mentions-legales")
@public
def legal() -> Any:
    return render_template("legal.html")


@bp.post("/langue")
@public
def language() -> Any:
    form = ActionForm()
    locale = request.form.get("locale")
    if form.validate() and locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if g.user is not None:
            g.user.locale = locale
            db.commit()
    target = request.form.get("next") or "/"
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
