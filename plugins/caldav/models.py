"""The CalDAV sync's tables, prefixed ``caldav_``: each connection of a local calendar to a
remote one, and, per event UID, the remote resource it is in step with.

The password is stored encrypted (``toolkit.encrypt_secret``, the key of the portal's
secret settings) and never shown back. ``sync_token`` is the collection's RFC 6578 token
after the last pull. A ``Resource`` remembers the href and ETag of the last version both
sides agreed on, the digest of the iCalendar the local rows made then (so that a push with
nothing new is skipped) and the latest ``updated_at`` of those rows (so that a local change
made since is recognised when the remote one arrives: a conflict).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import toolkit
from plugins.agenda.models import Calendar


class Connection(toolkit.Base):
    """A calendar of the commune kept in step with a calendar of a CalDAV server."""

    __tablename__ = "caldav_connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_calendar.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(String(500))
    username: Mapped[str] = mapped_column(String(200))
    password: Mapped[str] = mapped_column(Text)  # encrypted
    sync_token: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[dt.datetime | None]
    # The last failure, in words for the commune admin; None once a sync succeeds.
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    calendar: Mapped[Calendar] = relationship()

    def __repr__(self) -> str:
        return f"<Connection {self.id} calendar={self.calendar_id}>"


class Resource(toolkit.Base):
    """One event (a UID: a series and its changed occurrences) as the server holds it."""

    __tablename__ = "caldav_resource"
    __table_args__ = (
        UniqueConstraint("connection_id", "uid"),
        Index("ix_caldav_resource_href", "connection_id", "href"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("caldav_connection.id", ondelete="CASCADE")
    )
    uid: Mapped[str] = mapped_column(String(255))
    href: Mapped[str] = mapped_column(String(1000))
    etag: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64))
    local_stamp: Mapped[dt.datetime | None]
