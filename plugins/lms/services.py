"""The platform's own courses: reading them, completing lessons, authoring, and the ``lms``
provider the Formations pages use.

Authoring is for platform admins (the courses are the platform's, shared by the communes);
reading a lesson is for anyone who may open the commune's catalogue. A lesson's video is a
published testimony of the Vidéothèque, whatever commune filmed it: the library plays it
through the ``video`` provider that holds it, so the lesson needs no video tool of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from flask import abort
from sqlalchemy import func, select

from core import toolkit
from core.toolkit import gettext as _
from plugins.lms.models import LmsCompletion, LmsCourse, LmsLesson
from plugins.videotheque import services as videotheque

TITLE_MAX = 300
THEMES_MAX = 10  # of the référentiel and others together
LEVELS = ("", "decouverte", "intermediaire", "approfondissement")
# The tags a lesson's text may keep; anything else (scripts, styles, frames) is dropped.
BODY_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "h2", "h3", "a", "blockquote"}


class LmsError(Exception):
    """Bad input, with the field at fault and a message for the person."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- the provider ---------------------------------------------------------------------------


class InHouseProvider:
    """The ``lms`` capability served from this database: nothing leaves the process."""

    key = "lms"
    label = "Viatic"
    remote = False

    def __init__(self, commune: toolkit.Commune, settings: dict[str, Any]) -> None:
        self.commune = commune

    def list_courses(self) -> list[toolkit.CourseInfo]:
        return [
            toolkit.CourseInfo(
                id=str(course.id),
                title=course.title,
                description=course.description,
                duration_minutes=course.duration_minutes,
                level=course.level,
                themes=tuple(course.themes),
                # Where the core mounts this plugin's pages for the commune.
                url=f"/c/{self.commune.insee}/lms/cours/{course.id}",
            )
            for course in published()
        ]

    def enrol(self, course_id: str, learner: toolkit.Learner) -> None:
        course = toolkit.db.get(LmsCourse, int(course_id))
        if course is None or not course.published:
            raise toolkit.EnrolmentRefused(_("Cette formation n'est plus proposée."))

    def progress(
        self, items: Sequence[tuple[str, toolkit.Learner]]
    ) -> dict[tuple[str, int], float | None]:
        course_ids = {int(course_id) for course_id, _learner in items}
        user_ids = {learner.user_id for _course, learner in items}
        lessons = Counter(
            dict(
                toolkit.db.execute(
                    select(LmsLesson.course_id, func.count())
                    .where(LmsLesson.course_id.in_(course_ids))
                    .group_by(LmsLesson.course_id)
                ).all()
            )
        )
        done = {
            (course_id, user_id): count
            for course_id, user_id, count in toolkit.db.execute(
                select(LmsLesson.course_id, LmsCompletion.user_id, func.count())
                .join(LmsCompletion, LmsCompletion.lesson_id == LmsLesson.id)
                .where(LmsLesson.course_id.in_(course_ids), LmsCompletion.user_id.in_(user_ids))
                .group_by(LmsLesson.course_id, LmsCompletion.user_id)
            )
        }
        return {
            (course_id, learner.user_id): 100.0
            * done.get((int(course_id), learner.user_id), 0)
            / lessons[int(course_id)]
            for course_id, learner in items
            if lessons[int(course_id)]
        }


def published() -> list[LmsCourse]:
    return list(
        toolkit.db.scalars(
            select(LmsCourse)
            .where(LmsCourse.published.is_(True), LmsCourse.lessons.any())
            .order_by(LmsCourse.title)
        )
    )


# --- learning -------------------------------------------------------------------------------


def course_or_404(course_id: int, drafts: bool = False) -> LmsCourse:
    course = toolkit.db.get(LmsCourse, course_id)
    if course is None or not (course.published or drafts):
        abort(404)
    return course


def lesson_or_404(course: LmsCourse, position: int) -> LmsLesson:
    lesson = next((item for item in course.lessons if item.position == position), None)
    if lesson is None:
        abort(404)
    return lesson


@dataclass(frozen=True)
class LessonVideo:
    """A lesson's video as its page shows it: the player (through the provider that holds
    the video), or why there is none."""

    title: str = ""
    player: str | None = None
    removed: bool = False  # no longer in the library at all


def lesson_video(lesson: LmsLesson, captions_url: str) -> LessonVideo | None:
    """None when the lesson has no video. A video the library no longer publishes, or that
    its provider cannot play now, comes without a player."""
    if lesson.video_id is None:
        return None
    video = videotheque.published_video(lesson.video_id)
    if video is None:
        return LessonVideo(removed=not videotheque.exists(lesson.video_id))
    return LessonVideo(video.title, videotheque.player_html(video, captions_url))


