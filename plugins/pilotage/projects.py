"""Projects of the mandate: their rules (who may edit, what input is accepted), milestones,
comments and the activity feed read back from the core's audit log.

Shared by the HTML pages and the JSON API. Each action checks its right here, validates all
its input before writing anything, records its audit event, and leaves the commit to the
caller, so that a change and its trace are saved together or not at all.

Who may do what: the whole team (``pilotage.view``) sees every project of the commune;
``pilotage.project_create`` creates one; its lead, its team and whoever has
``pilotage.project_manage`` (the maire by default) edit it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import Forbidden

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import referentiel
from plugins.pilotage.models import (
    HEALTHS,
    PRIORITIES,
    PROJECT_STATUSES,
    Comment,
    Milestone,
    Project,
    Theme,
)

PLUGIN = "pilotage"
TITLE_MAX = 200
TEXT_MAX = 10_000
BUDGET_MAX = Decimal("1000000000000")
PAGE_SIZE = 25
# A page further than this reads as this one (empty): its offset must fit the database.
MAX_PAGE = 10_000
MAX_ID = toolkit.MAX_ID  # a larger id names nothing, and is not sent to the database

STATUS_LABELS = {
    "idee": _l("Idée"),
    "etude": _l("À l'étude"),
    "en_cours": _l("En cours"),
    "suspendu": _l("Suspendu"),
    "termine": _l("Terminé"),
    "abandonne": _l("Abandonné"),
}
HEALTH_LABELS = {
    "bonne_voie": _l("Sur la bonne voie"),
    "a_risque": _l("À risque"),
    "bloque": _l("Bloqué"),
}
PRIORITY_LABELS = {"basse": _l("Basse"), "normale": _l("Normale"), "haute": _l("Haute")}
# What the activity feed says of each action.
ACTION_LABELS = {
    "pilotage.project_created": _l("a créé le projet"),
    "pilotage.project_updated": _l("a modifié le projet"),
    "pilotage.milestone_added": _l("a ajouté un jalon"),
    "pilotage.milestone_done": _l("a marqué un jalon comme atteint"),
    "pilotage.milestone_reopened": _l("a rouvert un jalon"),
    "pilotage.comment_added": _l("a commenté"),
    "pilotage.task_created": _l("a créé une tâche"),
    "pilotage.task_updated": _l("a modifié une tâche"),
    "pilotage.task_moved": _l("a changé le statut d'une tâche"),
    "pilotage.task_commented": _l("a commenté une tâche"),
    "pilotage.document_added": _l("a ajouté un document"),
    "pilotage.document_removed": _l("a retiré un document"),
}


def translated(labels: Mapping[str, Any]) -> dict[str, str]:
    """``labels`` in the request's language, translated once for a list of many rows."""
    return {key: str(label) for key, label in labels.items()}


class PilotageError(Exception):
    """Input that cannot be accepted: ``errors`` maps each field at fault (form field or
    JSON key) to a message for the person, in their language."""

    def __init__(self, errors: Mapping[str, object]) -> None:
        self.errors = {name: str(message) for name, message in errors.items()}
        super().__init__("; ".join(self.errors.values()))


# --- Input helpers, shared with the tasks -----------------------------------------------------


def text(value: object) -> str:
    """A value typed by someone, as text: trimmed, Windows line ends made plain, and without
    NUL characters, which PostgreSQL refuses in a string (a 500, not an answer)."""
    if value is None:
        return ""
    return str(value).replace("\x00", "").replace("\r\n", "\n").strip()


def written(data: Mapping[str, Any], field: str, errors: dict[str, object]) -> str:
    """The text of ``field``; a list, an object or true/false (which only a JSON client can
    send) is refused rather than saved as its Python spelling."""
    value = data.get(field)
    if isinstance(value, list | dict | bool):
        errors[field] = _("Ce champ attend du texte.")
        return ""
    return text(value)


def parse_date(value: object, field: str, errors: dict[str, object]) -> dt.date | None:
    """A date from ``aaaa-mm-jj`` (the date fields) or None when empty."""
    if isinstance(value, dt.date):
        return value
    raw = text(value)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[field] = _("Indiquez une date valide (jj/mm/aaaa).")
        return None


