"""The ideas box's HTML pages: the list, the propose form, an idea and its answer.

Thin on purpose: parse the form, call ``services``, render. The core mounts this blueprint
under ``/c/<INSEE>/idees/`` and answers 404 where the module is not enabled, so no view
checks that; each declares the permission it needs with ``toolkit.requires``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from core.toolkit import ngettext
from flask import Blueprint, flash, redirect, url_for
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from viatic_idees import services
from viatic_idees.models import STATUS_LABELS, UNDER_STUDY, Idea

bp = Blueprint("idees", __name__, template_folder=str(Path(__file__).parent / "templates"))


class ProposeForm(toolkit.Form):
    # The services check every rule again (and the lengths): the API goes through them too.
    # InputRequired is here so the page marks the fields as required.
    title = StringField(
        _l("Titre de votre idée"),
        [InputRequired(services.TITLE_REQUIRED)],
        description=_l("En quelques mots, par exemple « Un banc près de l'église »."),
        render_kw={"maxlength": services.TITLE_MAX},
    )
    body = TextAreaField(
        _l("Votre idée"), [InputRequired(services.BODY_REQUIRED)], render_kw={"rows": 8}
    )


class AnswerForm(toolkit.Form):
    status = SelectField(
        _l("État de l'idée"),
        choices=[SelectChoice(s, STATUS_LABELS[s]) for s in services.ANSWER_STATUSES],
        validate_choice=False,  # the service says which states are allowed
    )
    answer = TextAreaField(
        _l("Réponse de l'équipe municipale"),
        [InputRequired(services.ANSWER_REQUIRED)],
        description=_l("L'auteur de l'idée la reçoit en notification."),
        render_kw={"rows": 6},
    )


def _show_field_error(form: toolkit.Form, error: services.IdeaError) -> None:
    if error.field in form:
        form[error.field].errors.append(error.message)
    else:
        flash(error.message, "error")


@bp.get("/")
@toolkit.requires("idees.view")
def index() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return toolkit.render(
        "idees/index.html",
        ideas=services.list_ideas(commune, user),
        settings=services.box_settings(commune),
        shows_author=lambda idea: services.shows_author(commune, user, idea),
        limit=services.LIST_LIMIT,
    )


@bp.route("/proposer", methods=["GET", "POST"])
@toolkit.requires("idees.propose")
def propose() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    settings = services.box_settings(commune)
    form = ProposeForm()
    form.body.description = ngettext(
        "%(num)d caractère au plus.", "%(num)d caractères au plus.", settings.max_length
    )
    form.body.render_kw = {**form.body.render_kw, "maxlength": settings.max_length}
    if form.validate_on_submit():
        try:
            idea = services.propose(commune, user, form.title.data, form.body.data)
        except services.IdeaError as error:
            _show_field_error(form, error)
        else:
            toolkit.db.commit()
            flash(_("Merci ! Votre idée a été transmise à l'équipe municipale."), "success")
            return redirect(url_for(".show", idea_id=idea.id))
    status = 400 if form.is_submitted() else 200
    return toolkit.render("idees/propose.html", form=form, settings=settings), status


def _idea_page(idea: Idea, form: AnswerForm, status: int = 200) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    page = toolkit.render(
        "idees/show.html",
        idea=idea,
        form=form,
        can_answer=services.can_answer(commune, user),
        can_moderate=services.can_moderate(commune, user),
        shows_author=services.shows_author(commune, user, idea),
    )
    return page, status


@bp.get("/<int:idea_id>")
@toolkit.requires("idees.view")
def show(idea_id: int) -> tuple[str, int]:
    idea = services.get_idea(toolkit.current_commune(), toolkit.current_user(), idea_id)
    # Start from the current answer, so that changing it does not mean typing it again.
    form = AnswerForm(
        status=idea.status if idea.status in services.ANSWER_STATUSES else UNDER_STUDY,
        answer=idea.answer or "",
    )
    return _idea_page(idea, form)


@bp.post("/<int:idea_id>/reponse")
@toolkit.requires("idees.answer")
def answer(idea_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    idea = services.get_idea(commune, user, idea_id)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            services.answer(commune, user, idea, form.status.data, form.answer.data)
        except services.IdeaError as error:
            _show_field_error(form, error)
        else:
            toolkit.db.commit()
            flash(_("Réponse publiée : l'auteur de l'idée en est averti."), "success")
            return redirect(url_for(".show", idea_id=idea.id))
    return _idea_page(idea, form, status=400)


@bp.post("/<int:idea_id>/masquer")
@toolkit.requires("idees.moderate")
def hide(idea_id: int) -> Any:
    return _moderate(idea_id, hidden=True)


@bp.post("/<int:idea_id>/retablir")
@toolkit.requires("idees.moderate")
def restore(idea_id: int) -> Any:
    return _moderate(idea_id, hidden=False)


def _moderate(idea_id: int, hidden: bool) -> Any:
    # The CSRF token of the button is checked by the core for every POST.
    commune, user = toolkit.current_commune(), toolkit.current_user()
    idea = services.get_idea(commune, user, idea_id)
    if services.set_hidden(commune, user, idea, hidden):
        toolkit.db.commit()
        flash(_("Idée masquée.") if hidden else _("Idée de nouveau visible."), "success")
    return redirect(url_for(".show", idea_id=idea.id))
