"""The chat's logic, shared by the pages, the JSON API, the hooks and the Matrix bridge.

Each action checks its permission here, validates its input, writes its audit record when
it changes something people may have to account for, and leaves the commit to ``commit()``,
which also hands the channel's numbered events to the live fan-out once they are saved.

Who sees a channel:

- the municipal team (permission ``chat.team``: maire, adjoints, conseillers, agents by
  default) sees the channels open to everyone (the general channel) and those they are
  named in;
- citizens and partners see only channels explicitly opened to them (``open_to_citizens``),
  and among those the ones open to everyone or where they are named;
- nobody sees a channel they were removed from, and nobody outside the commune sees any.

A channel that a person may not see answers 404, the same as one that does not exist.

Who moderates (hides a message, sees the reports, removes a member, closes a channel, links
a channel to a Matrix room): the commune's admins, and the roles granted ``chat.moderate``
(the maire by default; a commune admin may grant it to others).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import Select, and_, exists, false, func, or_, select, update
from sqlalchemy.orm import selectinload

from core import toolkit
from core.toolkit import gettext as _
from plugins.chat import markup
from plugins.chat.models import (
    COMMISSION,
    DELETED,
    DIRECT,
    EDITED,
    GENERAL,
    GROUP,
    HIDDEN,
    MEMBER,
    POSTED,
    REACTED,
    REACTIONS,
    REMOVED,
    Channel,
    ChannelEvent,
    Member,
    Message,
    Reaction,
    Report,
)

log = logging.getLogger(__name__)

PLUGIN = "chat"
BODY_MAX = 4000
NAME_MAX = 100
TOPIC_MAX = 300
REASON_MAX = 500
PHOTO_MAX_BYTES = 10 * 2**20
PAGE_SIZE = 50
REPLAY_LIMIT = 500
ID_LIMIT = 2**31  # ids and event numbers are INTEGER columns
DIRECT_MAX_PEOPLE = 12
PENDING = "chat.pending"


class ChatError(Exception):
    """Input that cannot be accepted: ``errors`` maps each field at fault to a message for
    the person, in their language."""

    def __init__(self, errors: dict[str, object]) -> None:
        self.errors = {name: str(message) for name, message in errors.items()}
        super().__init__("; ".join(self.errors.values()))

    @property
    def message(self) -> str:
        return next(iter(self.errors.values()), "")


def _not_found() -> Any:
    toolkit.refuse(_("Ce canal n'existe pas, ou il ne vous est pas ouvert."), 404)


def typed(value: object) -> str:
    """What a person typed, as text: NUL characters, which no one means and PostgreSQL
    refuses in a string, are left out."""
    return str(value or "").replace("\x00", "")


def parse_id(value: object) -> int | None:
    """A message number from a form or a document, or None when it cannot be one (not a
    whole number, or beyond what the database holds)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value or "").strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 10:
            return None
        number = int(text)
    return number if 0 < number < ID_LIMIT else None


# --- Who may do what --------------------------------------------------------------------------


def is_team(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, "chat.team")