def lesson_captions(lesson: LmsLesson) -> str | None:
    """The WebVTT captions of the lesson's video, while the library publishes it."""
    video = videotheque.published_video(lesson.video_id)
    return video.captions_vtt if video is not None else None


def completed_ids(user: toolkit.User, course: LmsCourse) -> set[int]:
    return set(
        toolkit.db.scalars(
            select(LmsCompletion.lesson_id)
            .join(LmsLesson, LmsLesson.id == LmsCompletion.lesson_id)
            .where(LmsLesson.course_id == course.id, LmsCompletion.user_id == user.id)
        )
    )


def complete(user: toolkit.User, lesson: LmsLesson, answers: dict[int, str | None]) -> None:
    """Mark the lesson done for ``user`` once its quiz (if any) is answered right; ``answers``
    maps each question's index to the chosen choice's index."""
    for index, question in enumerate(lesson.quiz):
        chosen = answers.get(index)
        if chosen is None or chosen == "":
            raise LmsError(f"q{index}", _("Répondez à chaque question du quiz."))
        if chosen != str(question["answer"]):
            raise LmsError(
                f"q{index}", _("Ce n'est pas la bonne réponse : relisez la leçon et réessayez.")
            )
    if lesson.id in completed_ids(user, lesson.course):
        return
    # The same lesson completed twice at once: once is enough.
    toolkit.add_once(LmsCompletion(lesson_id=lesson.id, user_id=user.id))


# --- authoring ------------------------------------------------------------------------------


def require_author(user: toolkit.User | None) -> None:
    if user is None or not user.is_platform_admin:
        abort(403)


def all_courses() -> list[LmsCourse]:
    return list(toolkit.db.scalars(select(LmsCourse).order_by(LmsCourse.title)))


@dataclass(frozen=True)
class CourseInput:
    title: str
    description: str
    duration_minutes: int | None
    level: str
    themes: list[str]
    published: bool


def check_course(data: dict[str, Any]) -> CourseInput:
    title = (data.get("title") or "").strip()
    if not title:
        raise LmsError("title", _("Donnez un titre à la formation."))
    if len(title) > TITLE_MAX:
        raise LmsError("title", _("Le titre est trop long (300 caractères au plus)."))
    duration = (data.get("duration_minutes") or "").strip()
    if duration and (not duration.isdigit() or not 1 <= int(duration) <= 10000):
        raise LmsError("duration_minutes", _("Donnez la durée en minutes (un nombre entier)."))
    level = data.get("level") or ""
    if level not in LEVELS:
        raise LmsError("level", _("Choisissez un niveau de la liste."))
    codes = {t.code for t in toolkit.referentiel_themes()}
    chosen = [str(t) for t in data.get("referentiel") or ()]
    if any(code not in codes for code in chosen):
        raise LmsError("referentiel", _("Choisissez les thèmes dans la liste du référentiel."))
    others = [t.strip()[:60] for t in (data.get("themes") or "").split(",") if t.strip()]
    themes = list(dict.fromkeys(chosen + others))
    if len(themes) > THEMES_MAX:
        raise LmsError("themes", _("Une formation porte %(max)d thèmes au plus.", max=THEMES_MAX))
    return CourseInput(
        title=title,
        description=(data.get("description") or "").strip(),
        duration_minutes=int(duration) if duration else None,
        level=level,
        themes=themes,
        published=bool(data.get("published")),
    )


def save_course(course: LmsCourse | None, data: CourseInput) -> LmsCourse:
    if course is None:
        course = LmsCourse()
        toolkit.db.add(course)
    course.title, course.description = data.title, data.description
    course.duration_minutes, course.level = data.duration_minutes, data.level
    course.themes, course.published = data.themes, data.published
    toolkit.db.flush()
    toolkit.audit("lms.course.saved", object_type="lms_course", object_id=str(course.id))
    return course


@dataclass(frozen=True)
class LessonInput:
    title: str
    body: str
    video_id: int | None
    quiz: list[dict[str, Any]]


def parse_quiz(text: str) -> list[dict[str, Any]]:
    """One question a line: « Question ? | la bonne réponse | une autre | ... ». The choices
    are shown in alphabetical order, so the right one is not always first."""
    quiz = []
    for number, line in enumerate(filter(None, map(str.strip, text.splitlines())), start=1):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 3 or not all(parts):
            raise LmsError(
                "quiz",
                _(
                    "Ligne %(n)d du quiz : écrivez la question puis au moins deux réponses, "
                    "séparées par « | », la bonne en premier.",
                    n=number,
                ),
            )
        question, right, *others = parts
        choices = sorted({right, *others}, key=str.casefold)
        quiz.append({"question": question, "choices": choices, "answer": choices.index(right)})
    return quiz[:10]


