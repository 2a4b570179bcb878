"""The pilotage's pages for platform admins, outside any commune: the référentiel of the
élu's trade that every commune reads, and editing its themes. The core mounts this blueprint
under ``/admin/modules/pilotage/`` for platform admins alone.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import referentiel
from plugins.pilotage.views import HERE, show_errors

bp = Blueprint(
    "pilotage_platform",
    __name__,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static",
)


class ThemeForm(toolkit.Form):
    title = StringField(
        _l("Titre"),
        [InputRequired(_l("Donnez un titre au thème."))],
        render_kw={"maxlength": referentiel.TITLE_MAX},
    )
    must = TextAreaField(
        _l("Ce que la commune doit faire"),
        description=_l(
            "Une obligation par ligne : le texte, une barre verticale « | », puis la référence "
            "(« Voter le budget | CGCT, art. L1612-2 »)."
        ),
        render_kw={"rows": 6},
    )
    may = TextAreaField(_l("Ce qu'elle peut faire"), render_kw={"rows": 4})
    projects = TextAreaField(_l("Projets types"), render_kw={"rows": 4})
    indicators = TextAreaField(_l("Indicateurs"), render_kw={"rows": 4})


@bp.get("/referentiel")
@toolkit.platform_admin_required
def referentiel_index() -> str:
    return toolkit.render("pilotage/platform_referentiel.html", domains=referentiel.domains())


@bp.route("/referentiel/<code>", methods=["GET", "POST"])
@toolkit.platform_admin_required
def edit_theme(code: str) -> Any:
    found = referentiel.get_theme(code)
    form = ThemeForm()
    if not form.is_submitted():
        form.title.data = found.title
        form.must.data = "\n".join(
            f"{o['text']}{referentiel.REF_SEPARATOR}{o['ref']}" for o in found.must
        )
        form.may.data = "\n".join(found.may)
        form.projects.data = "\n".join(found.projects)
        form.indicators.data = "\n".join(found.indicators)
        return toolkit.render("pilotage/theme_form.html", form=form, theme=found)
    form.validate()
    try:
        changed = referentiel.edit_theme(
            toolkit.current_user(),
            found,
            form.title.data,
            form.must.data,
            form.may.data,
            form.projects.data,
            form.indicators.data,
        )
    except referentiel.ReferentielError as error:
        show_errors(form, error.errors)
        return toolkit.render("pilotage/theme_form.html", form=form, theme=found), 400
    if form.errors:
        return toolkit.render("pilotage/theme_form.html", form=form, theme=found), 400
    toolkit.db.commit()
    flash(
        _(
            "Thème « %(title)s » enregistré (version %(version)d).",
            title=found.title,
            version=found.version,
        )
        if changed
        else _("Rien n'a changé."),
        "success" if changed else "info",
    )
    return redirect(url_for(".referentiel_index", _anchor=f"theme-{code}"))
