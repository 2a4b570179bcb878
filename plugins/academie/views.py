"""The Formations pages: catalogue, a course, « Mes formations », the team's progress.

Thin: parse, call ``services``, render. Pages read the local copy of the catalogue and of
the progress, so they render even while the provider is down. « Mes formations » and a
course's page also open to a person who has enrolments here without being a member any more
(an official who left the council still reads their own); anyone else gets 403.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import ngettext
from plugins.academie import services
from plugins.academie.models import LEVELS

HERE = Path(__file__).parent
bp = Blueprint("academie", __name__, template_folder=str(HERE / "templates"))


class ActionForm(toolkit.Form):
    """A button that posts: only its CSRF token."""


@bp.get("/")
@toolkit.requires("academie.view")
def index() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    query = request.args.get("q", "")[: services.SEARCH_MAX]
    theme, level = request.args.get("theme", ""), request.args.get("niveau", "")
    level = level if level in LEVELS else ""
    found = services.catalogue(commune, query, theme, level)
    toolkit.db.commit()  # a local provider's catalogue was just copied in
    mine = {e.course_id: e for e in services.my_enrolments(commune, user)}
    return toolkit.render(
        "academie/index.html",
        catalogue=found,
        mine=mine,
        query=query,
        theme=theme,
        level=level,
        levels=LEVELS,
        can_see_team=services.can_see_team(commune, user),
        can_refresh=found.copied and toolkit.is_commune_admin(user, commune),
        form=ActionForm(),
        unavailable=toolkit.unavailable(),
    )


@bp.post("/catalogue/actualiser")
@toolkit.requires("academie.view")
def refresh_catalogue() -> Any:
    """The catalogue copied from the provider now (commune admins), not at the next run of
    the hourly job."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    if not ActionForm().validate_on_submit():
        toolkit.refuse(_("Le formulaire a expiré : rechargez la page."))
    try:
        count = services.refresh_catalogue_now(commune, user)
    except HTTPException:
        raise  # not a commune admin
    except Exception:  # any provider failure: the page keeps the copy it has
        toolkit.db.rollback()
        services.log.warning("Catalogue refresh failed for %s", commune.insee, exc_info=True)
        flash(
            _("Service momentanément indisponible : le catalogue affiché est la dernière copie."),
            "error",
        )
    else:
        toolkit.db.commit()
        flash(
            ngettext(
                "Catalogue mis à jour : %(num)d formation.",
                "Catalogue mis à jour : %(num)d formations.",
                count,
            ),
            "success",
        )
    return redirect(url_for(".index")), 303


@bp.get("/formation/<int:course_id>")
@toolkit.login_required
def course(course_id: int) -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.require_reader(commune, user)
    found = services.get_course(commune, course_id)
    services.sync_if_local(commune, user)
    toolkit.db.commit()
    enrolment = services.enrolment_of(user, found)
    if enrolment is None and not toolkit.has_permission(user, commune, "academie.view"):
        abort(403)
    return toolkit.render(
        "academie/course.html",
        course=found,
        theme_names=services.named_themes(found, services.theme_titles()),
        enrolment=enrolment,
        current=found.provider == services.current_provider_key(commune),
        provider_label=services.provider_label(commune, found.provider),
        can_enrol=toolkit.has_permission(user, commune, "academie.enrol"),
        form=ActionForm(),
    )


@bp.post("/formation/<int:course_id>/inscription")
@toolkit.requires("academie.enrol")
def enrol(course_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_course(commune, course_id)
    if not ActionForm().validate_on_submit():
        toolkit.refuse(_("Le formulaire a expiré : rechargez la page."))
    try:
        enrolment = services.enrol(commune, user, found)
    except services.AcademieError as error:
        toolkit.db.rollback()
        flash(error.message, "error")
        return redirect(url_for(".course", course_id=found.id)), 303
    toolkit.db.commit()
    if enrolment.status == "pending":
        flash(_("Inscription en cours : elle sera confirmée dans quelques instants."), "success")
    elif enrolment.status == "waiting":
        flash(enrolment.status_note, "warning")
    else:
        flash(_("Vous êtes inscrit à cette formation."), "success")
    return redirect(url_for(".course", course_id=found.id)), 303


@bp.get("/formation/<int:course_id>/continuer")
@toolkit.login_required
def resume(course_id: int) -> Any:
    """« Continuer »: to the course where its provider serves it (signed in by SSO)."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.require_reader(commune, user)
    found = services.get_course(commune, course_id)
    enrolment = services.enrolment_of(user, found)
    if enrolment is None or enrolment.status not in ("active", "completed") or not found.url:
        abort(404)
    if found.provider != services.current_provider_key(commune):
        flash(
            _("Cette formation était servie par un outil que la commune n'utilise plus."), "error"
        )
        return redirect(url_for(".course", course_id=found.id))
    return redirect(found.url)


@bp.get("/mes-formations")
@toolkit.login_required
def mine() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.require_reader(commune, user)
    services.sync_if_local(commune, user)
    toolkit.db.commit()
    return toolkit.render(
        "academie/mine.html",
        enrolments=services.my_enrolments(commune, user),
        can_see_team=services.can_see_team(commune, user),
        form=ActionForm(),
    )


@bp.post("/mes-formations/actualiser")
@toolkit.login_required
def refresh_mine() -> Any:
    """Progress on demand: the provider is asked now for this person's courses."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.require_reader(commune, user)
    if not ActionForm().validate_on_submit():
        toolkit.refuse(_("Le formulaire a expiré : rechargez la page."))
    try:
        services.sync_progress(commune, user)
    except Exception:  # any provider failure: the page keeps the progress already known
        toolkit.db.rollback()
        services.log.warning("Progress refresh failed for %s", commune.insee, exc_info=True)
        flash(
            _(
                "Service momentanément indisponible : la progression affichée est la "
                "dernière connue."
            ),
            "error",
        )
    else:
        toolkit.db.commit()
        flash(_("Progression mise à jour."), "success")
    return redirect(url_for(".mine")), 303


@bp.get("/equipe")
@toolkit.requires("academie.view")
def team() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return toolkit.render("academie/team.html", members=services.team(commune, user))
