"""The tables of the pilotage module, all prefixed ``pilotage_``, on the core's base.

The référentiel (domains and themes) is shared by every commune: it is loaded from the
YAML files of ``referentiel/`` and edited by platform admins. Everything else belongs to
one commune and carries its ``commune_id``, the key of tenant isolation.

The schema is created by this plugin's own Alembic branch (``migrations/``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import toolkit

User = toolkit.User


# --- Référentiel ------------------------------------------------------------------------------


class Domain(toolkit.Base):
    """A domain of the élu's trade (finances, écoles...), holding themes."""

    __tablename__ = "pilotage_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    themes: Mapped[list[Theme]] = relationship(back_populates="domain", order_by="Theme.position")


class Theme(toolkit.Base):
    """A theme: what the commune must do (with the legal reference), what it may do,
    typical projects and the indicators that tell how it stands.

    ``version`` grows by one at each change of its content (a new file loaded, or a
    platform admin's edit), so that a commune that adopted it sees it changed.
    ``source_digest`` is the digest of the content last loaded from the files: a reload
    leaves a theme alone while its file entry has not changed, admin edits included.
    """

    __tablename__ = "pilotage_theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("pilotage_domain.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # [{"text": ..., "ref": ...}]: the obligations, each with the text that sets it.
    must: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    may: Mapped[list[str]] = mapped_column(default=list)
    projects: Mapped[list[str]] = mapped_column(default=list)
    indicators: Mapped[list[str]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    source_digest: Mapped[str] = mapped_column(String(64), default="")
    # Set when the theme left the files: kept, so that adoptions and answers stay readable.
    retired_at: Mapped[dt.datetime | None]

    domain: Mapped[Domain] = relationship(back_populates="themes")


class Adoption(toolkit.Base):
    """A theme a commune works on. ``seen_version`` is the theme's version when the team
    last looked at it."""

    __tablename__ = "pilotage_adoption"
    __table_args__ = (UniqueConstraint("commune_id", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("pilotage_theme.id", ondelete="CASCADE"))
    seen_version: Mapped[int] = mapped_column(default=1)
    adopted_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
    adopted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    theme: Mapped[Theme] = relationship()


class Interest(toolkit.Base):
    """A member of a commune who wants to be involved in a theme."""

    __tablename__ = "pilotage_interest"
    __table_args__ = (UniqueConstraint("commune_id", "user_id", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("pilotage_theme.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship()


class Skills(toolkit.Base):
    """What a member says they know how to do, in their own words, for one commune."""

    __tablename__ = "pilotage_skills"
    __table_args__ = (UniqueConstraint("commune_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship()
