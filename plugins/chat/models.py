"""The chat's tables, all prefixed ``chat_``, on the core's declarative base.

Each channel numbers what happens in it (a message posted, edited, deleted or hidden) with
a gapless sequence, ``Channel.last_seq``, bumped under the channel row's lock by the same
transaction that writes the change. A live client resumes from the last number it saw, and
a read marker is such a number too: the numbers of one channel commit in order, so that
"everything after 41" is never missing a 40 committed late.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import toolkit
from core.toolkit import lazy_gettext as _l

User = toolkit.User
StoredFile = toolkit.files.StoredFile

# Kinds of channel.
GENERAL = "general"  # the municipal team's channel: every member of the team is in it
COMMISSION = "commission"  # a commission or a project: its members are named
GROUP = "group"  # a private group: its members are named
DIRECT = "direct"  # a conversation between two or more people, named by its members
KINDS = (GENERAL, COMMISSION, GROUP, DIRECT)
KIND_LABELS = {
    GENERAL: _l("Équipe municipale"),
    COMMISSION: _l("Commission ou projet"),
    GROUP: _l("Groupe privé"),
    DIRECT: _l("Conversation directe"),
}

# Status of a membership row. A row also carries the read marker, so the people of a
# channel open to everyone get one too, the first time they read it.
MEMBER = "member"
REMOVED = "removed"  # removed by a moderator: the channel is no longer theirs

# What happened in a channel (``ChannelEvent.kind``).
POSTED = "posted"
EDITED = "edited"
DELETED = "deleted"
HIDDEN = "hidden"
REACTED = "reacted"  # its reactions changed

# The reactions a member may add to a message: few, so that they fit one row of a phone,
# and each says what a municipal team often says without writing a message: agreed,
# thanks, done, warmth, amusement, surprise. No thumbs down: disagreeing with a colleague
# or a resident deserves words. Stored by key; shown with the emoji and, for screen readers
# and anyone unsure of an emoji, its label.
REACTIONS = {
    "ok": ("👍", _l("D'accord")),
    "merci": ("🙏", _l("Merci")),
    "fait": ("✅", _l("C'est fait")),
    "coeur": ("❤️", _l("J'aime")),
    "rire": ("😂", _l("Drôle")),
    "surpris": ("😮", _l("Surprenant")),
}


class Channel(toolkit.Base):
    __tablename__ = "chat_channel"
    __table_args__ = (Index("ix_chat_channel_commune", "commune_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(300), default="")
    # Everyone of the team is in it (and every citizen too when it is open to citizens),
    # without a membership row: the general channel, a channel for the residents.
    everyone: Mapped[bool] = mapped_column(default=False)
    # Citizens and partners never see a channel where this is false.
    open_to_citizens: Mapped[bool] = mapped_column(default=False)
    last_seq: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    last_message_at: Mapped[dt.datetime | None]

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    def __repr__(self) -> str:
        return f"<Channel {self.id} {self.name!r}>"


class Member(toolkit.Base):
    """A person's place in a channel: named member, or just their read marker."""

    __tablename__ = "chat_member"
    __table_args__ = (
        UniqueConstraint("channel_id", "user_id"),
        Index("ix_chat_member_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("chat_channel.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default=MEMBER)
    # Named members are in the channel; the others (channels open to everyone) only
    # keep their read marker here.
    named: Mapped[bool] = mapped_column(default=True)
    last_read_seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    user: Mapped[User] = relationship()


class Message(toolkit.Base):
    __tablename__ = "chat_message"
    __table_args__ = (
        UniqueConstraint("channel_id", "seq"),
        # History pages read a channel's messages backwards by id.
        Index("ix_chat_message_channel_id", "channel_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("chat_channel.id", ondelete="CASCADE"))
    seq: Mapped[int]
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Shown as the author: the person's name when posted, or the sender of a bridged room.
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # what the person typed (Markdown)
    html: Mapped[str] = mapped_column(Text)  # the body rendered and sanitised
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_message.id", ondelete="SET NULL")
    )
    # A photo, kept by the core's file support (served only to the channel's readers).
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    # The event of the bridged room (Matrix) this message was sent as or came from: a
    # message of the room that comes again is recognised by it.
    bridge_event_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # A photo with text goes to the room as two events, the image and then the text: the
    # text's, which an edit replaces and a deletion removes with the image.
    bridge_text_event_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    edited_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]
    hidden_at: Mapped[dt.datetime | None]

    channel: Mapped[Channel] = relationship()
    reply_to: Mapped[Message | None] = relationship(remote_side=[id])
    photo: Mapped[StoredFile | None] = relationship()
    reactions: Mapped[list[Reaction]] = relationship(order_by="Reaction.id", viewonly=True)

    @property
    def gone(self) -> bool:
        """Deleted by its author or hidden by a moderator: its text is no longer shown."""
        return self.deleted_at is not None or self.hidden_at is not None


class Reaction(toolkit.Base):
    """A person's reaction to a message, one of ``REACTIONS``; at most one of each kind."""

    __tablename__ = "chat_reaction"
    __table_args__ = (UniqueConstraint("message_id", "user_id", "emoji"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_message.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    user: Mapped[User] = relationship()


class ChannelEvent(toolkit.Base):
    """One numbered change of a channel, what live clients resume from."""

    __tablename__ = "chat_event"
    __table_args__ = (UniqueConstraint("channel_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("chat_channel.id", ondelete="CASCADE"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_message.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)


class BridgeLink(toolkit.Base):
    """A channel mirrored to a room of another network (``chat_bridge`` capability)."""

    __tablename__ = "chat_bridge_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("chat_channel.id", ondelete="CASCADE"), unique=True
    )
    room_id: Mapped[str] = mapped_column(String(255))
    # Messages posted here after this one are sent to the room; earlier ones are not.
    from_seq: Mapped[int] = mapped_column(default=0)
    connected_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    connected_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)


class BridgeCursor(toolkit.Base):
    """Where the commune's bridge stopped reading the other network (Matrix's
    ``next_batch``), saved with the messages it read."""

    __tablename__ = "chat_bridge_cursor"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), unique=True
    )
    position: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)


class Report(toolkit.Base):
    """A message reported by a member to the commune's moderators."""

    __tablename__ = "chat_report"
    __table_args__ = (Index("ix_chat_report_message", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_message.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    resolved_at: Mapped[dt.datetime | None]

    message: Mapped[Message] = relationship()
    reporter: Mapped[User | None] = relationship()
