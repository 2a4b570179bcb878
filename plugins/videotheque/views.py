"""The Vidéothèque's pages: the catalogue and its search, a testimony with its player,
captions, ratings and related videos, contributing (the form, then the chunked upload the
page's script sends), the captions track, and the moderators' queue.

Thin: parse, call ``services``, render. The upload itself is a small resumable protocol on
``/televersement/<id>``: ``HEAD`` says how many bytes the provider holds (``Upload-Offset``),
``PATCH`` sends the next chunk at that offset (``Upload-Offset`` header, CSRF token in
``X-CSRFToken``), as tus does; the script resumes from the offset after any failure.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, request, url_for
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
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
from plugins.videotheque import services
from plugins.videotheque.models import THEMES, Video

HERE = Path(__file__).parent
bp = Blueprint(
    "videotheque",
    __name__,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static",
)

POPULATION_LABELS = {
    "moins-500": _l("Moins de 500 habitants"),
    "500-1999": _l("De 500 à 1 999 habitants"),
    "2000-9999": _l("De 2 000 à 9 999 habitants"),
    "10000-plus": _l("10 000 habitants et plus"),
}


class ContributeForm(toolkit.Form):
    title = StringField(
        _l("Titre"),
        [InputRequired(_l("Donnez un titre au témoignage."))],
        description=_l("Par exemple « Rénover l'école sans fermer une seule classe »."),
        render_kw={"maxlength": services.TITLE_MAX},
    )
    speaker = StringField(
        _l("Qui témoigne"),
        description=_l("Nom et fonction, par exemple « Claire Martin, maire »."),
        render_kw={"maxlength": services.SPEAKER_MAX},
    )
    description = TextAreaField(_l("Description"), render_kw={"rows": 4})
    themes = SelectMultipleField(
        _l("Thèmes"),
        choices=[SelectChoice(k, v) for k, v in THEMES.items()],
        validate_choice=False,
    )
    file = FileField(
        _l("Fichier vidéo"),
        description=_l("MP4, WebM, MOV ou MKV ; l'envoi reprend où il s'était arrêté."),
        render_kw={"accept": "video/*"},
    )
    size = HiddenField()  # the file's size, filled in by the page's script
    captions = FileField(
        _l("Sous-titres (WebVTT)"),
        description=_l(
            "Fichier .vtt. Obligatoires avant la publication : vous pouvez les ajouter plus tard."
        ),
        render_kw={"accept": ".vtt,text/vtt"},
    )
    consent = BooleanField(
        _l("Les personnes filmées ont donné leur accord écrit à la diffusion de la vidéo.")
    )


class CaptionsForm(toolkit.Form):
    captions = FileField(_l("Sous-titres (WebVTT)"), render_kw={"accept": ".vtt,text/vtt"})


class RatingForm(toolkit.Form):
    stars = SelectField(
        _l("Votre note"),
        choices=[SelectChoice(str(n), _l("%(n)s sur 5", n=n)) for n in range(5, 0, -1)],
        validate_choice=False,
    )
    review = TextAreaField(
        _l("Votre avis (facultatif)"),
        description=_l("Texte simple, 500 caractères au plus."),
        render_kw={"rows": 3, "maxlength": services.REVIEW_MAX},
    )


class ModerationForm(toolkit.Form):
    """A button's form: only the CSRF token."""


def _show_errors(form: toolkit.Form, error: services.VideoError) -> None:
    for name, message in error.errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            flash(message, "error")


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _int(raw: str | None, default: int = 1) -> int:
    try:
        return max(int(raw or default), 1)
    except ValueError:
        return default


# --- the catalogue ----------------------------------------------------------------------------


@bp.get("/")
@toolkit.requires("videotheque.view")
def index() -> str:
    args = request.args
    filters = services.Filters(
        query=args.get("q", ""),
        theme=args.get("theme", "") if args.get("theme") in THEMES else "",
        commune=args.get("commune", ""),
        population=args.get("population", "")
        if args.get("population") in POPULATION_LABELS
        else "",
        since=_date(args.get("depuis")),
        until=_date(args.get("jusqu")),
        page=_int(args.get("page")),
    )
    videos, total = services.search(filters)
    user = toolkit.current_user()
    return toolkit.render(
        "videotheque/index.html",
        videos=videos,
        total=total,
        filters=filters,
        scores=services.scores(videos),
        themes=THEMES,
        populations=POPULATION_LABELS,
        communes=services.communes_with_videos(),
        pages=(total + services.PAGE_SIZE - 1) // services.PAGE_SIZE,
        mine=services.mine(toolkit.current_commune(), user) if user else [],
        can_contribute=toolkit.has_permission(
            user, toolkit.current_commune(), "videotheque.contribute"
        ),
        moderator=services.is_moderator(user),
    )


