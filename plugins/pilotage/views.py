"""The pilotage module's blueprint, and its pages on the référentiel: the domains and their
themes, adopting them, a theme's page, and who covers what (platform admins edit the
référentiel on the module's platform pages, ``platform_views``).

Thin on purpose: parse the request, call the services, render. The core mounts this
blueprint under ``/c/<INSEE>/pilotage/`` and answers 404 where the module is not enabled.
The pages of projects, tasks, the diagnostic and the API live in their own modules, on the
same blueprint.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from pathlib import Path
from typing import Any

import babel.dates
from flask import Blueprint, flash, redirect, url_for
from flask_babel import format_currency, get_locale, to_user_timezone
from wtforms import SelectMultipleField, TextAreaField

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import referentiel

HERE = Path(__file__).parent
bp = Blueprint(
    "pilotage",
    __name__,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static",
)


def show_errors(form: toolkit.Form, errors: dict[str, str]) -> None:
    """Put the services' messages on the form's fields (or in a flash when none fits)."""
    for name, message in errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            flash(message, "error")


@bp.app_template_filter("pilotage_date")
def format_day(moment: dt.date) -> str:
    """« 22 novembre 2026 » (« November 22, 2026 » in English)."""
    day = to_user_timezone(moment).date() if isinstance(moment, dt.datetime) else moment
    return _long_date(day, str(get_locale()))


@functools.lru_cache(maxsize=4096)
def _long_date(day: dt.date, locale: str) -> str:
    # A list of tasks repeats the same few dates: Babel's formatting is worth remembering.
    return babel.dates.format_date(day, "long", locale=locale)


@bp.app_template_filter("pilotage_euros")
def format_euros(amount: Decimal) -> str:
    """« 12 500,00 € »."""
    return format_currency(amount, "EUR")


# --- Forms ------------------------------------------------------------------------------------


class AdoptionForm(toolkit.Form):
    themes = SelectMultipleField(_l("Thèmes adoptés"), validate_choice=False)


class InterestsForm(toolkit.Form):
    themes = SelectMultipleField(
        _l("Les thèmes dans lesquels je veux m'impliquer"), validate_choice=False
    )
    skills = TextAreaField(
        _l("Mes compétences"),
        description=_l(
            "Votre métier, vos expériences, ce que vous savez faire : en quelques lignes."
        ),
        render_kw={"rows": 4, "maxlength": referentiel.SKILLS_MAX},
    )


# --- Pages ------------------------------------------------------------------------------------


def _can_adopt() -> bool:
    return toolkit.has_permission(
        toolkit.current_user(), toolkit.current_commune(), "pilotage.adopt"
    )


@bp.get("/referentiel")
@toolkit.requires("pilotage.view")
def referentiel_index() -> str:
    commune = toolkit.current_commune()
    listed = referentiel.domains()
    return toolkit.render(
        "pilotage/referentiel.html",
        domains=listed,
        adopted=referentiel.adoptions(commune),
        can_adopt=_can_adopt(),
        form=AdoptionForm(),
        theme_count=sum(len(themes) for _domain, themes in listed),
    )


@bp.post("/referentiel/<code>/adopter")
@toolkit.requires("pilotage.adopt")
def adopt(code: str) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    domain = referentiel.get_domain(code)
    form = AdoptionForm()
    form.validate()
    try:
        added, removed = referentiel.set_adoptions(commune, user, domain, form.themes.data or [])
    except referentiel.ReferentielError as error:
        toolkit.refuse(next(iter(error.errors.values())))
    toolkit.db.commit()
    if added or removed:
        flash(
            _(
                "Domaine « %(domain)s » : %(added)d thème(s) adopté(s), %(removed)d retiré(s).",
                domain=domain.title,
                added=len(added),
                removed=len(removed),
            ),
            "success",
        )
    else:
        flash(_("Rien n'a changé."), "info")
    return redirect(url_for(".referentiel_index", _anchor=f"domaine-{domain.code}"))


@bp.get("/referentiel/theme/<code>")
@toolkit.requires("pilotage.view")
def theme(code: str) -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = referentiel.get_theme(code)
    adoption = referentiel.adoptions(commune).get(found.id)
    people = next((p for t, p in referentiel.coverage(commune).themes if t.id == found.id), [])
    return toolkit.render(
        "pilotage/theme.html",
        theme=found,
        adoption=adoption,
        people=people,
        can_edit=user.is_platform_admin,
    )


@bp.post("/referentiel/theme/<code>/lu")
@toolkit.requires("pilotage.view")
def theme_seen(code: str) -> Any:
    found = referentiel.get_theme(code)
    referentiel.mark_seen(toolkit.current_commune(), toolkit.current_user(), found)
    toolkit.db.commit()
    flash(_("Thème marqué comme lu."), "success")
    return redirect(url_for(".theme", code=code))


@bp.route("/equipe", methods=["GET", "POST"])
@toolkit.requires("pilotage.view")
def team() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form = InterestsForm()
    status = 200
    if form.is_submitted():
        form.validate()
        try:
            chosen = [int(value) for value in form.themes.data or []]
        except ValueError:
            chosen = [-1]  # not a theme: refused below with the services' message
        try:
            referentiel.set_interests(commune, user, chosen, form.skills.data)
        except referentiel.ReferentielError as error:
            show_errors(form, error.errors)
        if not form.errors:
            toolkit.db.commit()
            flash(_("Vos thèmes et vos compétences sont enregistrés."), "success")
            return redirect(url_for(".team"))
        status = 400
    else:
        form.themes.data = [str(i) for i in referentiel.interests_of(commune, user)]
        form.skills.data = referentiel.skills_of(commune, user)
    return (
        toolkit.render(
            "pilotage/team.html",
            form=form,
            coverage=referentiel.coverage(commune),
            chosen={str(v) for v in form.themes.data or []},
        ),
        status,
    )
