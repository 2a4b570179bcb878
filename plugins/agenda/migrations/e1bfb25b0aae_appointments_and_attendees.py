"""Appointments (slots, invitees and their answers) and the attendees of events.

Revision ID: e1bfb25b0aae
Revises: d2d2896e78ab
Create Date: 2026-11-22 21:34:58.091373
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "e1bfb25b0aae"
down_revision = "d2d2896e78ab"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agenda_appointment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("organiser_id", sa.Integer(), nullable=True),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["agenda_calendar.id"],
            name=op.f("fk_agenda_appointment_calendar_id_agenda_calendar"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_agenda_appointment_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["agenda_event.id"],
            name=op.f("fk_agenda_appointment_event_id_agenda_event"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organiser_id"],
            ["user_account.id"],
            name=op.f("fk_agenda_appointment_organiser_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_appointment")),
    )
    with op.batch_alter_table("agenda_appointment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agenda_appointment_commune_id"), ["commune_id"], unique=False
        )

    op.create_table(
        "agenda_attendee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["agenda_event.id"],
            name=op.f("fk_agenda_attendee_event_id_agenda_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_agenda_attendee_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_attendee")),
        sa.UniqueConstraint(
            "event_id", "user_id", name=op.f("uq_agenda_attendee_event_id_user_id")
        ),
    )
    with op.batch_alter_table("agenda_attendee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_attendee_user_id"), ["user_id"], unique=False)

    op.create_table(
        "agenda_invitee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=10), nullable=False),
        sa.Column("available", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["agenda_appointment.id"],
            name=op.f("fk_agenda_invitee_appointment_id_agenda_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_agenda_invitee_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_invitee")),
        sa.UniqueConstraint(
            "appointment_id", "user_id", name=op.f("uq_agenda_invitee_appointment_id_user_id")
        ),
    )
    with op.batch_alter_table("agenda_invitee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_invitee_user_id"), ["user_id"], unique=False)

    op.create_table(
        "agenda_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("start_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["agenda_appointment.id"],
            name=op.f("fk_agenda_slot_appointment_id_agenda_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["user_account.id"],
            name=op.f("fk_agenda_slot_proposed_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_slot")),
    )
    with op.batch_alter_table("agenda_slot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agenda_slot_appointment_id"), ["appointment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("agenda_slot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_slot_appointment_id"))

    op.drop_table("agenda_slot")
    with op.batch_alter_table("agenda_invitee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_invitee_user_id"))

    op.drop_table("agenda_invitee")
    with op.batch_alter_table("agenda_attendee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_attendee_user_id"))

    op.drop_table("agenda_attendee")
    with op.batch_alter_table("agenda_appointment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_appointment_commune_id"))

    op.drop_table("agenda_appointment")
