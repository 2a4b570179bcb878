"""The plugin's tables, all prefixed ``idees_``, on the core's declarative base.

Their schema is created by this plugin's own Alembic branch (``migrations/``); keep the two
in step (the tests compare them).
"""

from __future__ import annotations

import datetime as dt

from core import toolkit
from core.toolkit import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

User = toolkit.User

# Status codes stored in the database, and what people read.
NEW = "new"
UNDER_STUDY = "under_study"
ACCEPTED = "accepted"
DECLINED = "declined"
STATUS_LABELS = {
    NEW: _l("Nouvelle"),
    UNDER_STUDY: _l("À l'étude"),
    ACCEPTED: _l("Retenue"),
    DECLINED: _l("Écartée"),
}


class Idea(toolkit.Base):
    """An idea a member proposed for their commune, and the elected team's answer."""

    __tablename__ = "idees_idea"
    # The list pages show a commune's ideas, newest first.
    __table_args__ = (Index("ix_idees_idea_commune_created", "commune_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    # SET NULL: an idea stays in the commune's history when its author deletes their account.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=NEW)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    answered_at: Mapped[dt.datetime | None]
    # Set by a moderator: the idea is then shown to moderators only. Never deleted.
    hidden_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow, onupdate=toolkit.utcnow)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    def __repr__(self) -> str:
        return f"<Idea {self.id} {self.title!r}>"
