"""The Formations JSON API for the apps: the catalogue, a person's enrolments, enrolling, and
the team's progress, through the same services as the pages.

Mounted by the core under ``/api/v1/c/<INSEE>/academie/``. Tokens need the scopes each
endpoint declares (``academie:read``, ``academie:write``, ``academie:team``); errors are
problems (RFC 9457).
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, request, url_for

from core import toolkit
from core.toolkit import gettext as _
from plugins.academie import services
from plugins.academie.models import LEVELS, Course, Enrolment

bp = Blueprint("academie_api", __name__)


class CourseOut(toolkit.ApiSchema):
    id: int
    title: str
    description: str
    duration_minutes: int | None
    level: str
    themes: list[str]  # référentiel codes, or free words (a Chamilo category)
    theme_names: list[str]  # the same as people read them
    url: str
    provider: str  # the name of the tool that serves it; empty once the commune left it


class CourseList(toolkit.ApiSchema):
    courses: list[CourseOut]


class EnrolmentOut(toolkit.ApiSchema):
    id: int
    course: CourseOut
    status: str
    status_label: str
    progress: float | None
    progress_at: str | None


class EnrolmentList(toolkit.ApiSchema):
    enrolments: list[EnrolmentOut]


class MemberOut(toolkit.ApiSchema):
    name: str
    role: str
    enrolments: list[EnrolmentOut]


class TeamOut(toolkit.ApiSchema):
    members: list[MemberOut]


class _Labels(dict[str, str]):
    """Providers' names, each looked up once a request; the référentiel's theme titles, once."""

    @functools.cached_property
    def titles(self) -> dict[str, str]:
        return services.theme_titles()

    def __missing__(self, key: str) -> str:
        self[key] = services.provider_label(toolkit.current_commune(), key)
        return self[key]


def _course(course: Course, labels: _Labels) -> dict[str, Any]:
    return {
        "id": course.id,
        "title": course.title,
        "description": course.description,
        "duration_minutes": course.duration_minutes,
        "level": course.level,
        "themes": list(course.themes),
        "theme_names": services.named_themes(course, labels.titles),
        "url": url_for("academie.course", course_id=course.id, _external=True),
        "provider": labels[course.provider],
    }


def _enrolment(enrolment: Enrolment, labels: _Labels) -> dict[str, Any]:
    return {
        "id": enrolment.id,
        "course": _course(enrolment.course, labels),
        "status": enrolment.status,
        "status_label": enrolment.status_label,
        "progress": enrolment.progress,
        "progress_at": enrolment.progress_at.isoformat() if enrolment.progress_at else None,
    }


@bp.get("/formations")
@toolkit.requires("academie.view")
@toolkit.api_operation(
    "Le catalogue des formations",
    response=CourseList,
    tags=["formations"],
    scopes=["academie:read"],
    query={
        "q": {"type": "string", "maxLength": 100},
        "theme": {"type": "string"},
        "niveau": {"type": "string", "enum": ["", *LEVELS]},
    },
)
def list_courses() -> Any:
    level = request.args.get("niveau", "")
    found = services.catalogue(
        toolkit.current_commune(),
        request.args.get("q", "")[: services.SEARCH_MAX],
        request.args.get("theme", ""),
        level if level in LEVELS else "",
    )
    toolkit.db.commit()
    labels = _Labels()
    return {"courses": [_course(c, labels) for c in found.courses]}


@bp.get("/mes-formations")
@toolkit.login_required
@toolkit.api_operation(
    "Mes formations et ma progression",
    response=EnrolmentList,
    tags=["formations"],
    scopes=["academie:read"],
)
def my_enrolments() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.require_reader(commune, user)
    enrolments = services.my_enrolments(commune, user)
    labels = _Labels()
    return {"enrolments": [_enrolment(e, labels) for e in enrolments]}


@bp.post("/formations/<int:course_id>/inscription")
@toolkit.requires("academie.enrol")
@toolkit.api_operation(
    "M'inscrire à une formation",
    response=EnrolmentOut,
    status=201,
    tags=["formations"],
    scopes=["academie:write"],
)
def enrol(course_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    course = services.get_course(commune, course_id)
    try:
        enrolment = services.enrol(commune, user, course)
    except services.AcademieError as error:
        toolkit.db.rollback()
        return toolkit.problem(409, _("Inscription impossible"), error.message)
    toolkit.db.commit()
    return _enrolment(enrolment, _Labels()), 201


@bp.get("/equipe")
@toolkit.requires("academie.view")
@toolkit.api_operation(
    "La progression de l'équipe", response=TeamOut, tags=["formations"], scopes=["academie:team"]
)
def team() -> Any:
    members = services.team(toolkit.current_commune(), toolkit.current_user())
    labels = _Labels()
    return {
        "members": [
            {
                "name": m.user.name,
                "role": m.role,
                "enrolments": [_enrolment(e, labels) for e in m.enrolments],
            }
            for m in members
        ]
    }
