"""The platform's own courses: a course's lessons, a lesson with its quiz, and the platform
admins' authoring pages. Thin: parse, call ``services``, render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.lms import services

HERE = Path(__file__).parent
bp = Blueprint(
    "lms",
    __name__,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static",
)

LEVEL_CHOICES = [
    SelectChoice("", _l("Non précisé")),
    SelectChoice("decouverte", _l("Découverte")),
    SelectChoice("intermediaire", _l("Intermédiaire")),
    SelectChoice("approfondissement", _l("Approfondissement")),
]


class QuizForm(toolkit.Form):
    """« J'ai terminé cette leçon »: the answers are read from the posted radios."""


class CourseForm(toolkit.Form):
    title = StringField(
        _l("Titre"),
        [InputRequired(_l("Donnez un titre à la formation."))],
        render_kw={"maxlength": services.TITLE_MAX},
    )
    description = TextAreaField(_l("Présentation"), render_kw={"rows": 4})
    duration_minutes = StringField(
        _l("Durée en minutes"), render_kw={"inputmode": "numeric", "type": "number", "min": 1}
    )
    level = SelectField(_l("Niveau"), choices=LEVEL_CHOICES, validate_choice=False)
    referentiel = SelectMultipleField(
        _l("Thèmes du référentiel"),
        description=_l("Plusieurs choix possibles (touche Ctrl ou Cmd)."),
        validate_choice=False,  # services.check_course names a theme that is not one
        render_kw={"size": 10},
    )
    themes = StringField(
        _l("Autres thèmes"),
        description=_l("Séparés par des virgules, par exemple « Finances, Urbanisme »."),
    )
    published = BooleanField(_l("Publiée (visible dans les catalogues)"))


class LessonForm(toolkit.Form):
    title = StringField(
        _l("Titre de la leçon"),
        [InputRequired(_l("Donnez un titre à la leçon."))],
        render_kw={"maxlength": services.TITLE_MAX},
    )
    body = TextAreaField(
        _l("Texte"),
        description=_l("Paragraphes, listes, liens et intertitres sont conservés."),
        render_kw={"rows": 10},
    )
    video_id = SelectField(
        _l("Vidéo de la vidéothèque"),
        description=_l("Facultatif : un témoignage publié, montré avec ses sous-titres."),
        validate_choice=False,
    )
    video_link = StringField(
        _l("Ou l'adresse de sa page"),
        description=_l(
            "Collez l'adresse d'une vidéo de la vidéothèque ; elle remplace le choix de la liste."
        ),
    )
    quiz = TextAreaField(
        _l("Quiz"),
        description=_l(
            "Facultatif. Une question par ligne : « Question ? | bonne réponse | autre réponse "
            "| ... » (la bonne réponse en premier)."
        ),
        render_kw={"rows": 4},
    )


def _show(form: toolkit.Form, error: services.LmsError) -> None:
    if error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
    else:
        flash(error.message, "error")


# --- learning -------------------------------------------------------------------------------


@bp.get("/cours/<int:course_id>")
@toolkit.requires("academie.view")
def course(course_id: int) -> str:
    found = services.course_or_404(course_id)
    return toolkit.render(
        "lms/course.html",
        course=found,
        done=services.completed_ids(toolkit.current_user(), found),
    )


@bp.route("/cours/<int:course_id>/lecon/<int:position>", methods=["GET", "POST"])
@toolkit.requires("academie.view")
def lesson(course_id: int, position: int) -> Any:
    user = toolkit.current_user()
    found = services.course_or_404(course_id)
    current = services.lesson_or_404(found, position)
    form, error = QuizForm(), None
    if form.validate_on_submit():
        answers = {i: request.form.get(f"q{i}") for i in range(len(current.quiz))}
        try:
            services.complete(user, current, answers)
        except services.LmsError as refused:
            error = refused
        else:
            toolkit.db.commit()
            following = current.position + 1
            if any(item.position == following for item in found.lessons):
                return redirect(url_for(".lesson", course_id=found.id, position=following)), 303
            flash(_("Vous avez terminé toutes les leçons de cette formation."), "success")
            return redirect(url_for(".course", course_id=found.id)), 303
    status = 400 if error is not None or form.errors else 200
    captions = url_for(".captions", course_id=found.id, position=current.position)
    return toolkit.render(
        "lms/lesson.html",
        course=found,
        lesson=current,
        video=services.lesson_video(current, captions),
        form=form,
        error=error,
        chosen=request.form,
        done=current.id in services.completed_ids(user, found),
    ), status


