"""The Vidéothèque's tables, all prefixed ``videotheque_``.

A testimony (:class:`Video`) belongs to the commune it was filmed in and remembers which
provider holds its file (``provider``, the plugin's name, and ``provider_ref``, the video's
name there): the commune may choose another provider later, the video stays where it is and
keeps playing. Its captions (WebVTT) are kept here, whichever provider shows them.

A video is *published* — seen by every member of the communes that use the library — once
the provider can play it, a platform admin approved it and captions are attached. Until
then only its contributor and the platform admins see it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import toolkit
from core.toolkit import lazy_gettext as _l

# Where the file is (``Video.status``).
UPLOADING = "uploading"  # bytes still to come from the contributor's browser
PROCESSING = "processing"  # the provider has every byte and prepares the video
READY = "ready"
FAILED = "failed"
MISSING = "missing"  # the provider no longer has it

# What the moderators said (``Video.moderation``).
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"

THEMES = {
    "urbanisme": _l("Urbanisme et logement"),
    "ecole": _l("École et jeunesse"),
    "mobilite": _l("Mobilités"),
    "transition": _l("Transition écologique"),
    "commerce": _l("Commerce et centre-bourg"),
    "sante": _l("Santé et solidarités"),
    "culture": _l("Culture, sport et vie associative"),
    "finances": _l("Budget et finances"),
    "participation": _l("Démocratie participative"),
    "intercommunalite": _l("Intercommunalité"),
}


class Video(toolkit.Base):
    """A video testimony of a commune."""

    __tablename__ = "videotheque_video"
    __table_args__ = (Index("ix_videotheque_video_commune", "commune_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text, default="")
    speaker: Mapped[str] = mapped_column(String(150), default="")
    # SET NULL: the testimony stays when its contributor's account is deleted.
    contributor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    consent_at: Mapped[dt.datetime]
    provider: Mapped[str] = mapped_column(String(41))
    provider_ref: Mapped[str] = mapped_column(String(200))
    # What the provider needs to take an interrupted upload up again (emptied when done).
    upload_resume: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12), default=UPLOADING)
    moderation: Mapped[str] = mapped_column(String(10), default=PENDING)
    moderated_at: Mapped[dt.datetime | None]
    captions_vtt: Mapped[str | None] = mapped_column(Text)
    captions_language: Mapped[str] = mapped_column(String(8), default="fr")
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    published_at: Mapped[dt.datetime | None]
    # When the provider was last asked about a playable video (it may have been deleted there).
    checked_at: Mapped[dt.datetime | None]
    # A copy to another provider under way (``videotheque deplacer``): where, its name
    # there and what it needs to resume. The video switches over once the copy is whole.
    move_provider: Mapped[str | None] = mapped_column(String(41))
    move_ref: Mapped[str | None] = mapped_column(String(200))
    move_resume: Mapped[str | None] = mapped_column(Text)

    commune: Mapped[toolkit.Commune] = relationship()
    contributor: Mapped[toolkit.User | None] = relationship()
    themes: Mapped[list[VideoTheme]] = relationship(
        cascade="all, delete-orphan", order_by="VideoTheme.theme"
    )

    @property
    def published(self) -> bool:
        return self.published_at is not None

    @property
    def theme_labels(self) -> list[str]:
        return [str(THEMES[t.theme]) for t in self.themes if t.theme in THEMES]

    def __repr__(self) -> str:
        return f"<Video {self.id} {self.title!r}>"


class VideoTheme(toolkit.Base):
    """One theme of a video (a video has one or more)."""

    __tablename__ = "videotheque_video_theme"
    __table_args__ = (UniqueConstraint("video_id", "theme"), Index("ix_videotheque_theme", "theme"))

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videotheque_video.id", ondelete="CASCADE"))
    theme: Mapped[str] = mapped_column(String(30))


class Rating(toolkit.Base):
    """A member's stars (1 to 5) for a video, with an optional short review. One per person
    and video: rating again changes it."""

    __tablename__ = "videotheque_rating"
    __table_args__ = (UniqueConstraint("video_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videotheque_video.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    stars: Mapped[int]
    review: Mapped[str] = mapped_column(String(500), default="")
    reported_at: Mapped[dt.datetime | None]
    hidden_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)

    user: Mapped[toolkit.User] = relationship()
    video: Mapped[Video] = relationship()