def can_moderate(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    """Who holds ``chat.moderate`` (the maire by default, and the commune's admins whatever
    their role: it is declared ``commune_admins``) moderates the chat they may read."""
    return toolkit.has_permission(user, commune, "chat.moderate") and toolkit.has_permission(
        user, commune, "chat.view"
    )


def check_moderator(commune: toolkit.Commune, user: toolkit.User | None) -> None:
    """403 unless ``user`` moderates the commune's chat."""
    if not can_moderate(commune, user):
        toolkit.refuse(_("Seuls les modérateurs de la messagerie peuvent faire cela."), 403)


def moderators(commune: toolkit.Commune) -> list[toolkit.User]:
    """Who moderates the commune's chat (to tell them of a report), by name."""
    holders = toolkit.members_with_permission(commune, "chat.moderate")
    return [u for u in holders if can_moderate(commune, u)]


def can_create(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, "chat.create")


def readable_channels(
    commune: toolkit.Commune, user: toolkit.User | None
) -> Select[tuple[Channel]]:
    """The channels of ``commune`` that ``user`` may read, as a query to refine."""
    query = select(Channel).where(Channel.commune_id == commune.id)
    if user is None or not toolkit.has_permission(user, commune, "chat.view"):
        return query.where(false())
    named = exists().where(
        Member.channel_id == Channel.id,
        Member.user_id == user.id,
        Member.named.is_(True),
        Member.status == MEMBER,
    )
    removed = exists().where(
        Member.channel_id == Channel.id, Member.user_id == user.id, Member.status == REMOVED
    )
    allowed = and_(or_(and_(Channel.everyone.is_(True), Channel.kind != DIRECT), named), ~removed)
    if not is_team(commune, user):
        allowed = and_(allowed, Channel.open_to_citizens.is_(True))
    return query.where(allowed)


def get_channel(commune: toolkit.Commune, user: toolkit.User | None, channel_id: int) -> Channel:
    channel = toolkit.db.scalar(readable_channels(commune, user).where(Channel.id == channel_id))
    if channel is None:
        _not_found()
    return channel


def can_write(commune: toolkit.Commune, user: toolkit.User | None, channel: Channel) -> bool:
    return channel.closed_at is None and toolkit.has_permission(user, commune, "chat.write")


def get_message(commune: toolkit.Commune, user: toolkit.User | None, message_id: int) -> Message:
    """A message of a channel ``user`` may read; 404 otherwise."""
    readable = readable_channels(commune, user).with_only_columns(Channel.id)
    message = toolkit.db.scalar(
        select(Message).where(Message.id == message_id, Message.channel_id.in_(readable))
    )
    if message is None:
        toolkit.refuse(_("Ce message n'existe pas, ou il ne vous est pas visible."), 404)
    return message


# --- Channels ---------------------------------------------------------------------------------


def list_channels(commune: toolkit.Commune, user: toolkit.User | None) -> list[Channel]:
    """The channels ``user`` may read: the general one first, then the latest active."""
    return list(
        toolkit.db.scalars(
            readable_channels(commune, user).order_by(
                (Channel.kind != GENERAL),
                Channel.last_message_at.desc().nulls_last(),
                Channel.name,
            )
        )
    )


def ensure_general(commune: toolkit.Commune) -> Channel:
    """The commune's general channel for its municipal team (created once)."""
    found = toolkit.db.scalar(
        select(Channel).where(Channel.commune_id == commune.id, Channel.kind == GENERAL)
    )
    if found is not None:
        return found
    channel = Channel(
        commune_id=commune.id,
        kind=GENERAL,
        name="Équipe municipale",
        topic="Le canal de toute l'équipe : élus et agents.",
        everyone=True,
        open_to_citizens=False,
    )
    toolkit.db.add(channel)
    toolkit.db.flush()
    toolkit.audit(
        "chat.channel_created",
        commune=commune,
        module=PLUGIN,
        object_type="channel",
        object_id=channel.id,
        details={"kind": GENERAL, "name": channel.name},
    )
    return channel


def commune_people(commune: toolkit.Commune) -> list[tuple[toolkit.User, str]]:
    """Every active member of the commune with their role, by name (to pick members)."""
    rows = toolkit.db.execute(
        select(toolkit.User, toolkit.Membership.role)
        .join(toolkit.Membership, toolkit.Membership.user_id == toolkit.User.id)
        .where(toolkit.Membership.commune_id == commune.id, toolkit.User.is_active.is_(True))
        .order_by(toolkit.User.name)
    )
    return [(user, role) for user, role in rows]


def _people(commune: toolkit.Commune, ids: Iterable[object]) -> list[toolkit.User]:
    wanted = set()
    for value in ids:
        try:
            wanted.add(int(str(value)))
        except ValueError:
            raise ChatError({"members": _("Choisissez les membres dans la liste.")}) from None
    found = [user for user, _role in commune_people(commune) if user.id in wanted]
    if len(found) != len(wanted):
        raise ChatError({"members": _("Choisissez les membres dans la liste.")})
    return found


@dataclass
class ChannelInput:
    kind: str
    name: str
    topic: str
    everyone: bool
    open_to_citizens: bool
    members: list[toolkit.User]


def validate_channel(commune: toolkit.Commune, raw: dict[str, Any]) -> ChannelInput:
    """Check a new channel's fields; raises ``ChatError`` naming each field at fault."""
    errors: dict[str, object] = {}
    kind = str(raw.get("kind") or "")
    name = " ".join(typed(raw.get("name")).split())
    topic = " ".join(typed(raw.get("topic")).split())
    if kind not in (COMMISSION, GROUP):
        errors["kind"] = _("Choisissez le type de canal dans la liste.")
    if not name:
        errors["name"] = _("Donnez un nom au canal.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Le nom ne doit pas dépasser %(max)d caractères.", max=NAME_MAX)
    if len(topic) > TOPIC_MAX:
        errors["topic"] = _("Le sujet ne doit pas dépasser %(max)d caractères.", max=TOPIC_MAX)
    everyone = bool(raw.get("everyone")) and kind == COMMISSION
    open_to_citizens = bool(raw.get("open_to_citizens"))
    members: list[toolkit.User] = []
    try:
        members = _people(commune, raw.get("members") or [])
    except ChatError as error:
        errors.update(error.errors)
    else:
        outsiders = [u.name for u in members if not is_team(commune, u)]
        if outsiders and not open_to_citizens:
            errors["members"] = _(
                "%(names)s ne fait pas partie de l'équipe municipale : ouvrez le canal aux "
                "habitants pour l'y ajouter.",
                names=", ".join(outsiders),
            )
    if errors:
        raise ChatError(errors)
    return ChannelInput(kind, name, topic, everyone, open_to_citizens, members)


def create_channel(commune: toolkit.Commune, user: toolkit.User, data: ChannelInput) -> Channel:
    toolkit.check("chat.create", commune=commune, user=user)
    channel = Channel(
        commune_id=commune.id,
        kind=data.kind,
        name=data.name,
        topic=data.topic,
        everyone=data.everyone,
        open_to_citizens=data.open_to_citizens,
        created_by_id=user.id,
    )
    toolkit.db.add(channel)
    toolkit.db.flush()
    for person in {user.id: user, **{m.id: m for m in data.members}}.values():
        toolkit.db.add(Member(channel_id=channel.id, user_id=person.id, named=True))
    toolkit.audit(
        "chat.channel_created",
        commune=commune,
        module=PLUGIN,
        object_type="channel",
        object_id=channel.id,
        details={
            "kind": channel.kind,
            "name": channel.name,
            "everyone": channel.everyone,
            "open_to_citizens": channel.open_to_citizens,
            "members": sorted(m.id for m in data.members),
        },
        actor=user,
    )
    return channel


def start_direct(commune: toolkit.Commune, user: toolkit.User, ids: Sequence[object]) -> Channel:
    """The direct conversation between ``user`` and the people named by ``ids``: the
    existing one with exactly these people, or a new one."""
    toolkit.check("chat.create", commune=commune, user=user)
    others = [p for p in _people(commune, ids) if p.id != user.id]
    if not others:
        raise ChatError({"members": _("Choisissez au moins une personne.")})
    if len(others) >= DIRECT_MAX_PEOPLE:
        raise ChatError(
            {
                "members": _(
                    "Une conversation directe réunit au plus %(max)d personnes : créez "
                    "plutôt un groupe.",
                    max=DIRECT_MAX_PEOPLE,
                )
            }
        )
    people = sorted([user, *others], key=lambda p: p.name)
    wanted = {p.id for p in people}
    for channel in toolkit.db.scalars(
        select(Channel).where(
            Channel.commune_id == commune.id,
            Channel.kind == DIRECT,
            Channel.id.in_(select(Member.channel_id).where(Member.user_id == user.id)),
        )
    ):
        ids_in = set(
            toolkit.db.scalars(select(Member.user_id).where(Member.channel_id == channel.id))
        )
        if ids_in == wanted:
            return channel
    channel = Channel(
        commune_id=commune.id,
        kind=DIRECT,
        name=", ".join(p.name for p in people)[:NAME_MAX],
        everyone=False,
        open_to_citizens=any(not is_team(commune, p) for p in people),
        created_by_id=user.id,
    )
    toolkit.db.add(channel)
    toolkit.db.flush()
    for person in people:
        toolkit.db.add(Member(channel_id=channel.id, user_id=person.id, named=True))
    toolkit.audit(
        "chat.direct_started",
        commune=commune,
        module=PLUGIN,
        object_type="channel",
        object_id=channel.id,
        details={"members": sorted(wanted)},
        actor=user,
    )
    return channel


def channel_members(commune: toolkit.Commune, channel: Channel) -> list[toolkit.User]:
    """The people who may read ``channel``, by name."""
    people = []
    named = set(
        toolkit.db.scalars(
            select(Member.user_id).where(
                Member.channel_id == channel.id, Member.named.is_(True), Member.status == MEMBER
            )
        )
    )
    removed = set(
        toolkit.db.scalars(
            select(Member.user_id).where(Member.channel_id == channel.id, Member.status == REMOVED)
        )
    )
    for user, _role in commune_people(commune):
        if user.id in removed or not toolkit.has_permission(user, commune, "chat.view"):
            continue
        if not (user.id in named or (channel.everyone and channel.kind != DIRECT)):
            continue
        if not channel.open_to_citizens and not is_team(commune, user):
            continue
        people.append(user)
    return people


# --- Messages ---------------------------------------------------------------------------------


def _next_seq(channel: Channel) -> int:
    """Number the channel's next event. The UPDATE locks the channel's row until the
    transaction ends, so the numbers of a channel commit in the order they are given."""
    seq = toolkit.db.scalar(
        update(Channel)
        .where(Channel.id == channel.id)
        .values(last_seq=Channel.last_seq + 1)
        .returning(Channel.last_seq)
    )
    channel.last_seq = seq
    return seq


def _record(channel: Channel, message: Message, kind: str) -> int:
    seq = _next_seq(channel)
    toolkit.db.add(ChannelEvent(channel_id=channel.id, seq=seq, kind=kind, message_id=message.id))
    toolkit.db.info.setdefault(PENDING, []).append((channel.id, seq, kind, message))
    return seq


def _record_change(commune: toolkit.Commune, channel: Channel, message: Message, kind: str) -> None:
    """Number a change of ``message`` (edited, deleted, hidden) and carry it to the
    bridged room, if any."""
    from plugins.chat import bridge

    bridge.queue_change(commune, channel, message, _record(channel, message, kind))


def _clean_body(body: object, optional: bool = False) -> str:
    text = typed(body).replace("\r\n", "\n").strip()
    if not text and not optional:
        raise ChatError({"body": _("Écrivez un message.")})
    if len(text) > BODY_MAX:
        raise ChatError(
            {"body": _("Un message ne doit pas dépasser %(max)d caractères.", max=BODY_MAX)}
        )
    return text


def _writable(commune: toolkit.Commune, user: toolkit.User, channel: Channel) -> None:
    toolkit.check("chat.write", commune=commune, user=user)
    if channel.commune_id != commune.id:
        _not_found()
    if channel.closed_at is not None:
        raise ChatError({"body": _("Ce canal est fermé : on ne peut plus y écrire.")})


def post_message(
    commune: toolkit.Commune,
    user: toolkit.User,
    channel: Channel,
    body: object,
    reply_to: object = None,
    photo: Any = None,
) -> Message:
    """Post ``body`` in ``channel`` (which the caller got through ``get_channel``), with a
    ``photo`` (an upload) if any: then the text may be empty."""
    _writable(commune, user, channel)
    text = _clean_body(body, optional=photo is not None)
    parent = None
    if reply_to not in (None, ""):
        parent_id = parse_id(reply_to)
        parent = toolkit.db.get(Message, parent_id) if parent_id is not None else None
        if parent is None or parent.channel_id != channel.id:
            raise ChatError({"reply_to": _("Le message auquel vous répondez n'est pas ici.")})
    stored = None
    if photo is not None:
        try:
            stored = toolkit.files.save(
                photo,
                commune=commune,
                plugin=PLUGIN,
                kinds={"image"},
                max_bytes=PHOTO_MAX_BYTES,
                uploader=user,
            )
        except toolkit.files.Refused as refused:
            raise ChatError({"photo": refused.message}) from None
    message = Message(
        commune_id=commune.id,
        channel_id=channel.id,
        seq=0,
        author_id=user.id,
        author_name=user.name,
        body=text,
        html=markup.render(text) if text else "",
        reply_to_id=parent.id if parent is not None else None,
        photo=stored,
    )
    return add_message(commune, channel, message, user)


def add_message(
    commune: toolkit.Commune, channel: Channel, message: Message, author: toolkit.User | None
) -> Message:
    """Number and save a new message (a person's, or one from a bridged room when
    ``author`` is None), notify, and queue it for the bridged room."""
    from plugins.chat import bridge

    message.seq = _next_seq(channel)
    message.created_at = toolkit.utcnow()
    channel.last_message_at = message.created_at
    toolkit.db.add(message)
    toolkit.db.flush()
    toolkit.db.add(
        ChannelEvent(channel_id=channel.id, seq=message.seq, kind=POSTED, message_id=message.id)
    )
    toolkit.db.info.setdefault(PENDING, []).append((channel.id, message.seq, POSTED, message))
    if author is not None:
        _advance_marker(channel, author, message.seq)
        bridge.queue(commune, channel, message)
    _notify(commune, channel, message, author)
    return message


def _own(commune: toolkit.Commune, user: toolkit.User, message: Message) -> Channel:
    channel = toolkit.db.get(Channel, message.channel_id)
    assert channel is not None
    _writable(commune, user, channel)
    if message.author_id != user.id:
        toolkit.refuse(_("Vous ne pouvez changer que vos propres messages."), 403)
    if message.gone:
        raise ChatError({"body": _("Ce message a été supprimé.")})
    return channel


def edit_message(
    commune: toolkit.Commune, user: toolkit.User, message: Message, body: object
) -> bool:
    """Change the text of one's own message (audited); returns whether it changed."""
    channel = _own(commune, user, message)
    text = _clean_body(body)
    if text == message.body:
        return False
    toolkit.audit(
        "chat.message_edited",
        commune=commune,
        module=PLUGIN,
        object_type="message",
        object_id=message.id,
        details={"channel": channel.id, "before": message.body, "after": text},
        actor=user,
    )
    _rewrite(message, text)
    _record_change(commune, channel, message, EDITED)
    return True


def _rewrite(message: Message, text: str) -> None:
    """An edited message shows its new text, marked « modifié »."""
    message.body, message.html = text, markup.render(text)
    message.edited_at = toolkit.utcnow()


def delete_message(commune: toolkit.Commune, user: toolkit.User, message: Message) -> None:
    """Delete one's own message: its text goes (kept in the audit log), a mark stays."""
    channel = _own(commune, user, message)
    toolkit.audit(
        "chat.message_deleted",
        commune=commune,
        module=PLUGIN,
        object_type="message",
        object_id=message.id,
        details={"channel": channel.id, "body": message.body},
        actor=user,
    )
    _erase(message)
    _record_change(commune, channel, message, DELETED)


def _erase(message: Message) -> None:
    """A deleted message keeps its place, not its text nor its photo."""
    message.body, message.html = "", ""
    if message.photo is not None:
        toolkit.files.delete(message.photo)
        message.photo = None
    message.deleted_at = toolkit.utcnow()


def change_from_room(
    commune: toolkit.Commune, message: Message, sender: str, text: str | None
) -> bool:
    """A message that came from a bridged room, as the room has it now: edited by its
    sender to ``text``, or removed there by ``sender`` (``text`` None): deleted when that
    is its author, hidden as by a moderator when it is the room's moderation. Messages
    written here stay as they are (the room's copy is the bridge's, not theirs), and so do
    deleted or hidden ones. Audited as the local changes are, ``sender`` as the actor.
    Returns whether it changed."""
    channel = toolkit.db.get(Channel, message.channel_id)
    sender = typed(sender)[:200]
    if message.author_id is not None or message.gone or channel is None:
        return False
    details: dict[str, Any] = {"channel": channel.id, "room_event": message.bridge_event_id}
    if text is None:
        details["body"] = message.body
        if sender == message.author_name:
            _erase(message)
            kind, action = DELETED, "chat.message_deleted"
        else:
            _conceal(message)
            kind, action = HIDDEN, "chat.message_hidden"
    else:
        text = typed(text).strip()[:BODY_MAX]
        if sender != message.author_name or not text or text == message.body:
            return False  # only its author edits a message
        details.update(before=message.body, after=text)
        _rewrite(message, text)
        kind, action = EDITED, "chat.message_edited"
    toolkit.audit(
        action,
        commune=commune,
        module=PLUGIN,
        object_type="message",
        object_id=message.id,
        details=details,
        actor_label=sender,
    )
    _record(channel, message, kind)
    return True


def toggle_reaction(
    commune: toolkit.Commune, user: toolkit.User, message: Message, emoji: object
) -> bool:
    """``user`` adds the reaction ``emoji`` (a key of ``REACTIONS``) to ``message``, or takes
    it back if they had it; returns whether they have it now. Whoever may read the message
    (the caller got it through ``get_message``) may react, but not to a deleted or hidden
    message, nor in a closed channel."""
    toolkit.check("chat.view", commune=commune, user=user)
    if not isinstance(emoji, str) or emoji not in REACTIONS:
        raise ChatError({"emoji": _("Choisissez une réaction dans la liste.")})
    if message.gone:
        raise ChatError({"emoji": _("On ne réagit pas à un message supprimé ou masqué.")})
    channel = toolkit.db.get(Channel, message.channel_id)
    assert channel is not None
    if channel.closed_at is not None:
        raise ChatError({"emoji": _("Ce canal est fermé : on ne peut plus y réagir.")})
    # Numbered first: the channel's row lock then orders two clicks of the same person, so
    # the second sees the first's row (no duplicate to refuse).
    _record(channel, message, REACTED)
    mine = toolkit.db.scalar(
        select(Reaction).where(
            Reaction.message_id == message.id,
            Reaction.user_id == user.id,
            Reaction.emoji == emoji,
        )
    )
    if mine is None:
        toolkit.db.add(Reaction(message_id=message.id, user_id=user.id, emoji=emoji))
    else:
        toolkit.db.delete(mine)
    toolkit.db.flush()
    toolkit.db.expire(message, ["reactions"])
    return mine is None


def history(channel: Channel, before: int | None = None, limit: int = PAGE_SIZE) -> list[Message]:
    """The ``limit`` messages of ``channel`` before the message ``before`` (the latest when
    None), oldest first."""
    query = select(Message).where(Message.channel_id == channel.id)
    if before is not None:
        query = query.where(Message.id < before)
    # The replies' parents, the photos and the reactions with their people in a query
    # each, not one per message.
    query = query.options(
        selectinload(Message.reply_to),
        selectinload(Message.photo),
        selectinload(Message.reactions).joinedload(Reaction.user),
    )
    found = list(toolkit.db.scalars(query.order_by(Message.id.desc()).limit(limit)))
    found.reverse()
    return found


def events_since(channel: Channel, seq: int) -> list[tuple[int, str, Message]]:
    """What happened in ``channel`` after event number ``seq``: (seq, kind, message), in
    order, at most ``REPLAY_LIMIT`` (a client further behind gets the rest when its stream
    resumes from the last of these, see ``live.stream``)."""
    rows = toolkit.db.execute(
        select(ChannelEvent.seq, ChannelEvent.kind, Message)
        .join(Message, Message.id == ChannelEvent.message_id)
        .where(ChannelEvent.channel_id == channel.id, ChannelEvent.seq > seq)
        .order_by(ChannelEvent.seq)
        .limit(REPLAY_LIMIT)
    )
    return [(s, k, m) for s, k, m in rows]


def search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[Message]:
    """Messages of the channels ``user`` may read whose text holds ``query``, latest first."""
    words = typed(query).strip()
    if not words:
        return []
    readable = readable_channels(commune, user).with_only_columns(Channel.id)
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        toolkit.db.scalars(
            select(Message)
            .where(
                Message.channel_id.in_(readable),
                Message.deleted_at.is_(None),
                Message.hidden_at.is_(None),
                Message.body.ilike(pattern, escape="\\"),
            )
            .order_by(Message.id.desc())
            .limit(limit)
        )
    )


