"""The Vidéothèque's rules, shared by the pages, the JSON API and the scheduled job.

Who sees what: a *published* testimony is the platform's shared catalogue (officials learn
from other communes), seen from every commune that uses the library and in the lessons of
the platform's courses (``published_video``); anything else — a video being uploaded,
waiting for moderation or for its captions — is seen by its contributor and the platform
admins only, and only under its own commune's address.

The file goes to the provider the commune chose for the ``video`` capability; the video
remembers that provider (``Video.provider``) and is always played, captioned and deleted
through it, whichever provider the commune uses later.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

import filetype
import webvtt
from flask import current_app, url_for
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload
from webvtt.errors import MalformedCaptionError, MalformedFileError
from werkzeug.exceptions import HTTPException

from core import toolkit
from core.toolkit import gettext as _
from plugins.videotheque.models import (
    APPROVED,
    FAILED,
    MISSING,
    PENDING,
    PROCESSING,
    READY,
    REJECTED,
    THEMES,
    UPLOADING,
    Rating,
    Video,
    VideoTheme,
)

DEFAULT_MAX_BYTES = 2 * 1024**3  # 2 Gio, VIATIC_VIDEOTHEQUE_MAX_BYTES to change it
CHUNK_BYTES = 8 * 1024 * 1024  # what the page's script sends per request
READY_CHECK_EVERY = dt.timedelta(hours=1)  # a playable video, asked about again
CAPTIONS_MAX_BYTES = 512 * 1024
TITLE_MAX = 150
SPEAKER_MAX = 150
REVIEW_MAX = 500
PAGE_SIZE = 12
WIDGET_LIMIT = 4
RELATED_LIMIT = 4
# The start of a file that the type sniffer needs (filetype reads at most 262 bytes).
SNIFF_BYTES = 262
# Population brackets of the search form: (key, lowest, highest) in inhabitants.
POPULATIONS = (
    ("moins-500", 0, 499),
    ("500-1999", 500, 1999),
    ("2000-9999", 2000, 9999),
    ("10000-plus", 10000, None),
)
HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")


class VideoError(Exception):
    """Bad input: ``errors`` maps a field to its French message; ``status`` is what a page
    answers with (413 for a file too big, 415 for a file of the wrong type, else 400)."""

    def __init__(self, errors: dict[str, str], status: int = 400) -> None:
        super().__init__(next(iter(errors.values())))
        self.errors = errors
        self.status = status

    @property
    def message(self) -> str:
        return next(iter(self.errors.values()))


class OffsetConflict(Exception):
    """A chunk came for another offset than the one the upload is at."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


def _audit(action: str, obj: Video | Rating, details: dict[str, Any] | None = None) -> None:
    video = obj if isinstance(obj, Video) else obj.video
    toolkit.audit(
        f"videotheque.{action}",
        commune=video.commune,
        module="videotheque",
        object_type=type(obj).__name__.lower(),
        object_id=obj.id,
        details=details,
    )


def audit_move(video: Video, before: str) -> None:
    _audit("video.moved", video, {"before": before, "after": video.provider})


def max_bytes() -> int:
    return int(current_app.config.get("VIDEOTHEQUE_MAX_BYTES", DEFAULT_MAX_BYTES))


def is_moderator(user: toolkit.User | None) -> bool:
    return user is not None and user.is_active and user.is_platform_admin


# --- providers ------------------------------------------------------------------------------


def provider_of(video: Video) -> toolkit.VideoProvider:
    """The provider holding ``video`` (raises ``CapabilityUnavailable``)."""
    return toolkit.capability(video.commune, "video", provider=video.provider)


def player_html(video: Video, captions_url: str | None = None) -> str | None:
    """The player of a playable video, with its captions track (served at ``captions_url``,
    by default the library's own address); None when it cannot play."""
    if video.status != READY:
        return None
    try:
        provider = provider_of(video)
    except toolkit.CapabilityUnavailable:
        return None
    if not video.captions_vtt:
        captions_url = None
    elif captions_url is None:
        captions_url = url_for("videotheque.captions", video_id=video.id)
    return provider.embed_html(video.provider_ref, video.title, captions_url)


# --- captions -------------------------------------------------------------------------------