@bp.get("/cours/<int:course_id>/lecon/<int:position>/sous-titres.vtt")
@toolkit.requires("academie.view")
def captions(course_id: int, position: int) -> Response:
    """The captions track of the lesson's video, for the in-house player (served here, so
    that it plays whether or not the commune itself uses the Vidéothèque)."""
    current = services.lesson_or_404(services.course_or_404(course_id), position)
    text = services.lesson_captions(current)
    if text is None:
        toolkit.refuse(_("Cette leçon n'a pas de sous-titres."), 404)
    return Response(text, mimetype="text/vtt", headers={"Cache-Control": "private"})


# --- authoring (platform admins) ------------------------------------------------------------


@bp.get("/auteur/")
@toolkit.login_required
def authoring() -> str:
    services.require_author(toolkit.current_user())
    return toolkit.render("lms/authoring.html", courses=services.all_courses())


@bp.route("/auteur/nouvelle", methods=["GET", "POST"])
@bp.route("/auteur/<int:course_id>", methods=["GET", "POST"])
@toolkit.login_required
def edit_course(course_id: int | None = None) -> Any:
    services.require_author(toolkit.current_user())
    found = services.course_or_404(course_id, drafts=True) if course_id else None
    form = CourseForm()
    themes = toolkit.referentiel_themes()
    domains: dict[str, list[tuple[str, str]]] = {}
    for theme in themes:
        domains.setdefault(theme.domain, []).append((theme.code, theme.title))
    form.referentiel.choices = domains
    if request.method == "GET" and found is not None:
        codes = {t.code for t in themes}
        form.process(
            data={
                "title": found.title,
                "description": found.description,
                "duration_minutes": str(found.duration_minutes or ""),
                "level": found.level,
                "referentiel": [t for t in found.themes if t in codes],
                "themes": ", ".join(t for t in found.themes if t not in codes),
                "published": found.published,
            }
        )
    if form.validate_on_submit():
        try:
            saved = services.save_course(found, services.check_course(form.data))
        except services.LmsError as error:
            _show(form, error)
        else:
            toolkit.db.commit()
            flash(_("Formation enregistrée."), "success")
            return redirect(url_for(".edit_course", course_id=saved.id)), 303
    status = 400 if form.errors else 200
    return toolkit.render("lms/course_form.html", form=form, course=found), status


@bp.route("/auteur/<int:course_id>/lecon/nouvelle", methods=["GET", "POST"])
@bp.route("/auteur/<int:course_id>/lecon/<int:lesson_id>", methods=["GET", "POST"])
@toolkit.login_required
def edit_lesson(course_id: int, lesson_id: int | None = None) -> Any:
    services.require_author(toolkit.current_user())
    found = services.course_or_404(course_id, drafts=True)
    current = None
    if lesson_id is not None:
        current = next((item for item in found.lessons if item.id == lesson_id), None)
        if current is None:
            toolkit.refuse(_("Cette leçon n'existe pas."), 404)
    form = LessonForm()
    form.video_id.choices = [SelectChoice(*option) for option in services.video_options(current)]
    if request.method == "GET" and current is not None:
        form.process(
            data={
                "title": current.title,
                "body": current.body,
                "video_id": str(current.video_id or ""),
                "quiz": services.quiz_text(current.quiz),
            }
        )
    if form.validate_on_submit():
        try:
            services.save_lesson(found, current, services.check_lesson(form.data, current))
        except services.LmsError as error:
            _show(form, error)
        else:
            toolkit.db.commit()
            flash(_("Leçon enregistrée."), "success")
            return redirect(url_for(".edit_course", course_id=found.id)), 303
    status = 400 if form.errors else 200
    return toolkit.render("lms/lesson_form.html", form=form, course=found, lesson=current), status
