"""Dates changed on their own list the series' guests

Since a date changed on its own keeps a guest list of its own (a guest of that date alone,
a guest of the series not expected that date), a date changed before held none of the
series' guests, who were nonetheless invited to it: without them, the next change of the
series would withdraw their invitation to that date. Each such date now lists the series'
guests, then the ones it named itself.

Revision ID: 5b0e7c2d9a41
Revises: 2d8ebfcb712f
Create Date: 2026-11-23 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5b0e7c2d9a41"
down_revision = "2d8ebfcb712f"
branch_labels = None
depends_on = None

EVENT = sa.table(
    "agenda_event", sa.column("id"), sa.column("parent_id"), sa.column("guests", sa.JSON())
)


def upgrade() -> None:
    connection = op.get_bind()
    date, series = EVENT.alias("date"), EVENT.alias("series")
    rows = connection.execute(
        sa.select(date.c.id, date.c.guests, series.c.guests).join(
            series, series.c.id == date.c.parent_id
        )
    ).all()
    for date_id, own, of_series in rows:
        own, of_series = own or [], of_series or []
        seen = {guest.lower() for guest in of_series}
        merged = [*of_series, *(guest for guest in own if guest.lower() not in seen)]
        if merged != own:
            connection.execute(sa.update(EVENT).where(EVENT.c.id == date_id).values(guests=merged))


def downgrade() -> None:
    pass  # nothing to undo: each date lists who was invited to it