# --- Read markers and unread counts -----------------------------------------------------------


def _marker(channel: Channel, user: toolkit.User) -> Member:
    row = toolkit.db.scalar(
        select(Member).where(Member.channel_id == channel.id, Member.user_id == user.id)
    )
    if row is None:
        row = Member(channel_id=channel.id, user_id=user.id, named=False, last_read_seq=0)
        toolkit.db.add(row)
    return row


def _advance_marker(channel: Channel, user: toolkit.User, seq: int) -> int:
    row = _marker(channel, user)
    row.last_read_seq = max(row.last_read_seq or 0, min(seq, channel.last_seq))
    return row.last_read_seq


def mark_read(channel: Channel, user: toolkit.User, seq: object = None) -> int:
    """Record that ``user`` read ``channel`` up to event ``seq`` (all of it when None);
    a marker never goes back. Returns the marker."""
    try:
        upto = channel.last_seq if seq in (None, "") else int(str(seq))
    except ValueError:
        raise ChatError({"seq": _("Le numéro de lecture doit être un nombre entier.")}) from None
    if upto < 0:
        raise ChatError({"seq": _("Le numéro de lecture doit être un nombre entier.")})
    marker = _advance_marker(channel, user, upto)
    toolkit.db.flush()
    return marker


def read_to_end(channel: Channel, user: toolkit.User) -> int:
    """Record that ``user`` read ``channel`` to its end (its page was opened); returns where
    their marker was, to show them where they had stopped."""
    row = _marker(channel, user)
    stopped_at = row.last_read_seq or 0
    row.last_read_seq = max(stopped_at, channel.last_seq)
    toolkit.db.flush()
    return stopped_at


