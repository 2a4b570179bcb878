"""The pilotage's JSON API: read the diagnostic, read and write projects and tasks, through
the same services as the pages.

Mounted by the core under ``/api/v1/c/<INSEE>/pilotage/``. Scopes: ``pilotage:read`` for
reading, ``pilotage:write`` for writing. Errors are problems (RFC 9457): 400 with the
``field`` at fault and every ``errors`` by field for bad input, the core's own for the rest
(401/403/404). A PATCH sends only the fields it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request, url_for

from core import toolkit
from core.toolkit import gettext as _
from plugins.pilotage import diagnostic, projects, tasks
from plugins.pilotage.models import Project, Task
from plugins.pilotage.projects import PilotageError

bp = Blueprint("pilotage_api", __name__)
READ, WRITE = ["pilotage:read"], ["pilotage:write"]
TAGS = ["pilotage"]


@bp.errorhandler(PilotageError)
def _invalid(error: PilotageError) -> Any:
    toolkit.db.rollback()
    field = next(iter(error.errors))
    return toolkit.problem(
        400, _("Demande incorrecte"), error.errors[field], field=field, errors=error.errors
    )


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        toolkit.refuse(_("Envoyez un objet JSON."))
    return data


def _created(
    create: Callable[..., Any], show: Callable[[Any], dict], endpoint: str, key: str
) -> Any:
    """POST: ``create(commune, user, body)``, answered 201 with the new object's URL."""
    made = create(toolkit.current_commune(), toolkit.current_user(), _body())
    toolkit.db.commit()
    return show(made), 201, {"Location": url_for(endpoint, **{key: made.id})}


def _patched(
    found: Any,
    snapshot: Callable[[Any], dict],
    update: Callable[..., bool],
    show: Callable[[Any], dict],
) -> Any:
    """PATCH: the body's fields over ``found``'s current ones, then ``update``."""
    data = {**snapshot(found), **_body()}
    if update(toolkit.current_commune(), toolkit.current_user(), found, data):
        toolkit.db.commit()
    return show(found)


# --- Schemas ----------------------------------------------------------------------------------


class MilestoneOut(toolkit.ApiSchema):
    id: int
    title: str
    due_date: str
    done: bool


class ProjectOut(toolkit.ApiSchema):
    id: int
    title: str
    description: str
    themes: list[str]
    lead: int | None
    members: list[int]
    status: str
    status_label: str
    priority: str
    start_date: str | None
    end_date: str | None
    budget_planned: str | None
    budget_committed: str | None
    budget_spent: str | None
    progress: int
    health: str
    health_label: str
    health_reason: str
    citizen_summary: str
    published: bool
    milestones: list[MilestoneOut]
    updated_at: str
    url: str


class ProjectList(toolkit.ApiSchema):
    projects: list[ProjectOut]
    total: int
    page: int
    pages: int


class ChecklistItem(toolkit.ApiSchema):
    text: str
    done: bool


class TaskOut(toolkit.ApiSchema):
    id: int
    title: str
    description: str
    project: int | None
    assignee: int | None
    due_date: str | None
    overdue: bool
    priority: str
    status: str
    status_label: str
    checklist: list[ChecklistItem]
    url: str


class TaskList(toolkit.ApiSchema):
    tasks: list[TaskOut]


class ThemeScore(toolkit.ApiSchema):
    code: str
    title: str
    score: float | None
    answered: int
    asked: int


class DomainScoreOut(toolkit.ApiSchema):
    code: str
    title: str
    score: float | None
    themes: list[ThemeScore]


class DiagnosticOut(toolkit.ApiSchema):
    started_at: str | None
    domains: list[DomainScoreOut]


def _project(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        **projects.snapshot(project),
        "status_label": str(projects.STATUS_LABELS[project.status]),
        "health_label": str(projects.HEALTH_LABELS[project.health]),
        "milestones": [
            {"id": m.id, "title": m.title, "due_date": m.due_date.isoformat(), "done": m.done}
            for m in project.milestones
        ],
        "updated_at": project.updated_at.isoformat(),
        "url": url_for("pilotage.project", project_id=project.id, _external=True),
    }


