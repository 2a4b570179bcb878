"""Tasks, in a project or standalone: their rules, « Mes tâches » across the person's
communes, the kanban's moves, and the reminder before the due date.

Who may do what: ``pilotage.task_write`` (the whole team by default, agents included)
creates standalone tasks and works on its own; a task of a project is edited by the
project's editors and by its assignee. A task is assigned only to a member of the team.
A task of a project is traced in the project's activity feed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import selectinload

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import projects
from plugins.pilotage.models import PRIORITIES, TASK_STATUSES, Comment, Project, Task
from plugins.pilotage.projects import PilotageError, text

PLUGIN = "pilotage"
REMIND_DAYS = 2  # the reminder goes out this many days before the due date
MINE_PAGE = 50  # « Mes tâches » by pages: the page's cost grows with its lines
LIST_LIMIT = 200
CHECKLIST_MAX = 50

STATUS_LABELS = {"a_faire": _l("À faire"), "en_cours": _l("En cours"), "fait": _l("Fait")}
DONE = "fait"
# The nearest due first, those without a date last. NULLS LAST rather than
# ``due_date IS NULL``: an expression no index holds, which forced a sort of every row.
NEAREST_DUE = (Task.due_date.asc().nulls_last(), Task.id)


def today() -> dt.date:
    return toolkit.utcnow().date()


# --- Who may do what --------------------------------------------------------------------------


def can_write(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, "pilotage.task_write")


def can_edit(commune: toolkit.Commune, user: toolkit.User | None, task: Task) -> bool:
    if not can_write(commune, user):
        return False
    if task.project is None or task.assignee_id == user.id:
        return True
    return projects.can_edit(commune, user, task.project)


def check_edit(commune: toolkit.Commune, user: toolkit.User, task: Task) -> None:
    if not can_edit(commune, user, task):
        toolkit.refuse(
            _("Seuls l'équipe du projet et la personne chargée de la tâche la modifient."), 403
        )


# --- Reading ----------------------------------------------------------------------------------


def get_task(commune: toolkit.Commune, task_id: int) -> Task:
    found = toolkit.db.scalar(select(Task).where(Task.id == task_id, Task.commune_id == commune.id))
    if found is None:
        toolkit.refuse(_("Cette tâche n'existe pas dans cette commune."), 404)
    return found


def is_overdue(task: Task) -> bool:
    return task.status != DONE and task.due_date is not None and task.due_date < today()


def _with_people(query: Select[tuple[Task]]) -> Select[tuple[Task]]:
    return query.options(selectinload(Task.assignee), selectinload(Task.project))


def commune_tasks(
    commune: toolkit.Commune, status: str = "", assignee: int | None = None, open_only: bool = False
) -> list[Task]:
    """The commune's tasks, the nearest due first (those without a date last)."""
    query = select(Task).where(Task.commune_id == commune.id)
    if status in TASK_STATUSES:
        query = query.where(Task.status == status)
    elif open_only:
        query = query.where(Task.status != DONE)
    if assignee is not None:
        query = query.where(Task.assignee_id == assignee)
    return list(toolkit.db.scalars(_with_people(query).order_by(*NEAREST_DUE).limit(LIST_LIMIT)))


def project_tasks(project: Project) -> list[Task]:
    return list(
        toolkit.db.scalars(
            _with_people(select(Task).where(Task.project_id == project.id)).order_by(
                Task.status == DONE, *NEAREST_DUE
            )
        )
    )


def kanban(commune: toolkit.Commune) -> dict[str, list[Task]]:
    """The commune's tasks by status (the latest done ones only: the column would never end)."""
    columns: dict[str, list[Task]] = {}
    for status in TASK_STATUSES:
        query = select(Task).where(Task.commune_id == commune.id, Task.status == status)
        order = (Task.updated_at.desc(), Task.id) if status == DONE else NEAREST_DUE
        columns[status] = list(toolkit.db.scalars(_with_people(query).order_by(*order).limit(100)))
    return columns


@dataclass
class MyTask:
    task: Task
    commune: toolkit.Commune


@dataclass
class MyPage:
    tasks: list[MyTask]
    page: int
    has_next: bool


def my_tasks(user: toolkit.User, page: int = 1) -> MyPage:
    """« Mes tâches »: the open tasks assigned to ``user`` in every commune where the module
    is on and they may still see the pilotage, the nearest due first, by pages (a page
    beyond ``projects.MAX_PAGE`` reads as that one)."""
    page = min(max(page, 1), projects.MAX_PAGE)
    communes = {
        m.commune_id: m.commune
        for m in toolkit.db.scalars(
            select(toolkit.Membership)
            .where(toolkit.Membership.user_id == user.id)
            .options(selectinload(toolkit.Membership.commune))
        )
    }
    allowed = [
        cid
        for cid, commune in communes.items()
        if toolkit.module_enabled(commune, PLUGIN)
        and toolkit.has_permission(user, commune, "pilotage.view")
    ]
    if not allowed:
        return MyPage([], page, False)
    # One line more than the page: whether a next page exists, without counting them all.
    found = list(
        toolkit.db.scalars(
            select(Task)
            .where(
                Task.assignee_id == user.id,
                Task.status != DONE,
                Task.commune_id.in_(allowed),
            )
            .options(selectinload(Task.project))
            .order_by(*NEAREST_DUE)
            .offset((page - 1) * MINE_PAGE)
            .limit(MINE_PAGE + 1)
        )
    )
    return MyPage(
        [MyTask(task, communes[task.commune_id]) for task in found[:MINE_PAGE]],
        page,
        len(found) > MINE_PAGE,
    )


