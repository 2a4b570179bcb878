"""The Vidéothèque's JSON API: the published testimonies, one testimony, and one's rating,
through the same services as the pages.

Mounted by the core under ``/api/v1/c/<INSEE>/videotheque/``. Tokens need the scopes
``videotheque:read`` (read) and ``videotheque:rate`` (rate). Errors are problems (RFC 9457):
400 naming the ``field`` at fault for bad input, the core's 401/403/404 for the rest.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for

from core import toolkit
from core.toolkit import gettext as _
from plugins.videotheque import services
from plugins.videotheque.models import THEMES, Video

bp = Blueprint("videotheque_api", __name__)


@bp.errorhandler(services.VideoError)
def _invalid(error: services.VideoError) -> Any:
    toolkit.db.rollback()
    field = next(iter(error.errors))
    return toolkit.problem(400, _("Demande incorrecte"), error.message, field=field)


class VideoOut(toolkit.ApiSchema):
    """A testimony as the API shows it."""

    id: int
    title: str
    description: str
    speaker: str
    commune: str
    commune_insee: str
    themes: list[str]
    published_at: str | None
    status: str
    rating_average: float | None
    rating_count: int
    captions_url: str | None
    url: str


class RatingOut(toolkit.ApiSchema):
    stars: int
    review: str
    rating_average: float | None
    rating_count: int


def _as_json(video: Video, score: services.Score) -> dict[str, Any]:
    return {
        "id": video.id,
        "title": video.title,
        "description": video.description,
        "speaker": video.speaker,
        "commune": video.commune.name,
        "commune_insee": video.commune.insee,
        "themes": [t.theme for t in video.themes],
        "published_at": video.published_at.isoformat() if video.published_at else None,
        "status": video.status,
        "rating_average": score.average,
        "rating_count": score.count,
        "captions_url": (
            url_for("videotheque.captions", video_id=video.id, _external=True)
            if video.captions_vtt
            else None
        ),
        "url": url_for("videotheque.show", video_id=video.id, _external=True),
    }


@bp.get("/videos")
@toolkit.requires("videotheque.view")
@toolkit.api_operation(
    "Les témoignages publiés",
    response=VideoOut,
    many=True,
    tags=["vidéothèque"],
    scopes=["videotheque:read"],
    query={
        "q": {"type": "string"},
        "theme": {"type": "string", "enum": list(THEMES)},
        "commune": {"type": "string", "description": "code INSEE"},
        "page": {"type": "integer", "minimum": 1, "maximum": 10_000},
    },
)
def list_videos() -> Any:
    args = request.args
    theme = args.get("theme", "")
    if theme and theme not in THEMES:
        raise services.VideoError({"theme": _("Ce thème n'existe pas.")})
    try:
        page = int(args.get("page", "1"))
    except ValueError:
        page = 0
    if not 1 <= page <= services.MAX_PAGE:
        raise services.VideoError({"page": _("La page doit être un nombre de 1 à 10 000.")})
    filters = services.Filters(
        query=args.get("q", ""), theme=theme, commune=args.get("commune", ""), page=page
    )
    videos, _total = services.search(filters)
    scores = services.scores(videos)
    return [_as_json(video, scores[video.id]) for video in videos]


@bp.get("/videos/<int:video_id>")
@toolkit.requires("videotheque.view")
@toolkit.api_operation(
    "Un témoignage", response=VideoOut, tags=["vidéothèque"], scopes=["videotheque:read"]
)
def get_video(video_id: int) -> Any:
    video = services.get_video(toolkit.current_commune(), toolkit.current_user(), video_id)
    return _as_json(video, services.score(video))


@bp.put("/videos/<int:video_id>/ma-note")
@toolkit.requires("videotheque.rate")
@toolkit.api_operation(
    "Noter un témoignage (ou changer sa note)",
    response=RatingOut,
    tags=["vidéothèque"],
    scopes=["videotheque:rate"],
)
def rate(video_id: int) -> Any:
    video = services.get_video(toolkit.current_commune(), toolkit.current_user(), video_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        toolkit.refuse(_("Envoyez un objet JSON avec une note (« stars ») de 1 à 5."))
    rating = services.rate(video, toolkit.current_user(), data.get("stars"), data.get("review", ""))
    toolkit.db.commit()
    score = services.score(video)
    return {
        "stars": rating.stars,
        "review": rating.review,
        "rating_average": score.average,
        "rating_count": score.count,
    }