def choice(value: object, allowed: tuple[str, ...], default: str) -> str | None:
    raw = text(value) or default
    return raw if raw in allowed else None


def team_member(
    commune: toolkit.Commune, user_id: object, field: str, errors: dict[str, object]
) -> toolkit.User | None:
    """The member of the commune's team with that id, or an error on ``field``."""
    if user_id in (None, ""):
        return None
    try:
        wanted = int(user_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        wanted = -1
    found = next((u for u in team_of(commune) if u.id == wanted), None)
    if found is None:
        errors[field] = _("La personne choisie n'est pas membre de l'équipe de la commune.")
    return found


def team_of(commune: toolkit.Commune) -> list[toolkit.User]:
    """The commune's team: the members who may open the pilotage."""
    return toolkit.members_with_permission(commune, "pilotage.view")


# --- Who may do what --------------------------------------------------------------------------


def can_create(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, "pilotage.project_create")


def can_edit(commune: toolkit.Commune, user: toolkit.User | None, project: Project) -> bool:
    if user is None or not toolkit.has_permission(user, commune, "pilotage.view"):
        return False
    if toolkit.has_permission(user, commune, "pilotage.project_manage"):
        return True
    return project.lead_id == user.id or any(m.id == user.id for m in project.members)


def check_edit(commune: toolkit.Commune, user: toolkit.User, project: Project) -> None:
    if not can_edit(commune, user, project):
        raise Forbidden()


# --- Reading ----------------------------------------------------------------------------------


def get_project(commune: toolkit.Commune, project_id: int) -> Project:
    """A project of ``commune`` (never another's: 404 whatever its id)."""
    found = toolkit.db.scalar(
        select(Project).where(Project.id == project_id, Project.commune_id == commune.id)
    )
    if found is None:
        toolkit.refuse(_("Ce projet n'existe pas dans cette commune."), 404)
    return found


@dataclass
class Filters:
    status: str = ""
    health: str = ""
    theme: str = ""
    query: str = ""
    page: int = 1

    @classmethod
    def of(cls, args: Mapping[str, str]) -> Filters:
        try:
            page = min(max(int(args.get("page") or 1), 1), MAX_PAGE)
        except ValueError:
            page = 1
        status = args.get("statut", "")
        health = args.get("sante", "")
        return cls(
            status=status if status in PROJECT_STATUSES else "",
            health=health if health in HEALTHS else "",
            theme=text(args.get("theme"))[:60],
            query=text(args.get("q"))[:100],
            page=page,
        )


@dataclass
class ProjectPage:
    projects: list[Project]
    total: int
    filters: Filters

    @property
    def pages(self) -> int:
        return max((self.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)


def _filtered(commune: toolkit.Commune, filters: Filters) -> Select[tuple[Project]]:
    query = select(Project).where(Project.commune_id == commune.id)
    if filters.status:
        query = query.where(Project.status == filters.status)
    if filters.health:
        query = query.where(Project.health == filters.health)
    if filters.theme:
        query = query.where(Project.themes.any(Theme.code == filters.theme))
    if filters.query:
        query = query.where(Project.title.icontains(filters.query, autoescape=True))
    return query


def list_projects(commune: toolkit.Commune, filters: Filters) -> ProjectPage:
    query = _filtered(commune, filters)
    total = toolkit.db.scalar(select(func.count()).select_from(query.subquery())) or 0
    projects = toolkit.db.scalars(
        query.options(selectinload(Project.lead), selectinload(Project.themes))
        .order_by(Project.updated_at.desc(), Project.id.desc())
        .offset((filters.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return ProjectPage(list(projects), total, filters)


def comments_of(project: Project) -> list[Comment]:
    return list(
        toolkit.db.scalars(
            select(Comment)
            .where(Comment.project_id == project.id)
            .options(selectinload(Comment.author))
            .order_by(Comment.created_at, Comment.id)
        )
    )


def activity(commune: toolkit.Commune, project: Project) -> list[Any]:
    """The project's activity feed: its audit events, newest first."""
    return toolkit.audit_history(commune, PLUGIN, "project", project.id)


def actor_names(events: list[Any]) -> dict[int, str]:
    """The names of the people who did ``events`` (the audit log keeps their e-mail, which
    the feed does not show), in one query; someone whose account is gone is left out."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    return dict(
        toolkit.db.execute(
            select(toolkit.User.id, toolkit.User.name).where(toolkit.User.id.in_(ids))
        ).all()
    )


# --- Writing ----------------------------------------------------------------------------------

FIELDS = (
    "title",
    "description",
    "themes",
    "lead",
    "members",
    "status",
    "priority",
    "start_date",
    "end_date",
    "budget_planned",
    "budget_committed",
    "budget_spent",
    "progress",
    "health",
    "health_reason",
    "citizen_summary",
    "published",
)


def _budget(value: object, field: str, errors: dict[str, object]) -> Decimal | None:
    raw = text(value).replace(" ", "").replace("\u202f", "").replace(",", ".")
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        errors[field] = _("Indiquez un montant en euros, par exemple 12500 ou 12500,50.")
        return None
    if not amount.is_finite() or amount < 0 or amount >= BUDGET_MAX:
        errors[field] = _("Le montant doit être positif (ou nul).")
        return None
    return amount.quantize(Decimal("0.01"))


def validate(
    commune: toolkit.Commune, data: Mapping[str, Any], project: Project | None = None
) -> dict[str, Any]:
    """Check every field of a project; returns the clean values or raises PilotageError."""
    errors: dict[str, object] = {}
    title = written(data, "title", errors)
    if not title and "title" not in errors:
        errors["title"] = _("Donnez un titre au projet.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Le titre ne doit pas dépasser 200 caractères.")
    clean: dict[str, Any] = {"title": title}
    for name in ("description", "citizen_summary", "health_reason"):
        clean[name] = written(data, name, errors)
        if len(clean[name]) > TEXT_MAX:
            errors[name] = _("Ce texte ne doit pas dépasser 10 000 caractères.")
    for name, allowed, default, message in (
        ("status", PROJECT_STATUSES, "idee", _("Choisissez un statut dans la liste.")),
        ("priority", PRIORITIES, "normale", _("Choisissez une priorité dans la liste.")),
        ("health", HEALTHS, "bonne_voie", _("Choisissez un état de santé dans la liste.")),
    ):
        clean[name] = choice(data.get(name), allowed, default)
        if clean[name] is None:
            errors[name] = message
    if clean["health"] in ("a_risque", "bloque") and not clean["health_reason"]:
        errors["health_reason"] = _("Dites pourquoi le projet est à risque ou bloqué.")
    clean["start_date"] = parse_date(data.get("start_date"), "start_date", errors)
    clean["end_date"] = parse_date(data.get("end_date"), "end_date", errors)
    if clean["start_date"] and clean["end_date"] and clean["end_date"] < clean["start_date"]:
        errors["end_date"] = _("La date de fin doit venir après la date de début.")
    for name in ("budget_planned", "budget_committed", "budget_spent"):
        clean[name] = _budget(data.get(name), name, errors)
    raw_progress = text(data.get("progress")) or "0"
    try:
        clean["progress"] = int(raw_progress)
    except ValueError:
        clean["progress"] = None
    if clean["progress"] is None or not 0 <= clean["progress"] <= 100:
        errors["progress"] = _("L'avancement est un nombre entier de 0 à 100.")
    clean["lead"] = team_member(commune, data.get("lead"), "lead", errors)
    members = []
    for user_id in _as_list(data.get("members")):
        member = team_member(commune, user_id, "members", errors)
        if member is not None and member not in members:
            members.append(member)
    clean["members"] = members
    adopted = {t.code: t for t in referentiel.adopted_themes(commune)}
    already = {t.code: t for t in project.themes} if project is not None else {}
    themes = []
    for code in _as_list(data.get("themes")):
        # A theme the commune dropped since stays on the projects that name it.
        theme = adopted.get(str(code)) or already.get(str(code))
        if theme is None:
            errors["themes"] = _("Choisissez des thèmes adoptés par la commune.")
        elif theme not in themes:
            themes.append(theme)
    clean["themes"] = themes
    clean["published"] = data.get("published") in (True, "y", "on", "1", "true")
    if clean["published"] and not clean["citizen_summary"]:
        errors["citizen_summary"] = _(
            "Écrivez le résumé destiné aux habitants avant de le publier."
        )
    if errors:
        raise PilotageError(errors)
    return clean


def _as_list(value: object) -> list[Any]:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def snapshot(project: Project) -> dict[str, Any]:
    """The project's fields as the audit log keeps them (JSON-friendly)."""
    values: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(project, name if name != "lead" else "lead_id")
        if name == "themes":
            value = [t.code for t in value]
        elif name == "members":
            value = sorted(m.id for m in value)
        elif isinstance(value, dt.date | Decimal):
            value = str(value)
        values[name] = value
    return values


def _apply(project: Project, clean: Mapping[str, Any]) -> None:
    for name in FIELDS:
        if name == "lead":
            project.lead = clean["lead"]
        else:
            setattr(project, name, clean[name])


def create_project(
    commune: toolkit.Commune, user: toolkit.User, data: Mapping[str, Any]
) -> Project:
    toolkit.check("pilotage.project_create", commune=commune, user=user)
    clean = validate(commune, data)
    project = Project(commune_id=commune.id)
    _apply(project, clean)
    toolkit.db.add(project)
    toolkit.db.flush()
    toolkit.audit(
        "pilotage.project_created",
        commune=commune,
        module=PLUGIN,
        object_type="project",
        object_id=project.id,
        details={"title": project.title},
        actor=user,
    )
    return project


def update_project(
    commune: toolkit.Commune, user: toolkit.User, project: Project, data: Mapping[str, Any]
) -> bool:
    """Change a project; returns whether anything changed. The audit event keeps only the
    fields that changed, before and after."""
    check_edit(commune, user, project)
    clean = validate(commune, data, project)
    before = snapshot(project)
    _apply(project, clean)
    after = snapshot(project)
    changed = {k: (before[k], after[k]) for k in FIELDS if before[k] != after[k]}
    if not changed:
        return False
    project.updated_at = toolkit.utcnow()
    toolkit.audit(
        "pilotage.project_updated",
        commune=commune,
        module=PLUGIN,
        object_type="project",
        object_id=project.id,
        details={
            "fields": sorted(changed),
            "before": {k: v[0] for k, v in changed.items()},
            "after": {k: v[1] for k, v in changed.items()},
        },
        actor=user,
    )
    return True


def record(
    commune: toolkit.Commune, user: toolkit.User, project: Project, action: str, **details: Any
) -> None:
    """One line of the project's activity feed (and of the commune's audit log)."""
    project.updated_at = toolkit.utcnow()
    toolkit.audit(
        f"pilotage.{action}",
        commune=commune,
        module=PLUGIN,
        object_type="project",
        object_id=project.id,
        details=details,
        actor=user,
    )


def add_milestone(
    commune: toolkit.Commune, user: toolkit.User, project: Project, title: object, due: object
) -> Milestone:
    check_edit(commune, user, project)
    errors: dict[str, object] = {}
    name = text(title)
    if not name:
        errors["milestone_title"] = _("Donnez un titre au jalon.")
    elif len(name) > TITLE_MAX:
        errors["milestone_title"] = _("Le titre ne doit pas dépasser 200 caractères.")
    date = parse_date(due, "milestone_date", errors)
    if date is None and "milestone_date" not in errors:
        errors["milestone_date"] = _("Indiquez la date du jalon.")
    if errors:
        raise PilotageError(errors)
    milestone = Milestone(project=project, title=name, due_date=date)
    toolkit.db.add(milestone)
    toolkit.db.flush()
    record(commune, user, project, "milestone_added", title=name, due_date=str(date))
    return milestone


def toggle_milestone(
    commune: toolkit.Commune, user: toolkit.User, project: Project, milestone_id: int
) -> Milestone:
    check_edit(commune, user, project)
    milestone = next((m for m in project.milestones if m.id == milestone_id), None)
    if milestone is None:
        toolkit.refuse(_("Ce jalon n'existe pas dans ce projet."), 404)
    milestone.done = not milestone.done
    action = "milestone_done" if milestone.done else "milestone_reopened"
    record(commune, user, project, action, title=milestone.title)
    return milestone


def add_comment(
    commune: toolkit.Commune, user: toolkit.User, project: Project, body: object
) -> Comment:
    """Any member of the team may comment on a project."""
    toolkit.check("pilotage.view", commune=commune, user=user)
    content = text(body)
    if not content:
        raise PilotageError({"body": _("Écrivez votre commentaire.")})
    if len(content) > TEXT_MAX:
        raise PilotageError({"body": _("Ce texte ne doit pas dépasser 10 000 caractères.")})
    comment = Comment(commune_id=commune.id, project_id=project.id, author_id=user.id, body=content)
    toolkit.db.add(comment)
    record(commune, user, project, "comment_added")
    return comment


# --- What citizens see ------------------------------------------------------------------------


def published_projects(commune: toolkit.Commune) -> list[Project]:
    return list(
        toolkit.db.scalars(
            select(Project)
            .where(Project.commune_id == commune.id, Project.published.is_(True))
            .order_by(Project.updated_at.desc())
        )
    )


def open_projects(commune: toolkit.Commune) -> list[Project]:
    """The projects a task may join (neither finished nor abandoned), by title."""
    return list(
        toolkit.db.scalars(
            select(Project)
            .where(Project.commune_id == commune.id, Project.status.not_in(CLOSED))
            .order_by(Project.title)
            .limit(500)
        )
    )


# --- The timeline of the mandate --------------------------------------------------------------

CLOSED = ("termine", "abandonne")
TIMELINE_LIMIT = 200


@dataclass
class Bar:
    """A project on the timeline: where its bar starts and how wide it is, in % of the span."""

    project: Project
    left: float
    width: float
    milestones: list[tuple[Milestone, float]]


@dataclass
class Timeline:
    first: dt.date
    last: dt.date
    bars: list[Bar]
    today: float
    mandate: tuple[int, int]


# Municipal councils are all elected for six years, in March (Code électoral, art. L227):
# 2020, 2026, 2032...
ELECTION_YEAR, TERM_YEARS = 2020, 6


def mandate(day: dt.date) -> tuple[int, int]:
    """The years of the March elections that open and close the term ``day`` falls in."""
    start = ELECTION_YEAR + TERM_YEARS * ((day.year - ELECTION_YEAR) // TERM_YEARS)
    if day < dt.date(start, 3, 1):
        start -= TERM_YEARS
    return start, start + TERM_YEARS


def timeline(commune: toolkit.Commune) -> Timeline:
    """The dated projects of the commune over the current term, widened to hold them all."""
    found = toolkit.db.scalars(
        select(Project)
        .where(
            Project.commune_id == commune.id,
            Project.start_date.is_not(None),
            Project.status != "abandonne",
        )
        .options(selectinload(Project.milestones))
        .order_by(Project.start_date, Project.id)
        .limit(TIMELINE_LIMIT)
    ).all()
    now = toolkit.utcnow().date()
    term = mandate(now)
    dates = [dt.date(term[0], 1, 1), dt.date(term[1], 12, 31)]
    dates += [p.start_date for p in found] + [p.end_date for p in found if p.end_date]
    dates += [m.due_date for p in found for m in p.milestones]
    first = dt.date(min(dates).year, 1, 1)
    last = dt.date(max(dates).year, 12, 31)
    span = (last - first).days or 1

    def at(day: dt.date) -> float:
        return round(100 * (day - first).days / span, 2)

    bars = []
    for project in found:
        end = project.end_date or max(project.start_date, now)
        left = at(project.start_date)
        bars.append(
            Bar(
                project=project,
                left=left,
                width=max(at(end) - left, 0.5),
                milestones=[(m, at(m.due_date)) for m in project.milestones],
            )
        )
    return Timeline(first, last, bars, at(now), term)


def search(commune: toolkit.Commune, query: str, limit: int) -> list[Project]:
    words = query.strip()
    if not words:
        return []
    return list(
        toolkit.db.scalars(
            select(Project)
            .where(
                Project.commune_id == commune.id,
                Project.title.icontains(words, autoescape=True),
            )
            .order_by(Project.updated_at.desc())
            .limit(limit)
        )
    )