def overdue_count(commune: toolkit.Commune) -> int:
    return (
        toolkit.db.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.commune_id == commune.id, Task.status != DONE, Task.due_date < today())
        )
        or 0
    )


def comments_of(task: Task) -> list[Comment]:
    return list(
        toolkit.db.scalars(
            select(Comment)
            .where(Comment.task_id == task.id)
            .options(selectinload(Comment.author))
            .order_by(Comment.created_at, Comment.id)
        )
    )


# --- Writing ----------------------------------------------------------------------------------


def validate(commune: toolkit.Commune, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, object] = {}
    title = projects.written(data, "title", errors)
    if not title and "title" not in errors:
        errors["title"] = _("Donnez un titre à la tâche.")
    elif len(title) > projects.TITLE_MAX:
        errors["title"] = _("Le titre ne doit pas dépasser 200 caractères.")
    description = projects.written(data, "description", errors)
    if len(description) > projects.TEXT_MAX:
        errors["description"] = _("Ce texte ne doit pas dépasser 10 000 caractères.")
    status = projects.choice(data.get("status"), TASK_STATUSES, "a_faire")
    if status is None:
        errors["status"] = _("Choisissez un statut dans la liste.")
    priority = projects.choice(data.get("priority"), PRIORITIES, "normale")
    if priority is None:
        errors["priority"] = _("Choisissez une priorité dans la liste.")
    due = projects.parse_date(data.get("due_date"), "due_date", errors)
    assignee = projects.team_member(commune, data.get("assignee"), "assignee", errors)
    project = None
    if data.get("project") not in (None, ""):
        try:
            project_id = int(data["project"])
        except (TypeError, ValueError):
            project_id = -1
        project = (
            toolkit.db.scalar(
                select(Project).where(Project.id == project_id, Project.commune_id == commune.id)
            )
            if 0 < project_id <= projects.MAX_ID
            else None
        )
        if project is None:
            errors["project"] = _("Choisissez un projet de la commune.")
    items = _checklist(data.get("checklist"), errors)
    if len(items) > CHECKLIST_MAX or any(
        len(str(i.get("text", ""))) > projects.TITLE_MAX for i in items
    ):
        errors["checklist"] = _("La liste compte 50 points au plus, de 200 caractères chacun.")
    if errors:
        raise PilotageError(errors)
    return {
        "title": title,
        "description": description,
        "status": status,
        "priority": priority,
        "due_date": due,
        "assignee": assignee,
        "project": project,
        "checklist": items,
    }


def _checklist(value: object, errors: dict[str, object]) -> list[dict[str, Any]]:
    """A checklist from the form (one item a line) or from the API (``[{text, done}]``)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [{"text": text(line), "done": False} for line in value.splitlines() if text(line)]
    if isinstance(value, list) and all(
        isinstance(i, dict)
        and isinstance(i.get("text"), str)
        and text(i["text"])
        and isinstance(i.get("done", False), bool)
        for i in value
    ):
        return [{"text": text(i["text"]), "done": i.get("done", False)} for i in value]
    errors["checklist"] = _("La liste est faite de points, chacun avec un texte.")
    return []


def _trace(
    commune: toolkit.Commune, user: toolkit.User, task: Task, action: str, **details: Any
) -> None:
    """A task of a project is traced in the project's feed; a standalone one on its own."""
    details = {"task": task.title, **details}
    if task.project is not None:
        projects.record(commune, user, task.project, action, task_id=task.id, **details)
    else:
        toolkit.audit(
            f"pilotage.{action}",
            commune=commune,
            module=PLUGIN,
            object_type="task",
            object_id=task.id,
            details=details,
            actor=user,
        )


def create_task(commune: toolkit.Commune, user: toolkit.User, data: Mapping[str, Any]) -> Task:
    toolkit.check("pilotage.task_write", commune=commune, user=user)
    clean = validate(commune, data)
    if clean["project"] is not None:
        projects.check_edit(commune, user, clean["project"])
    task = Task(commune_id=commune.id)
    _apply(task, clean)
    toolkit.db.add(task)
    toolkit.db.flush()
    _trace(commune, user, task, "task_created")
    _notify_assignee(commune, user, task)
    return task


def _apply(task: Task, clean: Mapping[str, Any]) -> None:
    task.title, task.description = clean["title"], clean["description"]
    task.status, task.priority = clean["status"], clean["priority"]
    if task.due_date != clean["due_date"]:
        task.reminded_at = None  # a new date deserves its own reminder
    task.due_date = clean["due_date"]
    task.assignee = clean["assignee"]
    task.project = clean["project"]
    task.checklist = clean["checklist"]