def last_read(channel: Channel, user: toolkit.User) -> int:
    return (
        toolkit.db.scalar(
            select(Member.last_read_seq).where(
                Member.channel_id == channel.id, Member.user_id == user.id
            )
        )
        or 0
    )


def unread_counts(
    commune: toolkit.Commune, user: toolkit.User | None, channels: Sequence[Channel] | None = None
) -> dict[int, int]:
    """For each channel ``user`` may read, how many messages of others came after their
    read marker (deleted and hidden ones left out)."""
    if user is None:
        return {}
    ids = [c.id for c in (channels if channels is not None else list_channels(commune, user))]
    if not ids:
        return {}
    # One count per channel, each an index range scan from the person's marker (a join on
    # the marker instead would read the whole channel).
    marker = (
        select(func.coalesce(func.max(Member.last_read_seq), 0))
        .where(Member.channel_id == Channel.id, Member.user_id == user.id)
        .scalar_subquery()
    )
    unread = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.channel_id == Channel.id,
            Message.seq > marker,
            or_(Message.author_id.is_(None), Message.author_id != user.id),
            Message.deleted_at.is_(None),
            Message.hidden_at.is_(None),
        )
        .scalar_subquery()
    )
    rows = toolkit.db.execute(select(Channel.id, unread).where(Channel.id.in_(ids)))
    counts = dict.fromkeys(ids, 0)
    counts.update({channel_id: count for channel_id, count in rows})
    return counts