def _task(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        **tasks.snapshot(task),
        "overdue": tasks.is_overdue(task),
        "status_label": str(tasks.STATUS_LABELS[task.status]),
        "url": url_for("pilotage.task", task_id=task.id, _external=True),
    }


# --- Projects ---------------------------------------------------------------------------------


@bp.get("/projets")
@toolkit.requires("pilotage.view")
@toolkit.api_operation(
    "Les projets de la commune (filtres statut, sante, theme, q ; page)",
    response=ProjectList,
    tags=TAGS,
    scopes=READ,
)
def list_projects() -> Any:
    found = projects.list_projects(toolkit.current_commune(), projects.Filters.of(request.args))
    return {
        "projects": [_project(p) for p in found.projects],
        "total": found.total,
        "page": found.filters.page,
        "pages": found.pages,
    }


@bp.get("/projets/<int:project_id>")
@toolkit.requires("pilotage.view")
@toolkit.api_operation("Un projet", response=ProjectOut, tags=TAGS, scopes=READ)
def get_project(project_id: int) -> Any:
    return _project(projects.get_project(toolkit.current_commune(), project_id))


@bp.post("/projets")
@toolkit.requires("pilotage.project_create")
@toolkit.api_operation("Créer un projet", response=ProjectOut, status=201, tags=TAGS, scopes=WRITE)
def create_project() -> Any:
    return _created(projects.create_project, _project, ".get_project", "project_id")


@bp.patch("/projets/<int:project_id>")
@toolkit.requires("pilotage.view")
@toolkit.api_operation("Modifier un projet", response=ProjectOut, tags=TAGS, scopes=WRITE)
def update_project(project_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    project = projects.get_project(commune, project_id)
    projects.check_edit(commune, user, project)
    return _patched(project, projects.snapshot, projects.update_project, _project)


# --- Tasks ------------------------------------------------------------------------------------


@bp.get("/taches")
@toolkit.requires("pilotage.view")
@toolkit.api_operation(
    "Les tâches de la commune (filtre statut ; sans lui, celles qui ne sont pas faites)",
    response=TaskList,
    tags=TAGS,
    scopes=READ,
)
def list_tasks() -> Any:
    status = request.args.get("statut", "")
    found = tasks.commune_tasks(toolkit.current_commune(), status=status, open_only=not status)
    return {"tasks": [_task(t) for t in found]}


@bp.get("/taches/<int:task_id>")
@toolkit.requires("pilotage.view")
@toolkit.api_operation("Une tâche", response=TaskOut, tags=TAGS, scopes=READ)
def get_task(task_id: int) -> Any:
    return _task(tasks.get_task(toolkit.current_commune(), task_id))


@bp.post("/taches")
@toolkit.requires("pilotage.task_write")
@toolkit.api_operation("Créer une tâche", response=TaskOut, status=201, tags=TAGS, scopes=WRITE)
def create_task() -> Any:
    return _created(tasks.create_task, _task, ".get_task", "task_id")


@bp.patch("/taches/<int:task_id>")
@toolkit.requires("pilotage.task_write")
@toolkit.api_operation("Modifier une tâche", response=TaskOut, tags=TAGS, scopes=WRITE)
def update_task(task_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    task = tasks.get_task(commune, task_id)
    tasks.check_edit(commune, user, task)
    return _patched(task, tasks.snapshot, tasks.update_task, _task)


# --- Diagnostic -------------------------------------------------------------------------------


@bp.get("/diagnostic")
@toolkit.requires("pilotage.view")
@toolkit.api_operation(
    "Les scores du diagnostic en cours, par domaine et par thème",
    response=DiagnosticOut,
    tags=TAGS,
    scopes=READ,
)
def get_diagnostic() -> Any:
    commune = toolkit.current_commune()
    round_ = diagnostic.current(commune)
    return {
        "started_at": round_.started_at.isoformat() if round_ else None,
        "domains": [
            {
                "code": d.domain.code,
                "title": d.domain.title,
                "score": d.score,
                "themes": [
                    {
                        "code": t.theme.code,
                        "title": t.theme.title,
                        "score": t.score,
                        "answered": t.answered,
                        "asked": t.asked,
                    }
                    for t in d.themes
                ],
            }
            for d in diagnostic.results(commune, round_)
        ],
    }