def quiz_text(quiz: list[dict[str, Any]]) -> str:
    """The authoring form's text of a stored quiz (the right answer first)."""
    lines = []
    for item in quiz:
        right = item["choices"][item["answer"]]
        others = [c for c in item["choices"] if c != right]
        lines.append(" | ".join([item["question"], right, *others]))
    return "\n".join(lines)


def video_options(lesson: LmsLesson | None) -> list[tuple[str, str]]:
    """(value, label) of the videos an author picks from: the published testimonies, and
    the lesson's own video even if no longer published (saving the lesson unchanged keeps
    it)."""
    options = [("", _("Aucune vidéo"))]
    options += [
        (str(video.id), f"{video.title} — {video.commune.name}")
        for video in videotheque.published_videos()
    ]
    current = str(lesson.video_id) if lesson is not None and lesson.video_id else None
    if current and all(value != current for value, _label in options):
        options.append((current, _("La vidéo actuelle (indisponible)")))
    return options


def check_video(data: dict[str, Any], lesson: LmsLesson | None) -> int | None:
    """The Vidéothèque video the author chose, from its pasted address (which wins) or the
    list. Only a published one may be chosen; a lesson may keep the one it has, even if the
    library no longer shows it (the lesson page says so)."""
    link = (data.get("video_link") or "").strip()
    if link:
        video = videotheque.published_video(videotheque.video_in_link(link))
        if video is None:
            raise LmsError(
                "video_link",
                _("Cette adresse n'est pas celle d'une vidéo publiée de la vidéothèque."),
            )
        return video.id
    chosen = str(data.get("video_id") or "")
    if not chosen:
        return None
    # Bounded: a number too large for the column is no video either.
    video_id = int(chosen) if chosen.isdigit() and len(chosen) < 10 else None
    if lesson is not None and video_id is not None and video_id == lesson.video_id:
        return video_id
    if videotheque.published_video(video_id) is None:
        raise LmsError("video_id", _("Choisissez une vidéo publiée de la liste."))
    return video_id


def check_lesson(data: dict[str, Any], lesson: LmsLesson | None = None) -> LessonInput:
    title = (data.get("title") or "").strip()
    if not title:
        raise LmsError("title", _("Donnez un titre à la leçon."))
    if len(title) > TITLE_MAX:
        raise LmsError("title", _("Le titre est trop long (300 caractères au plus)."))
    video_id = check_video(data, lesson)
    body = nh3.clean(data.get("body") or "", tags=BODY_TAGS)
    return LessonInput(title, body, video_id, parse_quiz(data.get("quiz") or ""))


def save_lesson(course: LmsCourse, lesson: LmsLesson | None, data: LessonInput) -> LmsLesson:
    if lesson is None:
        position = max((item.position for item in course.lessons), default=0) + 1
        lesson = LmsLesson(course=course, position=position)
        toolkit.db.add(lesson)
    lesson.title, lesson.body, lesson.video_id, lesson.quiz = (
        data.title,
        data.body,
        data.video_id,
        data.quiz,
    )
    toolkit.db.flush()
    toolkit.audit("lms.lesson.saved", object_type="lms_lesson", object_id=str(lesson.id))
    return lesson


# --- demo -----------------------------------------------------------------------------------

DEMO_COURSES = [
    {
        "title": "Le budget communal en 5 étapes",
        "description": "Du débat d'orientation budgétaire au compte administratif.",
        "duration_minutes": 90,
        "level": "decouverte",
        "themes": ["budget-vote"],  # the référentiel's codes, shown by their titles
        "lessons": [
            ("Les grands principes", "<p>Annualité, unité, universalité, spécialité.</p>", ""),
            (
                "Le vote du budget",
                "<p>Le budget est voté avant le 15 avril (30 avril l'année du renouvellement).</p>",
                "Date limite du vote du budget primitif ? | 15 avril | 31 mars | 30 juin",
            ),
        ],
    },
    {
        "title": "Le règlement intérieur du conseil municipal",
        "description": "Obligatoire dans les communes de 1 000 habitants et plus.",
        "duration_minutes": 45,
        "level": "intermediaire",
        "themes": ["conseil-municipal"],
        "lessons": [
            ("Ce qu'il contient", "<p>Les règles de fonctionnement du conseil.</p>", ""),
        ],
    },
]


def add_demo_content() -> None:
    """The demo's courses, once (matched by title)."""
    existing = {c.title for c in all_courses()}
    for spec in DEMO_COURSES:
        if spec["title"] in existing:
            continue
        course = LmsCourse(
            title=spec["title"],
            description=spec["description"],
            duration_minutes=spec["duration_minutes"],
            level=spec["level"],
            themes=spec["themes"],
            published=True,
        )
        toolkit.db.add(course)
        for position, (title, body, quiz) in enumerate(spec["lessons"], start=1):
            course.lessons.append(
                LmsLesson(position=position, title=title, body=body, quiz=parse_quiz(quiz))
            )
    toolkit.db.flush()
