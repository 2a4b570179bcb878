"""The agenda's tables, all prefixed ``agenda_``, on the core's declarative base.

Times are stored as UTC instants (``start_at``, ``end_at``) with the zone they were entered
in (``timezone``, Europe/Paris): a recurring event is expanded in that zone's wall-clock
time, so that a weekly meeting at 18:00 stays at 18:00 in summer and in winter. An all-day
event starts and ends at local midnight (its end is exclusive, as in iCalendar).

The schema is created by this plugin's own Alembic branch (``migrations/``); the core's
tests compare the two.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import toolkit
from core.toolkit import lazy_gettext as _l

User = toolkit.User

# Who may see an event (besides the writers of the commune's calendars, who see them all).
PUBLIC = "public"  # everyone who may open the agenda, citizens included
MEMBERS = "members"  # the council and the staff (permission agenda.view_members)
PRIVATE = "private"  # its author, its attendees and those who write its calendar
VISIBILITIES = (PUBLIC, MEMBERS, PRIVATE)
VISIBILITY_LABELS = {
    PUBLIC: _l("Public : visible de tous, habitants compris"),
    MEMBERS: _l("Membres : élus et agents de la commune"),
    PRIVATE: _l("Privé : vous, les participants et ceux qui gèrent cet agenda"),
}
VISIBILITY_SHORT = {PUBLIC: _l("Public"), MEMBERS: _l("Membres"), PRIVATE: _l("Privé")}

CATEGORIES = {
    "seance": _l("Séance"),
    "reunion": _l("Réunion"),
    "manifestation": _l("Manifestation"),
    "ceremonie": _l("Cérémonie"),
    "permanence": _l("Permanence"),
    "autre": _l("Autre"),
}

# Calendar kinds: the calendars every commune gets when it enables the module.
COUNCIL = "conseil"
COMMISSION = "commission"
PUBLIC_EVENTS = "evenements"
PERSONAL = "personnel"  # one member's own: they alone write it

# Background colours of the calendars, behind white text: every one reaches a contrast
# ratio of 4.5:1 at least (RGAA 3.2, checked by the tests). The colour is never the only
# clue: the calendar's name is written beside it.
PALETTE = {
    "bleu": "#1d4f91",
    "vert": "#1b6b3a",
    "violet": "#6b2fa0",
    "rouge": "#a1262d",
    "brun": "#8a4b08",
    "ardoise": "#3d4f63",
}
PALETTE_LABELS = {
    "bleu": _l("Bleu"),
    "vert": _l("Vert"),
    "violet": _l("Violet"),
    "rouge": _l("Rouge"),
    "brun": _l("Brun"),
    "ardoise": _l("Ardoise"),
}


class Calendar(toolkit.Base):
    """A calendar of a commune: the council's, the mairie's events, and the commissions'
    (one made with the module, more added by the writers: one per commission, say), shared
    by the commune; and each member's own (``owner_id``), which only its owner writes."""

    __tablename__ = "agenda_calendar"
    __table_args__ = (
        Index("ix_agenda_calendar_commune", "commune_id"),
        UniqueConstraint("commune_id", "owner_id"),  # NULLs (shared calendars) all differ
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    colour: Mapped[str] = mapped_column(String(20))
    # The visibility a new event of this calendar starts with in the form.
    default_visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    # The subscription feed's secret, hashed (the address is shown once, when made).
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    feed_token_created_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    @property
    def colour_label(self) -> str:
        return str(PALETTE_LABELS.get(self.colour, self.colour))

    def __repr__(self) -> str:
        return f"<Calendar {self.id} {self.name!r}>"


class Event(toolkit.Base):
    """An event, possibly recurring (RRULE), with the occurrences removed from it (EXDATE).

    One occurrence of a series changed on its own ("cette occurrence") is a row of its own,
    as in iCalendar: the same UID as the series, ``recurrence_id`` naming the occurrence it
    replaces, ``parent_id`` pointing at the series, and no RRULE. The series lists those
    occurrences in ``overridden`` so that its expansion leaves them out.
    """

    __tablename__ = "agenda_event"
    __table_args__ = (
        # The month view and the feeds read a commune's events by start.
        Index("ix_agenda_event_commune_start", "commune_id", "start_at"),
        Index("ix_agenda_event_calendar", "calendar_id"),
        # iCalendar names a component by its UID and RECURRENCE-ID ("" for the series);
        # per commune, as a file imported in two communes brings the same UIDs to both.
        UniqueConstraint("commune_id", "uid", "recurrence_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    calendar_id: Mapped[int] = mapped_column(ForeignKey("agenda_calendar.id", ondelete="CASCADE"))
    # iCalendar's identity of the event: never changes, whatever is edited.
    uid: Mapped[str] = mapped_column(String(255))
    # The occurrence this row replaces, by its key (see ``exdates``); "" for a series or a
    # single event.
    recurrence_id: Mapped[str] = mapped_column(String(20), default="", server_default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_event.id", ondelete="CASCADE"), index=True
    )
    # iCalendar's SEQUENCE: bumped at each change people would want their phones to see.
    sequence: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20), default="autre")
    visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    all_day: Mapped[bool] = mapped_column(default=False)
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Paris")
    # RFC 5545 RRULE value, without the "RRULE:" prefix; None for a single event.
    rrule: Mapped[str | None] = mapped_column(String(300))
    # When the last occurrence ends (None: the series never ends), so that a month's
    # query need not expand every series of the commune.
    recurrence_end_at: Mapped[dt.datetime | None]
    # Occurrences removed from the series, by their local start in the event's zone
    # ("20261027T180000", or "20261027" for an all-day event).
    exdates: Mapped[list[str]] = mapped_column(default=list)
    # Occurrences replaced by a row of their own (same keys as ``exdates``).
    overridden: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # People from outside the commune's members who are expected, by e-mail address.
    guests: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # SET NULL: an event stays in the commune's agenda when its author deletes their account.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    calendar: Mapped[Calendar] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    parent: Mapped[Event | None] = relationship(remote_side=[id])
    attendees: Mapped[list[Attendee]] = relationship(
        order_by="Attendee.id", cascade="all, delete-orphan", passive_deletes=True
    )
    attachments: Mapped[list[Attachment]] = relationship(
        order_by="Attachment.id", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_override(self) -> bool:
        return self.parent_id is not None

    @property
    def category_label(self) -> str:
        return str(CATEGORIES.get(self.category, self.category))

    @property
    def visibility_label(self) -> str:
        return str(VISIBILITY_SHORT.get(self.visibility, self.visibility))

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.title!r}>"


class Attachment(toolkit.Base):
    """A document or a photo of an event (agenda of the meeting, plan, poster), stored by
    the core's file support and served to those who may see the event."""

    __tablename__ = "agenda_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_event.id", ondelete="CASCADE"), index=True
    )
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"))
    added_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    stored: Mapped[toolkit.files.StoredFile] = relationship()