# --- Moderation -------------------------------------------------------------------------------


def moderated_message(
    commune: toolkit.Commune, moderator: toolkit.User, message_id: int
) -> Message:
    """Any message of the commune, for its moderators (a reported message may be in a
    conversation they are not part of)."""
    check_moderator(commune, moderator)
    message = toolkit.db.scalar(
        select(Message).where(Message.id == message_id, Message.commune_id == commune.id)
    )
    if message is None:
        toolkit.refuse(_("Ce message n'existe pas, ou il ne vous est pas visible."), 404)
    return message


def hide_message(
    commune: toolkit.Commune, moderator: toolkit.User, message: Message, reason: object = ""
) -> None:
    """A moderator hides a message: its text is no longer shown (the audit log keeps it);
    the reports about it are closed."""
    check_moderator(commune, moderator)
    if message.commune_id != commune.id:
        toolkit.refuse(_("Ce message n'existe pas, ou il ne vous est pas visible."), 404)
    if message.hidden_at is not None:
        return
    channel = toolkit.db.get(Channel, message.channel_id)
    assert channel is not None
    toolkit.audit(
        "chat.message_hidden",
        commune=commune,
        module=PLUGIN,
        object_type="message",
        object_id=message.id,
        details={
            "channel": channel.id,
            "author": message.author_name,
            "body": message.body,
            "reason": typed(reason)[:REASON_MAX],
        },
        actor=moderator,
    )
    _conceal(message)
    _record_change(commune, channel, message, HIDDEN)


