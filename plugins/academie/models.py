"""The Académie's tables, all prefixed ``academie_``.

What the training pages read, whatever the provider: the commune's catalogue
(``academie_course``, copied from the ``lms`` provider so that pages never wait on it) and
each official's enrolments with their progress (``academie_enrolment``). A row keeps the
provider that served it, so that a commune switching providers keeps the progress earned on
the previous one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import toolkit
from core.toolkit import lazy_gettext as _l

User = toolkit.User

LEVELS = {
    "decouverte": _l("Découverte"),
    "intermediaire": _l("Intermédiaire"),
    "approfondissement": _l("Approfondissement"),
}

# Enrolment states.
PENDING = "pending"  # waiting for the provider ("inscription en cours")
# The provider refuses the commune's settings (a wrong password...): kept until a commune
# admin fixes them, then sent without anyone asking again.
WAITING = "waiting"
ACTIVE = "active"
COMPLETED = "completed"
FAILED = "failed"  # the provider refused it (the course was removed...)
STATUS_LABELS = {
    PENDING: _l("Inscription en cours"),
    WAITING: _l("Inscription en attente"),
    ACTIVE: _l("En cours"),
    COMPLETED: _l("Terminée"),
    FAILED: _l("Inscription impossible"),
}
# What a waiting enrolment means, for the person who asked for it.
WAITING_NOTE = _l(
    "Votre inscription attend que la commune rétablisse la connexion avec la plateforme de "
    "formation. Elle se fera ensuite d'elle-même : vous n'avez rien à refaire."
)


class Course(toolkit.Base):
    """A course of a commune's catalogue, as its provider described it at the last refresh."""

    __tablename__ = "academie_course"
    __table_args__ = (UniqueConstraint("commune_id", "provider", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int | None]
    level: Mapped[str] = mapped_column(String(40), default="")
    themes: Mapped[list[str]] = mapped_column(default=list)
    # What "Continuer" opens: the course at the provider (which signs the person in).
    url: Mapped[str] = mapped_column(String(500), default="")
    # Set when the provider no longer lists it: enrolments stay readable, new ones are refused.
    removed_at: Mapped[dt.datetime | None]
    refreshed_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    @property
    def level_label(self) -> str:
        return str(LEVELS.get(self.level, self.level))

    def __repr__(self) -> str:
        return f"<Course {self.id} {self.provider}:{self.external_id}>"


class Enrolment(toolkit.Base):
    """An official enrolled in a course of their commune's catalogue, with their progress."""

    __tablename__ = "academie_enrolment"
    # One enrolment per person and course: a double click cannot make two.
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        Index("ix_academie_enrolment_commune", "commune_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("academie_course.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    progress: Mapped[float | None]  # 0–100; None until the provider reported any
    progress_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    active_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship()

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def status_note(self) -> str:
        """A sentence beside the status, when the status alone would leave the person
        wondering (an enrolment that waits)."""
        return str(WAITING_NOTE) if self.status == WAITING else ""

    @property
    def percent(self) -> int:
        return round(self.progress or 0)