class Attendee(toolkit.Base):
    """A member expected at an event (named on its form, or from a confirmed appointment):
    they see it, even private, and find it in their planning."""

    __tablename__ = "agenda_attendee"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("agenda_event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    # "accepted" (the slot suits them) or "declined" (invited, but it does not).
    status: Mapped[str] = mapped_column(String(10), default="accepted")

    user: Mapped[User] = relationship()


# Where an appointment stands.
OPEN, CONFIRMED, CANCELLED = "open", "confirmed", "cancelled"
# An invitee's answer.
PENDING, ACCEPTED, DECLINED, PROPOSED = "pending", "accepted", "declined", "proposed"


class Appointment(toolkit.Base):
    """A meeting being arranged ("rendez-vous individuel ou collectif"): the organiser
    proposes slots to members, each answers, the organiser confirms one, which becomes an
    event of the agenda with its attendees."""

    __tablename__ = "agenda_appointment"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), index=True
    )
    organiser_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    calendar_id: Mapped[int] = mapped_column(ForeignKey("agenda_calendar.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_event.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    organiser: Mapped[User | None] = relationship()
    calendar: Mapped[Calendar] = relationship()
    slots: Mapped[list[Slot]] = relationship(
        back_populates="appointment", order_by="Slot.start_at", cascade="all, delete-orphan"
    )
    invitees: Mapped[list[Invitee]] = relationship(
        back_populates="appointment", order_by="Invitee.id", cascade="all, delete-orphan"
    )


class Slot(toolkit.Base):
    """A time proposed for an appointment, by its organiser or by an invitee."""

    __tablename__ = "agenda_slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_appointment.id", ondelete="CASCADE"), index=True
    )
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    appointment: Mapped[Appointment] = relationship(back_populates="slots")
    proposed_by: Mapped[User | None] = relationship()


class Invitee(toolkit.Base):
    """A member asked to an appointment, with their answer and the slots that suit them."""

    __tablename__ = "agenda_invitee"
    __table_args__ = (UniqueConstraint("appointment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_appointment.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    answer: Mapped[str] = mapped_column(String(10), default=PENDING)
    # The ids of the slots that suit them.
    available: Mapped[list[str]] = mapped_column(default=list)
    comment: Mapped[str] = mapped_column(String(500), default="")
    answered_at: Mapped[dt.datetime | None]

    appointment: Mapped[Appointment] = relationship(back_populates="invitees")
    user: Mapped[User] = relationship()


class PlanningFeed(toolkit.Base):
    """The secret address of a person's planning as a subscription feed (« Mon planning »:
    what they may see in every commune of theirs, their private events included). Stored
    hashed; a new one replaces the old."""

    __tablename__ = "agenda_planning_feed"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)


# How long before an event a person wants to be reminded of it, in minutes.
REMINDER_CHOICES = {
    0: _l("Pas de rappel"),
    15: _l("15 minutes avant"),
    60: _l("1 heure avant"),
    1440: _l("La veille (24 heures avant)"),
}


class ReminderPreference(toolkit.Base):
    """A person's choice of reminders for the events they attend or wrote (none by default)."""

    __tablename__ = "agenda_reminder_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    minutes_before: Mapped[int] = mapped_column(default=0)


class ReminderSent(toolkit.Base):
    """A reminder already sent, so that the scheduler never sends it twice."""

    __tablename__ = "agenda_reminder_sent"
    __table_args__ = (UniqueConstraint("user_id", "event_id", "occurrence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("agenda_event.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