def _conceal(message: Message) -> None:
    """A hidden message keeps its place, not its text; the reports about it are closed."""
    message.hidden_at = toolkit.utcnow()
    message.body, message.html = "", ""
    for report in toolkit.db.scalars(
        select(Report).where(Report.message_id == message.id, Report.resolved_at.is_(None))
    ):
        report.resolved_at = message.hidden_at


def report_message(
    commune: toolkit.Commune, user: toolkit.User, message: Message, reason: object
) -> Report:
    """A reader reports a message to the moderators, who are notified."""
    toolkit.check("chat.view", commune=commune, user=user)
    text = " ".join(typed(reason).split())
    if not text:
        raise ChatError({"reason": _("Dites en quelques mots ce qui ne va pas.")})
    if len(text) > REASON_MAX:
        raise ChatError(
            {"reason": _("La raison ne doit pas dépasser %(max)d caractères.", max=REASON_MAX)}
        )
    if message.author_id == user.id:
        raise ChatError({"reason": _("Vous ne pouvez pas signaler votre propre message.")})
    report = Report(commune_id=commune.id, message_id=message.id, reporter_id=user.id, reason=text)
    toolkit.db.add(report)
    toolkit.db.flush()
    toolkit.audit(
        "chat.message_reported",
        commune=commune,
        module=PLUGIN,
        object_type="message",
        object_id=message.id,
        details={"reason": text},
        actor=user,
    )
    toolkit.notify(
        [m for m in moderators(commune) if m.id != user.id],
        "chat.report",
        _("Message signalé dans « %(channel)s »", channel=message.channel.name),
        markup.excerpt(text),
        url=url_for("chat.reports"),
        commune=commune,
    )
    return report