def check_captions(data: bytes) -> str:
    """The text of a WebVTT file, or VideoError naming what is wrong with it."""
    if not data:
        raise VideoError({"captions": _("Le fichier de sous-titres est vide.")})
    if len(data) > CAPTIONS_MAX_BYTES:
        raise VideoError({"captions": _("Le fichier de sous-titres dépasse 512 Ko.")}, 413)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VideoError(
            {"captions": _("Le fichier de sous-titres doit être un fichier WebVTT en UTF-8.")},
            415,
        ) from None
    text = text.replace("\r\n", "\n")
    not_vtt = _("Ce fichier n'est pas au format WebVTT (il doit commencer par « WEBVTT »).")
    if not re.match(r"WEBVTT(?:[ \t][^\n]*)?(?:\n|$)", text):
        raise VideoError({"captions": not_vtt}, 415)
    bad_timings = _("Ce fichier WebVTT contient une erreur : vérifiez les horodatages.")
    try:
        captions = webvtt.from_string(text)
    except (MalformedFileError, MalformedCaptionError):
        raise VideoError({"captions": bad_timings}) from None
    # The parser skips a cue whose timings it cannot read: refused, rather than lost silently.
    timing_lines = sum("-->" in line for line in text.split("\n"))
    if len(captions.captions) < timing_lines:
        raise VideoError({"captions": bad_timings})
    if not captions.captions:
        raise VideoError({"captions": _("Ce fichier WebVTT ne contient aucun sous-titre.")})
    # WebVTT wants a cue to end after it starts; the parser does not check it, and players
    # would never show such a cue.
    for number, caption in enumerate(captions.captions, start=1):
        if caption.end_in_seconds <= caption.start_in_seconds:
            raise VideoError(
                {
                    "captions": _(
                        "Le sous-titre n° %(num)d (%(start)s) finit avant de commencer : "
                        "vérifiez ses horodatages.",
                        num=number,
                        start=caption.start,
                    )
                }
            )
    return text


# --- contributing ---------------------------------------------------------------------------


@dataclass
class Contribution:
    title: str
    description: str
    speaker: str
    themes: list[str]
    consent: bool
    size: int | None
    captions: bytes | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _check_contribution(c: Contribution) -> dict[str, str]:
    errors: dict[str, str] = {}
    title = c.title.strip()
    if not title:
        errors["title"] = _("Donnez un titre au témoignage.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Le titre ne doit pas dépasser %(n)d caractères.", n=TITLE_MAX)
    if len(c.speaker.strip()) > SPEAKER_MAX:
        errors["speaker"] = _("Ce champ ne doit pas dépasser %(n)d caractères.", n=SPEAKER_MAX)
    if not c.themes:
        errors["themes"] = _("Choisissez au moins un thème.")
    elif any(theme not in THEMES for theme in c.themes):
        errors["themes"] = _("Choisissez les thèmes dans la liste.")
    if not c.consent:
        errors["consent"] = _(
            "Confirmez que les personnes filmées ont donné leur accord à la diffusion."
        )
    if c.size is None or c.size <= 0:
        errors["file"] = _("Choisissez le fichier vidéo à envoyer.")
    elif c.size > max_bytes():
        errors["file"] = _(
            "Ce fichier dépasse la taille maximale (%(max)s Mo).", max=max_bytes() // 1024**2
        )
    return errors


def contribute(commune: toolkit.Commune, user: toolkit.User, c: Contribution) -> Video:
    """Record a new testimony and start its upload at the commune's provider."""
    toolkit.check("videotheque.contribute")
    errors = _check_contribution(c)
    captions = None
    if c.captions:
        try:
            captions = check_captions(c.captions)
        except VideoError as error:
            errors.update(error.errors)
    if errors:
        raise VideoError(errors)
    try:
        provider = toolkit.capability(commune, "video")
        upload = provider.start_upload(c.size or 0, c.title.strip(), c.description.strip())
    except toolkit.CapabilityUnavailable:
        current_app.logger.exception("videotheque: no provider could take an upload")
        raise VideoError(
            {"file": _("L'hébergement des vidéos est momentanément indisponible. Réessayez.")}
        ) from None
    video = Video(
        commune_id=commune.id,
        title=c.title.strip(),
        description=c.description.strip(),
        speaker=c.speaker.strip(),
        contributor_id=user.id,
        consent_at=toolkit.utcnow(),
        provider=provider.name,
        provider_ref=upload.ref,
        upload_resume=upload.resume,
        size=c.size,
        captions_vtt=captions,
        themes=[VideoTheme(theme=t) for t in dict.fromkeys(c.themes)],
    )
    toolkit.db.add(video)
    toolkit.db.flush()
    _audit("video.contributed", video, {"provider": video.provider, "size": video.size})
    return video