@bp.get("/video/<int:video_id>")
@toolkit.requires("videotheque.view")
def show(video_id: int) -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    video = services.get_video(commune, user, video_id)
    return _show_page(video, _rating_form(video, user))


def _rating_form(video: Video, user: toolkit.User | None) -> RatingForm:
    """The rating form filled with the person's rating, if they gave one."""
    mine = services.my_rating(video, user)
    return RatingForm(stars=str(mine.stars) if mine else "5", review=mine.review if mine else "")


def _show_page(
    video: Video,
    form: RatingForm,
    status: int = 200,
    captions_form: CaptionsForm | None = None,
) -> Any:
    user = toolkit.current_user()
    return toolkit.render(
        "videotheque/show.html",
        video=video,
        player=services.player_html(video),
        score=services.score(video),
        mine=services.my_rating(video, user),
        reviews=services.reviews(video, user),
        related=services.related(video),
        form=form,
        captions_form=captions_form or CaptionsForm(),
        button=ModerationForm(),
        can_rate=video.published
        and toolkit.has_permission(user, toolkit.current_commune(), "videotheque.rate"),
        is_contributor=user is not None and video.contributor_id == user.id,
        moderator=services.is_moderator(user),
        chunk_bytes=services.CHUNK_BYTES,
    ), status


@bp.get("/video/<int:video_id>/sous-titres.vtt")
@toolkit.requires("videotheque.view")
def captions(video_id: int) -> Response:
    video = services.get_video(toolkit.current_commune(), toolkit.current_user(), video_id)
    if not video.captions_vtt:
        toolkit.refuse(_("Cette vidéo n'a pas encore de sous-titres."), 404)
    return Response(video.captions_vtt, mimetype="text/vtt", headers={"Cache-Control": "private"})


# --- ratings ----------------------------------------------------------------------------------