def open_reports(commune: toolkit.Commune, moderator: toolkit.User) -> list[Report]:
    check_moderator(commune, moderator)
    return list(
        toolkit.db.scalars(
            select(Report)
            .where(Report.commune_id == commune.id, Report.resolved_at.is_(None))
            .order_by(Report.id)
        )
    )


def dismiss_report(commune: toolkit.Commune, moderator: toolkit.User, report_id: int) -> None:
    check_moderator(commune, moderator)
    report = toolkit.db.scalar(
        select(Report).where(Report.id == report_id, Report.commune_id == commune.id)
    )
    if report is None:
        toolkit.refuse(_("Ce signalement n'existe pas."), 404)
    report.resolved_at = toolkit.utcnow()
    toolkit.audit(
        "chat.report_dismissed",
        commune=commune,
        module=PLUGIN,
        object_type="message",
        object_id=report.message_id,
        actor=moderator,
    )


def remove_member(
    commune: toolkit.Commune, moderator: toolkit.User, channel: Channel, person_id: object
) -> toolkit.User:
    """A moderator removes a person from a channel: they no longer see it."""
    check_moderator(commune, moderator)
    try:
        [person] = _people(commune, [person_id])
    except (ChatError, ValueError):
        raise ChatError({"member": _("Choisissez la personne dans la liste.")}) from None
    if person.id == moderator.id:
        raise ChatError({"member": _("Vous ne pouvez pas vous retirer vous-même.")})
    row = _marker(channel, person)
    row.status = REMOVED
    toolkit.audit(
        "chat.member_removed",
        commune=commune,
        module=PLUGIN,
        object_type="channel",
        object_id=channel.id,
        details={"member": person.id, "name": person.name},
        actor=moderator,
    )
    return person


def close_channel(commune: toolkit.Commune, moderator: toolkit.User, channel: Channel) -> None:
    """A moderator closes a channel: it stays readable, nobody may write in it any more."""
    check_moderator(commune, moderator)
    if channel.kind == GENERAL:
        raise ChatError({"channel": _("Le canal de l'équipe municipale ne se ferme pas.")})
    if channel.closed_at is not None:
        return
    channel.closed_at = toolkit.utcnow()
    toolkit.audit(
        "chat.channel_closed",
        commune=commune,
        module=PLUGIN,
        object_type="channel",
        object_id=channel.id,
        details={"name": channel.name},
        actor=moderator,
    )


# --- Notifications ----------------------------------------------------------------------------


def _notify(
    commune: toolkit.Commune, channel: Channel, message: Message, author: toolkit.User | None
) -> None:
    """Mentioned people are notified, and in a direct conversation everyone else, unless
    they are reading the channel live. Messages that come from a bridged room (no author
    here) notify nobody: they were seen where they were written.

    "Reading live" is an open live stream on this channel (``live.hub().present``): the
    page of the channel is open somewhere, so the message appears there as it comes, and
    the streams keep this presence for every worker (in Redis with several). The read
    marker cannot say it: the notification is made in the transaction that posts the
    message, before anyone can have read it, so no marker is past it yet. A stream that
    reconnects (every ``live.STREAM_SECONDS``, for a second or two) counts as away, and
    so does a page out of view (a background tab, a phone's screen turned off): its
    stream is closed until it is looked at again (``live``)."""
    if author is None:
        return
    handles = markup.mentioned_handles(message.body)
    if not handles and channel.kind != DIRECT:
        return  # nobody to notify: the channel's readers (a query each) are not needed
    readers = [p for p in channel_members(commune, channel) if p.id != author.id]
    mentioned = [p for p in readers if markup.handle(p.name) in handles]
    to_tell = readers if channel.kind == DIRECT else mentioned
    if not to_tell:
        return
    present = _reading_live(channel, to_tell)
    url = url_for("chat.channel", channel_id=channel.id, _anchor=f"m{message.id}")
    mentioned_away = [p for p in mentioned if p.id not in present]
    if mentioned_away:
        toolkit.notify(
            mentioned_away,
            "chat.mention",
            _(
                "%(author)s vous mentionne dans « %(channel)s »",
                author=message.author_name,
                channel=channel.name,
            ),
            markup.excerpt(message.body),
            url=url,
            commune=commune,
        )
    if channel.kind == DIRECT:
        away = [p for p in readers if p.id not in present and p not in mentioned]
        if away:
            toolkit.notify(
                away,
                "chat.direct",
                _("Nouveau message de %(author)s", author=message.author_name),
                markup.excerpt(message.body),
                url=url,
                commune=commune,
            )


