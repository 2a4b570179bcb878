"""The Chamilo provider's tables, prefixed ``chamilo_``: the keys it holds, encrypted.

- ``chamilo_credential``: the admin user's API key per commune, tied to the URL and username
  it was obtained for (new settings mean a new key);
- ``chamilo_account``: the Chamilo account made for each official who enrolled, per Chamilo
  address: its id, login, API key (progress is read as the learner) and a digest of the
  profile last sent, so that changes of name or e-mail address follow.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import toolkit


class Credential(toolkit.Base):
    __tablename__ = "chamilo_credential"

    commune_id: Mapped[int] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(500))
    username: Mapped[str] = mapped_column(String(100))
    api_key: Mapped[str] = mapped_column(Text)  # encrypted
    obtained_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)


class Account(toolkit.Base):
    __tablename__ = "chamilo_account"
    __table_args__ = (UniqueConstraint("url", "user_id"), UniqueConstraint("url", "loginname"))

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    chamilo_id: Mapped[int]
    loginname: Mapped[str] = mapped_column(String(100))
    api_key: Mapped[str] = mapped_column(Text)  # encrypted
    profile_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=toolkit.utcnow)
