"""The figures of the commune's dashboard cards (« en un coup d'œil »): projects by health
and status, overdue tasks, upcoming milestones, budget committed against planned, the
diagnostic's scores with their trend, and the themes nobody covers.

Each is one or two aggregate queries on the commune's indexes, so that a commune with a
thousand projects and twenty thousand tasks gets its dashboard as fast as a small one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core import toolkit
from plugins.pilotage import diagnostic, referentiel, tasks
from plugins.pilotage.models import Domain, Milestone, Project, Task, Theme

LIMIT = 5


@dataclass
class ProjectCounts:
    by_health: Counter[str]
    by_status: Counter[str]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def project_counts(commune: toolkit.Commune) -> ProjectCounts:
    by_health: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for status, health, count in toolkit.db.execute(
        select(Project.status, Project.health, func.count())
        .where(Project.commune_id == commune.id)
        .group_by(Project.status, Project.health)
    ):
        by_status[status] += count
        if status not in ("termine", "abandonne"):
            by_health[health] += count
    return ProjectCounts(by_health, by_status)


@dataclass
class Overdue:
    count: int
    first: list[Task]


def overdue(commune: toolkit.Commune) -> Overdue:
    """How many open tasks are past their due date, and the oldest few."""
    where = (
        Task.commune_id == commune.id,
        Task.status != tasks.DONE,
        Task.due_date < tasks.today(),
    )
    count = toolkit.db.scalar(select(func.count()).select_from(Task).where(*where)) or 0
    first = toolkit.db.scalars(
        select(Task)
        .where(*where)
        .options(selectinload(Task.assignee))
        .order_by(Task.due_date, Task.id)
        .limit(LIMIT)
    ).all()
    return Overdue(count, list(first))


def upcoming_milestones(commune: toolkit.Commune) -> list[Milestone]:
    return list(
        toolkit.db.scalars(
            select(Milestone)
            .join(Project, Project.id == Milestone.project_id)
            .where(
                Project.commune_id == commune.id,
                Milestone.done.is_(False),
                Milestone.due_date >= tasks.today(),
            )
            .options(selectinload(Milestone.project))
            .order_by(Milestone.due_date, Milestone.id)
            .limit(LIMIT)
        )
    )


@dataclass
class Budget:
    planned: Decimal
    committed: Decimal
    spent: Decimal

    @property
    def committed_share(self) -> int | None:
        if not self.planned:
            return None
        return round(100 * self.committed / self.planned)


def budget(commune: toolkit.Commune) -> Budget:
    """The sums over the projects that are neither abandoned nor mere ideas."""
    planned, committed, spent = toolkit.db.execute(
        select(
            func.coalesce(func.sum(Project.budget_planned), 0),
            func.coalesce(func.sum(Project.budget_committed), 0),
            func.coalesce(func.sum(Project.budget_spent), 0),
        ).where(Project.commune_id == commune.id, Project.status.not_in(("abandonne", "idee")))
    ).one()
    return Budget(Decimal(planned), Decimal(committed), Decimal(spent))


@dataclass
class DomainTrend:
    domain: Domain
    score: float
    previous: float | None

    @property
    def change(self) -> float | None:
        return None if self.previous is None else round(self.score - self.previous, 1)


def scores(commune: toolkit.Commune) -> list[DomainTrend]:
    """Each domain's score in the latest round that has any, beside the round before (the
    trend). A round just begun, with no answer yet, does not hide the last results."""
    by_round = diagnostic.scores_by_round(commune)
    rounds = sorted(by_round, reverse=True)[:2]  # ids grow with time
    if not rounds:
        return []
    latest = by_round[rounds[0]]
    before = by_round[rounds[1]] if len(rounds) > 1 else {}
    domains = {d.id: d for d in toolkit.db.scalars(select(Domain).where(Domain.id.in_(latest)))}
    trends = [
        DomainTrend(domains[domain_id], score, before.get(domain_id))
        for domain_id, score in latest.items()
    ]
    return sorted(trends, key=lambda t: t.domain.position)


def uncovered(commune: toolkit.Commune) -> list[Theme]:
    return referentiel.coverage(commune).uncovered
