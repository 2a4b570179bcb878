"""The tables of the pilotage module, all prefixed ``pilotage_``, on the core's base.

The référentiel (domains and themes) is shared by every commune: it is loaded from the
YAML files of ``referentiel/`` and edited by platform admins. Everything else belongs to
one commune and carries its ``commune_id``, the key of tenant isolation.

The schema is created by this plugin's own Alembic branch (``migrations/``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import toolkit

User = toolkit.User


# --- Référentiel ------------------------------------------------------------------------------


class Domain(toolkit.Base):
    """A domain of the élu's trade (finances, écoles...), holding themes."""

    __tablename__ = "pilotage_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    themes: Mapped[list[Theme]] = relationship(back_populates="domain", order_by="Theme.position")


class Theme(toolkit.Base):
    """A theme: what the commune must do (with the legal reference), what it may do,
    typical projects and the indicators that tell how it stands.

    ``version`` grows by one at each change of its content (a new file loaded, or a
    platform admin's edit), so that a commune that adopted it sees it changed.
    ``source_digest`` is the digest of the content last loaded from the files: a reload
    leaves a theme alone while its file entry has not changed, admin edits included.
    """

    __tablename__ = "pilotage_theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("pilotage_domain.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # [{"text": ..., "ref": ...}]: the obligations, each with the text that sets it.
    must: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    may: Mapped[list[str]] = mapped_column(default=list)
    projects: Mapped[list[str]] = mapped_column(default=list)
    indicators: Mapped[list[str]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    source_digest: Mapped[str] = mapped_column(String(64), default="")
    # Set when the theme left the files: kept, so that adoptions and answers stay readable.
    retired_at: Mapped[dt.datetime | None]

    domain: Mapped[Domain] = relationship(back_populates="themes")


class Adoption(toolkit.Base):
    """A theme a commune works on. ``seen_version`` is the theme's version when the team
    last looked at it."""

    __tablename__ = "pilotage_adoption"
    __table_args__ = (UniqueConstraint("commune_id", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("pilotage_theme.id", ondelete="CASCADE"))
    seen_version: Mapped[int] = mapped_column(default=1)
    adopted_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    adopted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    theme: Mapped[Theme] = relationship()


class Interest(toolkit.Base):
    """A member of a commune who wants to be involved in a theme."""

    __tablename__ = "pilotage_interest"
    __table_args__ = (UniqueConstraint("commune_id", "user_id", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("pilotage_theme.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship()


class Skills(toolkit.Base):
    """What a member says they know how to do, in their own words, for one commune."""

    __tablename__ = "pilotage_skills"
    __table_args__ = (UniqueConstraint("commune_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship()


# --- Projects and tasks -----------------------------------------------------------------------

PROJECT_STATUSES = ("idee", "etude", "en_cours", "suspendu", "termine", "abandonne")
HEALTHS = ("bonne_voie", "a_risque", "bloque")
PRIORITIES = ("basse", "normale", "haute")
TASK_STATUSES = ("a_faire", "en_cours", "fait")

project_theme = Table(
    "pilotage_project_theme",
    toolkit.Base.metadata,
    Column("project_id", ForeignKey("pilotage_project.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("pilotage_theme.id", ondelete="CASCADE"), primary_key=True),
)

project_member = Table(
    "pilotage_project_member",
    toolkit.Base.metadata,
    Column("project_id", ForeignKey("pilotage_project.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
)


class Project(toolkit.Base):
    """A project of the mandate: who leads it, its team, dates, budget, progress, health."""

    __tablename__ = "pilotage_project"
    __table_args__ = (
        Index("ix_pilotage_project_commune_status", "commune_id", "status"),
        Index("ix_pilotage_project_commune_updated", "commune_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="idee")
    priority: Mapped[str] = mapped_column(String(10), default="normale")
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]
    # Euros, with cents; None when nobody has said.
    budget_planned: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    budget_committed: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    budget_spent: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    progress: Mapped[int] = mapped_column(default=0)
    health: Mapped[str] = mapped_column(String(20), default="bonne_voie")
    health_reason: Mapped[str] = mapped_column(Text, default="")
    # What citizens read, once the team publishes it.
    citizen_summary: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    lead: Mapped[User | None] = relationship(foreign_keys=[lead_id])
    themes: Mapped[list[Theme]] = relationship(secondary=project_theme, order_by="Theme.title")
    members: Mapped[list[User]] = relationship(secondary=project_member, order_by="User.name")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project", order_by="Milestone.due_date", cascade="all, delete-orphan"
    )


class Milestone(toolkit.Base):
    """A dated step of a project."""

    __tablename__ = "pilotage_milestone"
    __table_args__ = (Index("ix_pilotage_milestone_project", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pilotage_project.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[dt.date]
    done: Mapped[bool] = mapped_column(default=False)

    project: Mapped[Project] = relationship(back_populates="milestones")


class Task(toolkit.Base):
    """A task, in a project or standalone, with its checklist."""

    __tablename__ = "pilotage_task"
    __table_args__ = (
        Index("ix_pilotage_task_commune_status", "commune_id", "status"),
        Index("ix_pilotage_task_assignee_status", "assignee_id", "status", "due_date"),
        Index("ix_pilotage_task_project", "project_id"),
        # Overdue tasks (the dashboard's card): the open ones only, by due date.
        Index(
            "ix_pilotage_task_open_due",
            "commune_id",
            "due_date",
            postgresql_where=text("status <> 'fait'"),
            sqlite_where=text("status <> 'fait'"),
        ),
        # « Mes tâches »: a person's open tasks, by due date.
        Index(
            "ix_pilotage_task_open_assignee",
            "assignee_id",
            "due_date",
            postgresql_where=text("status <> 'fait'"),
            sqlite_where=text("status <> 'fait'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("pilotage_project.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    due_date: Mapped[dt.date | None]
    priority: Mapped[str] = mapped_column(String(10), default="normale")
    status: Mapped[str] = mapped_column(String(10), default="a_faire")
    # [{"text": ..., "done": bool}]
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # When the reminder before the due date went out (once per due date).
    reminded_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    project: Mapped[Project | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class Comment(toolkit.Base):
    """A comment on a project or on a task."""

    __tablename__ = "pilotage_comment"
    __table_args__ = (
        Index("ix_pilotage_comment_project", "project_id"),
        Index("ix_pilotage_comment_task", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("pilotage_project.id", ondelete="CASCADE")
    )
    task_id: Mapped[int | None] = mapped_column(ForeignKey("pilotage_task.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    author: Mapped[User | None] = relationship()


# --- Self-diagnostic --------------------------------------------------------------------------

ANSWERS = ("oui", "partiel", "non", "nsp")


class Diagnostic(toolkit.Base):
    """One round of the commune's self-diagnostic; taken again, it starts a new round and
    the previous ones make the history of the mandate."""

    __tablename__ = "pilotage_diagnostic"
    __table_args__ = (Index("ix_pilotage_diagnostic_commune", "commune_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    closed_at: Mapped[dt.datetime | None]


class Answer(toolkit.Base):
    """The team's answer to one question of a theme, with who gave it and when."""

    __tablename__ = "pilotage_answer"
    __table_args__ = (UniqueConstraint("diagnostic_id", "theme_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    diagnostic_id: Mapped[int] = mapped_column(
        ForeignKey("pilotage_diagnostic.id", ondelete="CASCADE")
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("pilotage_theme.id", ondelete="CASCADE"))
    # "must-0", "must-1"... (one per obligation), "projects", "requests".
    question: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str] = mapped_column(String(500), default="")
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    answered_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    answered_by: Mapped[User | None] = relationship()


class DomainScore(toolkit.Base):
    """A domain's score (0-100) in one round, kept up to date as answers come in: the
    history, the trend on the dashboard and the comparison read it without recomputing."""

    __tablename__ = "pilotage_domain_score"
    __table_args__ = (
        UniqueConstraint("diagnostic_id", "domain_id"),
        Index("ix_pilotage_domain_score_commune", "commune_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    diagnostic_id: Mapped[int] = mapped_column(
        ForeignKey("pilotage_diagnostic.id", ondelete="CASCADE")
    )
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    domain_id: Mapped[int] = mapped_column(ForeignKey("pilotage_domain.id", ondelete="CASCADE"))
    score: Mapped[float]


class Sharing(toolkit.Base):
    """Whether a commune lets its latest domain scores count in the anonymous comparison."""

    __tablename__ = "pilotage_sharing"

    commune_id: Mapped[int] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), primary_key=True
    )
    opted_in: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)


class Benchmark(toolkit.Base):
    """The median score of a domain over a group of opted-in communes (a population
    stratum, or an EPCI), computed by a job; groups under the threshold are never stored."""

    __tablename__ = "pilotage_benchmark"
    __table_args__ = (UniqueConstraint("group_key", "domain_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "strate:2" or "epci:200069052"
    group_key: Mapped[str] = mapped_column(String(30))
    domain_id: Mapped[int] = mapped_column(ForeignKey("pilotage_domain.id", ondelete="CASCADE"))
    median: Mapped[float]
    communes: Mapped[int]
    computed_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)


class Document(toolkit.Base):
    """A file of a project (plan, estimate, photo), stored by the core's file support."""

    __tablename__ = "pilotage_document"
    __table_args__ = (Index("ix_pilotage_document_project", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pilotage_project.id", ondelete="CASCADE"))
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"))
    added_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    stored: Mapped[toolkit.files.StoredFile] = relationship()