def update_task(
    commune: toolkit.Commune, user: toolkit.User, task: Task, data: Mapping[str, Any]
) -> bool:
    check_edit(commune, user, task)
    clean = validate(commune, data)
    if clean["project"] is not None and clean["project"] is not task.project:
        projects.check_edit(commune, user, clean["project"])
    before = snapshot(task)
    previous_assignee = task.assignee_id
    _apply(task, clean)
    after = snapshot(task)
    changed = sorted(k for k in after if before[k] != after[k])
    if not changed:
        return False
    task.updated_at = toolkit.utcnow()
    toolkit.db.flush()
    _trace(commune, user, task, "task_updated", fields=changed)
    if task.assignee_id != previous_assignee:
        _notify_assignee(commune, user, task)
    return True


def snapshot(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "priority": task.priority,
        "due_date": str(task.due_date) if task.due_date else None,
        "assignee": task.assignee.id if task.assignee else None,
        "project": task.project.id if task.project else None,
        "checklist": task.checklist,
    }


def move(commune: toolkit.Commune, user: toolkit.User, task: Task, status: object) -> bool:
    """The kanban's move: a new status, nothing else."""
    check_edit(commune, user, task)
    if status not in TASK_STATUSES:
        raise PilotageError({"status": _("Choisissez un statut dans la liste.")})
    if task.status == status:
        return False
    before, task.status = task.status, str(status)
    task.updated_at = toolkit.utcnow()
    _trace(commune, user, task, "task_moved", before=before, after=task.status)
    return True


def toggle_item(commune: toolkit.Commune, user: toolkit.User, task: Task, index: int) -> None:
    check_edit(commune, user, task)
    if not 0 <= index < len(task.checklist):
        toolkit.refuse(_("Ce point n'existe pas dans la liste."), 404)
    items = [dict(item) for item in task.checklist]
    items[index]["done"] = not items[index].get("done")
    task.checklist = items  # a new list, so that the JSON column is saved
    task.updated_at = toolkit.utcnow()
    _trace(commune, user, task, "task_updated", fields=["checklist"])


def add_comment(commune: toolkit.Commune, user: toolkit.User, task: Task, body: object) -> Comment:
    toolkit.check("pilotage.view", commune=commune, user=user)
    content = text(body)
    if not content:
        raise PilotageError({"body": _("Écrivez votre commentaire.")})
    if len(content) > projects.TEXT_MAX:
        raise PilotageError({"body": _("Ce texte ne doit pas dépasser 10 000 caractères.")})
    comment = Comment(commune_id=commune.id, task_id=task.id, author_id=user.id, body=content)
    toolkit.db.add(comment)
    _trace(commune, user, task, "task_commented")
    return comment


def task_url(task: Task, commune: toolkit.Commune) -> str:
    """The task's path, also from the scheduler, where there is no request to build a URL
    from (the notification makes the path absolute itself)."""
    adapter = current_app.url_map.bind("localhost")  # the host is not part of the path
    return adapter.build("pilotage.task", {"task_id": task.id, "insee": commune.insee})


def _notify_assignee(commune: toolkit.Commune, user: toolkit.User, task: Task) -> None:
    if task.assignee is None or task.assignee.id == user.id:
        return
    toolkit.notify(
        [task.assignee],
        "pilotage.task_assigned",
        _("Nouvelle tâche : %(title)s", title=task.title),
        _("%(name)s vous a confié une tâche.", name=user.name),
        url=task_url(task, commune),
        commune=commune,
    )


# --- The reminder job -------------------------------------------------------------------------


def remind_due_tasks(commune: toolkit.Commune) -> int:
    """Notify the assignees of open tasks due within REMIND_DAYS, once per due date.
    Run each day by the scheduler for each commune where the module is on."""
    horizon = today() + dt.timedelta(days=REMIND_DAYS)
    due = toolkit.db.scalars(
        select(Task)
        .where(
            Task.commune_id == commune.id,
            Task.status != DONE,
            Task.assignee_id.is_not(None),
            Task.reminded_at.is_(None),
            Task.due_date >= today(),
            Task.due_date <= horizon,
        )
        .options(selectinload(Task.assignee))
    ).all()
    for task in due:
        toolkit.notify(
            [task.assignee],
            "pilotage.task_due",
            _(
                "Tâche à rendre le %(date)s : %(title)s",
                date=task.due_date.strftime("%d/%m/%Y"),
                title=task.title,
            ),
            _("Pensez à terminer cette tâche avant son échéance."),
            url=task_url(task, commune),
            commune=commune,
        )
    if due:
        toolkit.db.execute(
            update(Task)
            .where(Task.id.in_([t.id for t in due]))
            .values(reminded_at=toolkit.utcnow())
        )
    return len(due)


def search(commune: toolkit.Commune, query: str, limit: int) -> list[Task]:
    words = query.strip()
    if not words:
        return []
    return list(
        toolkit.db.scalars(
            select(Task)
            .where(Task.commune_id == commune.id, Task.title.icontains(words, autoescape=True))
            .order_by(Task.updated_at.desc())
            .limit(limit)
        )
    )