@bp.post("/video/<int:video_id>/note")
@toolkit.requires("videotheque.rate")
def rate(video_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    video = services.get_video(commune, user, video_id)
    form = RatingForm()
    try:
        services.rate(video, user, form.stars.data, form.review.data or "")
    except services.VideoError as error:
        toolkit.db.rollback()
        _show_errors(form, error)
        return _show_page(video, form, 400)
    toolkit.db.commit()
    flash(_("Merci, votre note est enregistrée."), "success")
    return redirect(url_for("videotheque.show", video_id=video.id) + "#notes")


@bp.post("/video/<int:video_id>/avis/<int:rating_id>/signaler")
@toolkit.requires("videotheque.rate")
def report(video_id: int, rating_id: int) -> Any:
    video = services.get_video(toolkit.current_commune(), toolkit.current_user(), video_id)
    services.report(services.get_rating(video, rating_id), toolkit.current_user())
    toolkit.db.commit()
    flash(_("Merci, l'avis est signalé aux modérateurs."), "success")
    return redirect(url_for("videotheque.show", video_id=video.id) + "#avis")


@bp.post("/video/<int:video_id>/avis/<int:rating_id>/masquer")
@toolkit.requires("videotheque.view")
def hide_review(video_id: int, rating_id: int) -> Any:
    video = services.get_video(toolkit.current_commune(), toolkit.current_user(), video_id)
    rating = services.get_rating(video, rating_id)
    services.hide(rating, toolkit.current_user(), hidden=rating.hidden_at is None)
    toolkit.db.commit()
    if request.form.get("back") == "moderation":
        return redirect(url_for("videotheque.moderation"))
    return redirect(url_for("videotheque.show", video_id=video.id) + "#avis")


# --- contributing -----------------------------------------------------------------------------


@bp.route("/contribuer", methods=["GET", "POST"])
@toolkit.requires("videotheque.contribute")
def contribute() -> Any:
    """The form. Its script posts the fields with the file's size (not the file); the
    answer names the upload address, where the script then sends the file in chunks."""
    form = ContributeForm()
    wants_json = request.accept_mimetypes.best == "application/json"
    if request.method == "POST":
        captions = request.files.get("captions")
        contribution = services.Contribution(
            title=form.title.data or "",
            description=form.description.data or "",
            speaker=form.speaker.data or "",
            themes=form.themes.data or [],
            consent=bool(form.consent.data),
            size=_size(form.size.data),
            captions=captions.read(services.CAPTIONS_MAX_BYTES + 1) if captions else None,
        )
        try:
            video = services.contribute(
                toolkit.current_commune(), toolkit.current_user(), contribution
            )
        except services.VideoError as error:
            toolkit.db.rollback()
            if wants_json:
                return jsonify(errors=error.errors), 400
            _show_errors(form, error)
            return toolkit.render("videotheque/contribute.html", form=form), 400
        toolkit.db.commit()
        page = url_for("videotheque.show", video_id=video.id)
        if wants_json:
            upload = url_for("videotheque.upload", video_id=video.id)
            return jsonify(upload_url=upload, video_url=page, offset=0), 201
        return redirect(page)
    return toolkit.render(
        "videotheque/contribute.html", form=form, chunk_bytes=services.CHUNK_BYTES
    )


def _size(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _offset_headers(video: Video) -> dict[str, str]:
    return {
        "Upload-Offset": str(video.received),
        "Upload-Length": str(video.size),
        "Cache-Control": "no-store",
    }


@bp.route("/televersement/<int:video_id>", methods=["HEAD", "GET"])
@toolkit.requires("videotheque.contribute")
def upload_offset(video_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    video = services.get_video(commune, user, video_id)
    if video.contributor_id != user.id:
        toolkit.refuse(_("Seule la personne qui envoie la vidéo peut la téléverser."), 403)
    services.resync(video)
    toolkit.db.commit()
    return Response(status=204, headers=_offset_headers(video))


@bp.patch("/televersement/<int:video_id>")
@toolkit.requires("videotheque.contribute")
def upload(video_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    video = services.get_video(commune, user, video_id)
    length = request.content_length
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return toolkit.problem(400, _("Demande incorrecte"), _("L'en-tête Upload-Offset manque."))
    if not length:
        return toolkit.problem(400, _("Demande incorrecte"), _("Le morceau envoyé est vide."))
    try:
        services.receive_chunk(video, user, offset, request.stream, length)
    except services.OffsetConflict:
        return Response(status=409, headers=_offset_headers(video))
    except services.VideoError as error:
        return toolkit.problem(422, _("Fichier refusé"), error.message, field="file")
    except toolkit.CapabilityUnavailable:
        toolkit.db.commit()  # what the provider kept, to resume from there
        return toolkit.problem(
            503,
            _("Service momentanément indisponible"),
            _("L'hébergement des vidéos ne répond pas ; l'envoi reprendra où il s'est arrêté."),
        )
    toolkit.db.commit()
    return Response(status=204, headers=_offset_headers(video))


@bp.post("/video/<int:video_id>/sous-titres")
@toolkit.requires("videotheque.contribute")
def add_captions(video_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    video = services.get_video(commune, user, video_id)
    form = CaptionsForm()
    upload = request.files.get("captions")
    try:
        if upload is None or not upload.filename:
            raise services.VideoError({"captions": _("Choisissez un fichier de sous-titres.")})
        services.attach_captions(video, user, upload.read(services.CAPTIONS_MAX_BYTES + 1))
    except services.VideoError as error:
        toolkit.db.rollback()
        _show_errors(form, error)
        return _show_page(video, _rating_form(video, user), error.status, captions_form=form)
    toolkit.db.commit()
    flash(_("Les sous-titres sont enregistrés."), "success")
    return redirect(url_for("videotheque.show", video_id=video.id))


# --- moderation -------------------------------------------------------------------------------


@bp.get("/moderation")
@toolkit.requires("videotheque.view")
def moderation() -> str:
    if not services.is_moderator(toolkit.current_user()):
        toolkit.refuse(_("Seuls les administrateurs de la plateforme modèrent les vidéos."), 403)
    return toolkit.render(
        "videotheque/moderation.html",
        videos=services.moderation_queue(),
        reported=services.reported_reviews(),
        button=ModerationForm(),
    )


@bp.post("/video/<int:video_id>/moderation")
@toolkit.requires("videotheque.view")
def moderate(video_id: int) -> Any:
    user = toolkit.current_user()
    if not services.is_moderator(user):
        toolkit.refuse(_("Seuls les administrateurs de la plateforme modèrent les vidéos."), 403)
    video = toolkit.db.get(Video, video_id)
    if video is None:
        toolkit.refuse(_("Cette vidéo n'existe pas ou n'est pas visible."), 404)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        toolkit.refuse(_("Décision inconnue."), 400)
    services.moderate(video, user, approve=decision == "approve")
    toolkit.db.commit()
    if decision == "approve" and not video.published:
        flash(_("Vidéo approuvée : elle sera publiée dès qu'elle aura ses sous-titres."), "success")
    else:
        flash(_("Décision enregistrée."), "success")
    return redirect(url_for("videotheque.moderation"))