def _sniffed(head: bytes) -> bool:
    kind = filetype.guess(head)
    return kind is not None and kind.mime.startswith("video/")


class _Joined:
    """``head`` then the rest of ``stream``: the bytes read to sniff are sent too."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._stream.read(size)


def receive_chunk(
    video: Video, user: toolkit.User, offset: int, stream: IO[bytes], length: int
) -> int:
    """Pass ``length`` bytes of the contributor's file to the provider, at ``offset``;
    returns the new offset. The first chunk must show a video (its content, not its name):
    otherwise the upload is cancelled and nothing is kept."""
    if video.contributor_id != user.id:
        toolkit.refuse(_("Seule la personne qui envoie la vidéo peut la téléverser."), 403)
    if video.status != UPLOADING:
        raise OffsetConflict(video.received)
    if offset != video.received:
        raise OffsetConflict(video.received)
    if length <= 0 or offset + length > video.size:
        raise VideoError({"file": _("Ce morceau dépasse la taille annoncée du fichier.")})
    provider = provider_of(video)
    upload = toolkit.VideoUpload(video.provider_ref, video.upload_resume)
    if offset == 0:
        head = stream.read(min(SNIFF_BYTES, length))
        if not _sniffed(head):
            cancel_upload(video, provider)
            raise VideoError(
                {"file": _("Ce fichier n'est pas une vidéo (MP4, WebM, MOV, MKV...).")}
            )
        stream = _Joined(head, stream)  # type: ignore[assignment]
    try:
        video.received = provider.upload_chunk(upload, offset, stream, length)
    except toolkit.CapabilityUnavailable:
        # Part of the chunk may have arrived: the provider says how much it kept.
        resync(video, provider)
        raise
    if video.received >= video.size:
        finish_upload(video, provider)
    return video.received


def resync(video: Video, provider: toolkit.VideoProvider | None = None) -> int:
    """Ask the provider how many bytes it has (after an interruption) and remember it."""
    if video.status != UPLOADING:
        return video.received
    try:
        provider = provider or provider_of(video)
        video.received = provider.upload_offset(
            toolkit.VideoUpload(video.provider_ref, video.upload_resume)
        )
    except toolkit.CapabilityUnavailable:
        current_app.logger.warning("videotheque: offset of video %s unknown for now", video.id)
    return video.received


def cancel_upload(video: Video, provider: toolkit.VideoProvider) -> None:
    try:
        provider.delete(video.provider_ref)
    except toolkit.CapabilityUnavailable:
        current_app.logger.warning("videotheque: video %s left at %s", video.id, video.provider)
    _audit("video.refused_file", video)
    toolkit.db.delete(video)
    toolkit.db.commit()


def finish_upload(video: Video, provider: toolkit.VideoProvider) -> None:
    video.status = PROCESSING
    video.upload_resume = ""
    if video.captions_vtt:
        _send_captions(video, provider)
    refresh(video, provider)
    _audit("video.uploaded", video)


def _send_captions(video: Video, provider: toolkit.VideoProvider) -> None:
    try:
        provider.attach_captions(
            video.provider_ref, (video.captions_vtt or "").encode(), video.captions_language
        )
    except toolkit.CapabilityUnavailable:
        # Kept here (the portal's own track shows them); attaching them again resends them.
        current_app.logger.warning("videotheque: captions of video %s not sent", video.id)


def refresh(video: Video, provider: toolkit.VideoProvider | None = None) -> str:
    """Ask the provider where the video stands (scheduled job, end of upload)."""
    if video.status not in (PROCESSING, READY):
        return video.status
    try:
        state = (provider or provider_of(video)).state(video.provider_ref)
    except toolkit.CapabilityUnavailable:
        return video.status
    video.status = {
        toolkit.VIDEO_READY: READY,
        toolkit.VIDEO_FAILED: FAILED,
        toolkit.VIDEO_MISSING: MISSING,
    }.get(state, PROCESSING)
    publish_if_due(video)
    return video.status


def publish_if_due(video: Video) -> bool:
    """Publish once playable, approved and captioned (RGAA 4.3: captions before showing)."""
    due = video.status == READY and video.moderation == APPROVED and bool(video.captions_vtt)
    if due and video.published_at is None:
        video.published_at = toolkit.utcnow()
        _audit("video.published", video)
        if video.contributor is not None:
            toolkit.notify(
                [video.contributor],
                "videotheque.published",
                _("Votre témoignage est publié"),
                video.title,
                _page_path(video),
                commune=video.commune,
            )
    return due


def _page_path(video: Video) -> str:
    # Also called by the scheduled job, which has no request for url_for to build from.
    return current_app.url_map.bind("").build(
        "videotheque.show", {"video_id": video.id, "insee": video.commune.insee}
    )


def attach_captions(video: Video, user: toolkit.User, data: bytes) -> None:
    if not (video.contributor_id == user.id or is_moderator(user)):
        toolkit.refuse(_("Vous ne pouvez pas modifier ce témoignage."), 403)
    video.captions_vtt = check_captions(data)
    if video.status in (PROCESSING, READY):
        # A provider that is down does not stop the captions: the portal's track shows them.
        with contextlib.suppress(toolkit.CapabilityUnavailable):
            _send_captions(video, provider_of(video))
    _audit("video.captioned", video)
    publish_if_due(video)


def moderate(video: Video, user: toolkit.User, approve: bool) -> None:
    if not is_moderator(user):
        toolkit.refuse(_("Seuls les administrateurs de la plateforme modèrent les vidéos."), 403)
    video.moderation = APPROVED if approve else REJECTED
    video.moderated_at = toolkit.utcnow()
    if not approve:
        video.published_at = None
    _audit("video.approved" if approve else "video.rejected", video)
    publish_if_due(video)


# --- reading --------------------------------------------------------------------------------


def may_see(video: Video, commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    if video.published:
        return True
    if video.commune_id != commune.id or user is None:
        return False
    return video.contributor_id == user.id or is_moderator(user)


def get_video(commune: toolkit.Commune, user: toolkit.User | None, video_id: int) -> Video:
    """The video, or the core's 404 when this person may not see it from this commune."""
    video = toolkit.db.get(Video, video_id)
    if video is None or not may_see(video, commune, user):
        toolkit.refuse(_("Cette vidéo n'existe pas ou n'est pas visible."), 404)
    return video


