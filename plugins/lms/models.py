"""The platform's own courses, prefixed ``lms_``: written by the platform admins, shared by
every commune whose ``lms`` provider is this plugin.

A course is a list of ordered lessons; a lesson has a text (sanitised HTML), an optional
video of the Vidéothèque and an optional short quiz; a person's progress in a course is the
share of its lessons they completed (quiz passed, where there is one).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import toolkit


class LmsCourse(toolkit.Base):
    __tablename__ = "lms_course"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int | None]
    level: Mapped[str] = mapped_column(String(40), default="")
    themes: Mapped[list[str]] = mapped_column(default=list)
    # Unpublished courses are drafts: the catalogues do not list them.
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    lessons: Mapped[list[LmsLesson]] = relationship(
        order_by="LmsLesson.position", cascade="all, delete-orphan", back_populates="course"
    )


class LmsLesson(toolkit.Base):
    __tablename__ = "lms_lesson"
    __table_args__ = (UniqueConstraint("course_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("lms_course.id", ondelete="CASCADE"))
    position: Mapped[int]  # 1, 2, 3... in the course
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    # A published testimony of the Vidéothèque, played through the provider that holds it.
    # No foreign key: the lesson outlives a video removed from the library (and says so),
    # and this branch needs no table of another plugin.
    video_id: Mapped[int | None]
    # [{"question": str, "choices": [str, ...], "answer": index of the right choice}]
    quiz: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    course: Mapped[LmsCourse] = relationship(back_populates="lessons")


class LmsCompletion(toolkit.Base):
    """A lesson a person completed."""

    __tablename__ = "lms_completion"
    __table_args__ = (UniqueConstraint("lesson_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lms_lesson.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    completed_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