def _reading_live(channel: Channel, people: Sequence[toolkit.User]) -> set[int]:
    """The ids of ``people`` who have ``channel`` open live. When presence cannot be read
    (Redis unreachable), nobody: a notification too many rather than a post that fails."""
    from plugins.chat import live

    try:
        return live.hub().present(channel.id, [p.id for p in people])
    except Exception as error:
        log.warning("chat: presence not read (%s); notifying as if away", error)
        return set()


# --- Saving and announcing --------------------------------------------------------------------


def commit() -> None:
    """Save the transaction, then hand what it numbered to the live fan-out."""
    from plugins.chat import live

    pending = toolkit.db.info.pop(PENDING, [])
    toolkit.db.commit()
    for channel_id, seq, kind, message in pending:
        live.publish(channel_id, seq, kind, message_view(message))


def rollback() -> None:
    toolkit.db.info.pop(PENDING, None)
    toolkit.db.rollback()


def message_view(message: Message) -> dict[str, Any]:
    """What a reader (a page, the JSON API, a live client) gets of a message."""
    parent = message.reply_to
    photo = None if message.gone else message.photo
    return {
        "id": message.id,
        "channel_id": message.channel_id,
        "seq": message.seq,
        "author_id": message.author_id,
        "author_name": message.author_name,
        "body": "" if message.gone else message.body,
        "html": "" if message.gone else message.html,
        "created_at": message.created_at.isoformat(),
        "edited": message.edited_at is not None,
        "deleted": message.deleted_at is not None,
        "hidden": message.hidden_at is not None,
        "reply_to": None
        if parent is None
        else {
            "id": parent.id,
            "author_name": parent.author_name,
            "excerpt": "" if parent.gone else markup.excerpt(parent.body, 80),
        },
        "photo": None
        if photo is None
        else {"name": photo.original_name, "width": photo.width, "height": photo.height},
        "reactions": [] if message.gone else reactions_view(message.reactions),
    }


def reactions_view(reactions: Iterable[Reaction]) -> list[dict[str, Any]]:
    """A message's reactions by kind, in the order of ``REACTIONS``: who reacted (their
    ids, to tell a reader's own, and names) and how many."""
    by_kind: dict[str, list[Reaction]] = {}
    for reaction in reactions:
        by_kind.setdefault(reaction.emoji, []).append(reaction)
    return [
        {
            "emoji": emoji,
            "count": len(by_kind[emoji]),
            "ids": [r.user_id for r in by_kind[emoji]],
            "people": [r.user.name for r in by_kind[emoji]],
        }
        for emoji in REACTIONS
        if emoji in by_kind
    ]


def photo_of(commune: toolkit.Commune, user: toolkit.User | None, message_id: int) -> Any:
    """The photo of a message ``user`` may read (404 for anyone else, and once the message
    is deleted or hidden)."""
    message = get_message(commune, user, message_id)
    if message.gone or message.photo is None:
        toolkit.refuse(_("Cette photo n'existe pas, ou elle ne vous est pas visible."), 404)
    return message.photo


# --- Demonstration content --------------------------------------------------------------------


def add_demo_content(commune: toolkit.Commune) -> int:
    """A general channel with a short conversation, and a channel for the residents;
    idempotent (recognised by the channels' names). Returns how many messages were added."""
    general = ensure_general(commune)
    people = commune_people(commune)
    team = [u for u, role in people if role in ("maire", "adjoint", "conseiller", "agent")]
    if not team:
        return 0
    added = 0
    if general.last_seq == 0:
        lines = [
            "Bonjour à tous, la réunion de la commission des travaux est avancée à jeudi 18 h.",
            "Bien noté. Je prépare le point sur le chantier de la **salle des fêtes**.",
            "Le devis du couvreur est arrivé : je le dépose en mairie demain matin.",
        ]
        for index, line in enumerate(lines):
            author = team[index % len(team)]
            add_message(commune, general, _demo_message(commune, general, author, line), None)
            added += 1
    residents = toolkit.db.scalar(
        select(Channel).where(
            Channel.commune_id == commune.id, Channel.name == "Questions des habitants"
        )
    )
    if residents is None:
        residents = Channel(
            commune_id=commune.id,
            kind=COMMISSION,
            name="Questions des habitants",
            topic="Posez vos questions à l'équipe municipale.",
            everyone=True,
            open_to_citizens=True,
        )
        toolkit.db.add(residents)
        toolkit.db.flush()
        welcome = "Bienvenue ! Les élus et les agents répondent ici en semaine."
        add_message(commune, residents, _demo_message(commune, residents, team[0], welcome), None)
        added += 1
    if added:
        toolkit.audit(
            "chat.demo_content_added",
            commune=commune,
            module=PLUGIN,
            details={"messages": added},
            actor_label="viatic demo",
        )
    return added


def _demo_message(
    commune: toolkit.Commune, channel: Channel, author: toolkit.User, text: str
) -> Message:
    return Message(
        commune_id=commune.id,
        channel_id=channel.id,
        seq=0,
        author_id=author.id,
        author_name=author.name,
        body=text,
        html=markup.render(text),
    )