MAX_PAGE = 10_000


@dataclass
class Filters:
    """What the catalogue is searched by; built from a query string, so cleaned here: text
    bounded and without control characters (PostgreSQL refuses NUL), the page bounded."""

    query: str = ""
    theme: str = ""
    commune: str = ""  # INSEE code
    population: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    page: int = 1

    def __post_init__(self) -> None:
        self.query = _printable(self.query)[:100]
        self.commune = _printable(self.commune)[:5]
        self.page = min(max(self.page, 1), MAX_PAGE)


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())


def _published() -> Select[tuple[Video]]:
    return (
        select(Video)
        .where(Video.published_at.is_not(None))
        .options(selectinload(Video.themes), selectinload(Video.commune))
    )


def search(filters: Filters) -> tuple[list[Video], int]:
    """The published testimonies matching ``filters``, newest first: (page, total)."""
    query = _published()
    if filters.query:
        like = f"%{filters.query.strip().lower()}%"
        query = query.where(
            func.lower(Video.title).like(like)
            | func.lower(Video.description).like(like)
            | func.lower(Video.speaker).like(like)
        )
    if filters.theme:
        query = query.where(Video.themes.any(VideoTheme.theme == filters.theme))
    if filters.commune:
        query = query.where(Video.commune.has(toolkit.Commune.insee == filters.commune))
    bracket = next((b for b in POPULATIONS if b[0] == filters.population), None)
    if bracket is not None:
        _key, low, high = bracket
        condition = toolkit.Commune.population >= low
        if high is not None:
            condition = condition & (toolkit.Commune.population <= high)
        query = query.where(Video.commune.has(condition))
    if filters.since:
        start = dt.datetime.combine(filters.since, dt.time(), dt.UTC)
        query = query.where(Video.published_at >= start)
    if filters.until:
        end = dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time(), dt.UTC)
        query = query.where(Video.published_at < end)
    total = toolkit.db.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = filters.page
    rows = toolkit.db.scalars(
        query.order_by(Video.published_at.desc(), Video.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return list(rows), total


def communes_with_videos() -> list[toolkit.Commune]:
    return list(
        toolkit.db.scalars(
            select(toolkit.Commune)
            .where(
                toolkit.Commune.id.in_(
                    select(Video.commune_id).where(Video.published_at.is_not(None))
                )
            )
            .order_by(toolkit.Commune.name)
        )
    )


def related(video: Video) -> list[Video]:
    """Published testimonies sharing a theme with ``video``, newest first."""
    themes = [t.theme for t in video.themes]
    query = _published().where(Video.id != video.id, Video.themes.any(VideoTheme.theme.in_(themes)))
    return list(toolkit.db.scalars(query.order_by(Video.published_at.desc()).limit(RELATED_LIMIT)))


def published_video(video_id: int | None) -> Video | None:
    """A published testimony by its id (for another module that shows it), else None."""
    if video_id is None:
        return None
    return toolkit.db.scalar(_published().where(Video.id == video_id))


def exists(video_id: int) -> bool:
    """Whether the library still holds this video, published or not."""
    return toolkit.db.get(Video, video_id) is not None


def published_videos() -> list[Video]:
    """Every published testimony, by title: what an author picks a video from."""
    return list(toolkit.db.scalars(_published().order_by(Video.title, Video.id)))


def video_in_link(link: str) -> int | None:
    """The id of the video whose page ``link`` is (under any commune, with or without the
    host), else None: an author pastes the address of the page they watched."""
    try:
        endpoint, args = current_app.url_map.bind("").match(
            urlsplit(link.strip()).path, method="GET"
        )
    except HTTPException:
        return None
    return args["video_id"] if endpoint == "videotheque.show" else None


def video_url(video: Video, commune: toolkit.Commune) -> str:
    """The video's page under ``commune`` (a published video is read from any commune)."""
    return url_for("videotheque.show", video_id=video.id, insee=commune.insee)


def newest(limit: int = WIDGET_LIMIT) -> list[Video]:
    return list(toolkit.db.scalars(_published().order_by(Video.published_at.desc()).limit(limit)))


def mine(commune: toolkit.Commune, user: toolkit.User) -> list[Video]:
    """The contributor's testimonies that are not published yet."""
    return list(
        toolkit.db.scalars(
            select(Video)
            .where(
                Video.commune_id == commune.id,
                Video.contributor_id == user.id,
                Video.published_at.is_(None),
            )
            .order_by(Video.created_at.desc())
        )
    )


def moderation_queue() -> list[Video]:
    """Testimonies waiting for a moderator, from every commune."""
    return list(
        toolkit.db.scalars(
            select(Video)
            .where(Video.moderation == PENDING, Video.status.in_((PROCESSING, READY)))
            .options(selectinload(Video.commune))
            .order_by(Video.created_at)
        )
    )


def refresh_commune(commune: toolkit.Commune) -> int:
    """Scheduled job: ask the providers about the commune's videos still being prepared, at
    each run, and about the playable ones once every ``READY_CHECK_EVERY`` (so that a video
    deleted at the provider shows as unavailable, without spending the provider's quota of
    calls on videos that do not change)."""
    now = toolkit.utcnow()
    due = or_(Video.checked_at.is_(None), Video.checked_at < now - READY_CHECK_EVERY)
    videos = toolkit.db.scalars(
        select(Video).where(
            Video.commune_id == commune.id,
            or_(Video.status == PROCESSING, and_(Video.status == READY, due)),
        )
    )
    changed = 0
    for video in videos:
        before = video.status
        if refresh(video) != before:
            changed += 1
        if video.status == READY:
            video.checked_at = now
    toolkit.db.commit()
    return changed


# --- ratings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    average: float | None
    count: int


def score(video: Video) -> Score:
    average, count = toolkit.db.execute(
        select(func.avg(Rating.stars), func.count(Rating.id)).where(Rating.video_id == video.id)
    ).one()
    return Score(round(float(average), 1) if average is not None else None, count)


def scores(videos: Iterable[Video]) -> dict[int, Score]:
    ids = [v.id for v in videos]
    if not ids:
        return {}
    rows = toolkit.db.execute(
        select(Rating.video_id, func.avg(Rating.stars), func.count(Rating.id))
        .where(Rating.video_id.in_(ids))
        .group_by(Rating.video_id)
    )
    found = {vid: Score(round(float(avg), 1), n) for vid, avg, n in rows}
    return {i: found.get(i, Score(None, 0)) for i in ids}


def my_rating(video: Video, user: toolkit.User | None) -> Rating | None:
    if user is None:
        return None
    return toolkit.db.scalar(
        select(Rating).where(Rating.video_id == video.id, Rating.user_id == user.id)
    )


def reviews(video: Video, user: toolkit.User | None) -> list[Rating]:
    """The reviews people read: not hidden (moderators see the hidden ones too)."""
    query = select(Rating).where(Rating.video_id == video.id, Rating.review != "")
    if not is_moderator(user):
        query = query.where(Rating.hidden_at.is_(None))
    return list(
        toolkit.db.scalars(
            query.options(selectinload(Rating.user)).order_by(Rating.updated_at.desc())
        )
    )


def parse_stars(raw: Any) -> int:
    try:
        stars = int(str(raw).strip())
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise VideoError({"stars": _("Choisissez une note de 1 à 5 étoiles.")})
    return stars


def rate(video: Video, user: toolkit.User, stars: Any, review: str) -> Rating:
    """Give (or change: one per person) a rating with an optional short plain-text review."""
    toolkit.check("videotheque.rate")
    if not video.published:
        raise VideoError({"stars": _("Seules les vidéos publiées peuvent être notées.")})
    errors: dict[str, str] = {}
    try:
        value = parse_stars(stars)
    except VideoError as error:
        errors.update(error.errors)
    review = (review or "").strip()
    if len(review) > REVIEW_MAX:
        errors["review"] = _("L'avis ne doit pas dépasser %(n)d caractères.", n=REVIEW_MAX)
    elif HTML_TAG.search(review):
        errors["review"] = _("L'avis doit être du texte simple, sans balises HTML.")
    if errors:
        raise VideoError(errors)
    rating = my_rating(video, user) or _first_rating(video, user, value, review)
    if rating.stars != value or rating.review != review:
        if rating.review != review:
            rating.reported_at = None  # a new text deserves a new look
            rating.hidden_at = None
        rating.stars, rating.review, rating.updated_at = value, review, toolkit.utcnow()
    toolkit.db.flush()
    _audit("rating.saved", video, {"stars": value})
    return rating


def _first_rating(video: Video, user: toolkit.User, stars: int, review: str) -> Rating:
    """A person's first rating of ``video``; or, when their other click at the same instant
    made it first (the one-per-person constraint), that one, which this click then changes."""
    rating = Rating(video_id=video.id, user_id=user.id, stars=stars, review=review)
    if toolkit.add_once(rating):
        return rating
    return toolkit.db.scalars(
        select(Rating).where(Rating.video_id == video.id, Rating.user_id == user.id)
    ).one()


def get_rating(video: Video, rating_id: int) -> Rating:
    rating = toolkit.db.get(Rating, rating_id)
    if rating is None or rating.video_id != video.id:
        toolkit.refuse(_("Cet avis n'existe pas."), 404)
    return rating


def report(rating: Rating, user: toolkit.User) -> None:
    toolkit.check("videotheque.rate")
    if rating.reported_at is None:
        rating.reported_at = toolkit.utcnow()
        _audit("rating.reported", rating)


def hide(rating: Rating, user: toolkit.User, hidden: bool = True) -> None:
    if not is_moderator(user):
        toolkit.refuse(_("Seuls les administrateurs de la plateforme modèrent les avis."), 403)
    rating.hidden_at = toolkit.utcnow() if hidden else None
    _audit("rating.hidden" if hidden else "rating.shown", rating)


def reported_reviews() -> list[Rating]:
    return list(
        toolkit.db.scalars(
            select(Rating)
            .where(Rating.reported_at.is_not(None), Rating.hidden_at.is_(None))
            .options(selectinload(Rating.video), selectinload(Rating.user))
            .order_by(Rating.reported_at)
        )
    )
