"""pilotage projects, their themes, team and milestones; tasks; comments

Revision ID: 3bcc04fc4b92
Revises: dc1538216db8
Create Date: 2026-11-22 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "3bcc04fc4b92"
down_revision = "dc1538216db8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pilotage_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("budget_planned", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("budget_committed", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("budget_spent", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("health", sa.String(length=20), nullable=False),
        sa.Column("health_reason", sa.Text(), nullable=False),
        sa.Column("citizen_summary", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_project_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_project_lead_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_project")),
    )
    with op.batch_alter_table("pilotage_project", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pilotage_project_commune_status", ["commune_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_pilotage_project_commune_updated", ["commune_id", "updated_at"], unique=False
        )

    op.create_table(
        "pilotage_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["pilotage_project.id"],
            name=op.f("fk_pilotage_milestone_project_id_pilotage_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_milestone")),
    )
    with op.batch_alter_table("pilotage_milestone", schema=None) as batch_op:
        batch_op.create_index("ix_pilotage_milestone_project", ["project_id"], unique=False)

    op.create_table(
        "pilotage_project_member",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["pilotage_project.id"],
            name=op.f("fk_pilotage_project_member_project_id_pilotage_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_project_member_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_pilotage_project_member")),
    )
    op.create_table(
        "pilotage_project_theme",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["pilotage_project.id"],
            name=op.f("fk_pilotage_project_theme_project_id_pilotage_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["pilotage_theme.id"],
            name=op.f("fk_pilotage_project_theme_theme_id_pilotage_theme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "theme_id", name=op.f("pk_pilotage_project_theme")),
    )
    op.create_table(
        "pilotage_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("reminded_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_task_assignee_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_task_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["pilotage_project.id"],
            name=op.f("fk_pilotage_task_project_id_pilotage_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_task")),
    )
    with op.batch_alter_table("pilotage_task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pilotage_task_assignee_status", ["assignee_id", "status", "due_date"], unique=False
        )
        batch_op.create_index(
            "ix_pilotage_task_commune_status", ["commune_id", "status"], unique=False
        )
        batch_op.create_index("ix_pilotage_task_project", ["project_id"], unique=False)

    op.create_table(
        "pilotage_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_comment_author_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_comment_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["pilotage_project.id"],
            name=op.f("fk_pilotage_comment_project_id_pilotage_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["pilotage_task.id"],
            name=op.f("fk_pilotage_comment_task_id_pilotage_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_comment")),
    )
    with op.batch_alter_table("pilotage_comment", schema=None) as batch_op:
        batch_op.create_index("ix_pilotage_comment_project", ["project_id"], unique=False)
        batch_op.create_index("ix_pilotage_comment_task", ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pilotage_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_pilotage_comment_task")
        batch_op.drop_index("ix_pilotage_comment_project")

    op.drop_table("pilotage_comment")
    with op.batch_alter_table("pilotage_task", schema=None) as batch_op:
        batch_op.drop_index("ix_pilotage_task_project")
        batch_op.drop_index("ix_pilotage_task_commune_status")
        batch_op.drop_index("ix_pilotage_task_assignee_status")

    op.drop_table("pilotage_task")
    op.drop_table("pilotage_project_theme")
    op.drop_table("pilotage_project_member")
    with op.batch_alter_table("pilotage_milestone", schema=None) as batch_op:
        batch_op.drop_index("ix_pilotage_milestone_project")

    op.drop_table("pilotage_milestone")
    with op.batch_alter_table("pilotage_project", schema=None) as batch_op:
        batch_op.drop_index("ix_pilotage_project_commune_updated")
        batch_op.drop_index("ix_pilotage_project_commune_status")

    op.drop_table("pilotage_project")
