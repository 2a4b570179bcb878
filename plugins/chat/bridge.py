"""The chat's side of the ``chat_bridge`` capability: a channel linked to a room of another
network (Matrix, through the ``matrix`` plugin), its messages sent there, the room's
messages brought here.

- **Out.** Posting in a linked channel queues an outbox message (``chat.bridge``) in the
  same transaction. Its handler sends *every* message of the channel not sent yet, in the
  channel's order, each with the transaction id ``viatic-<message id>``: the homeserver
  answers the same event for the same id, so a retry after a crash or a timeout never
  duplicates, and while the homeserver is down the messages wait and then go in order.
  Each sent message records its event id at once.
- **Changes out.** Editing, deleting or hiding a message that went (or is going) to the
  room queues an outbox message too, keyed by the change's event number. Its handler first
  sends what is waiting (so that the message is there), then brings the room's copy in
  line with the message *as it is now*: an edit sends its current text as a replacement
  (``m.replace``), a deletion or hiding redacts the event (and the text that came with a
  photo). An older edit delivered late therefore never brings back an older text, and
  each change has its own transaction id, so a retry never doubles it.
- **In.** A job reads the rooms from the bridge's saved position (Matrix's ``next_batch``)
  and adds their new messages to the linked channels, the position saved in the same
  transaction as the messages: a failure reads the same batch again, and a message already
  here (its event id is unique) is not added twice. The bridge's own messages are skipped.
- **Changes in.** A message that comes again (the same event id) is one the room changed:
  its sender edited it (the provider leaves out a replacement by anyone else, as Matrix
  clients do), and it reads « modifié » here with its new text; or it was redacted, and
  it is deleted here as its author would delete it. Only the messages that came from the
  room change so: the room's copy of a message written here is the bridge's, and a room
  moderator who redacts it removes that copy, not what the commune's members wrote.

Reactions stay on each side. Ours are not sent: the bot would have to stand for everyone
who reacted (one annotation of its own per emoji, redacted when the last person takes
theirs back), which means keeping the annotations' event ids. The room's are not read: a
reaction here is a member's (one per person and emoji, shown with their name), and
``ChatBridgeProvider.receive`` carries messages only.
"""

from __future__ import annotations

import io
import re

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from core import toolkit
from core.toolkit import gettext as _
from plugins.chat import markup, services
from plugins.chat.models import BridgeCursor, BridgeLink, Channel, Message

OUTBOX_KIND = "chat.bridge"
SYNC_JOB = "chat.bridge_sync"
SYNC_SECONDS = 10
# A room id (``!opaque``, with ``:server`` before room version 12) or an alias.
ROOM = re.compile(r"^(![^\s:#]+(:[A-Za-z0-9.\-]+(:\d+)?)?|#[^\s:]+:[A-Za-z0-9.\-]+(:\d+)?)$")


def link_of(channel: Channel) -> BridgeLink | None:
    return toolkit.db.scalar(select(BridgeLink).where(BridgeLink.channel_id == channel.id))


def connect(
    commune: toolkit.Commune, moderator: toolkit.User, channel: Channel, room: object
) -> BridgeLink:
    """Link ``channel`` to a room (``!id:server`` or ``#alias:server``): the bridge joins
    it; an encrypted room, a room that does not exist or a bot the homeserver refuses are
    refused with a sentence saying so."""
    services.check_moderator(commune, moderator)
    name = str(room or "").strip()
    if not ROOM.match(name) or len(name) > 255:
        raise services.ChatError(
            {"room": _("Écrivez l'adresse du salon : !identifiant:serveur ou #nom:serveur.")}
        )
    if link_of(channel) is not None:
        raise services.ChatError({"room": _("Ce canal est déjà relié à un salon.")})
    try:
        provider = toolkit.capability(commune, "chat_bridge")
        room_id = provider.connect_room(name)
    except toolkit.CapabilityUnavailable:
        raise services.ChatError(
            {
                "room": _(
                    "Aucun pont n'est réglé pour la commune : activez et réglez le module "
                    "« Pont Matrix (Tchap) » dans l'administration."
                )
            }
        ) from None
    except ValueError as refused:
        raise services.ChatError({"room": str(refused)}) from None
    except Exception:  # the homeserver does not answer
        raise services.ChatError(
            {"room": _("Le serveur Matrix ne répond pas : réessayez dans un moment.")}
        ) from None
    link = BridgeLink(
        commune_id=commune.id,
        channel_id=channel.id,
        room_id=room_id,
        from_seq=channel.last_seq,
        connected_by_id=moderator.id,
    )
    toolkit.db.add(link)
    toolkit.audit(
        "chat.bridge_connected",
        commune=commune,
        module=services.PLUGIN,
        object_type="channel",
        object_id=channel.id,
        details={"room": room_id},
        actor=moderator,
    )
    return link


def queue(commune: toolkit.Commune, channel: Channel, message: Message) -> None:
    """Send ``message`` to the linked room, if any (in the caller's transaction)."""
    if message.author_id is None or link_of(channel) is None:
        return
    toolkit.outbox_put(
        OUTBOX_KIND, {"channel": channel.id}, key=f"{OUTBOX_KIND}:{message.id}", commune=commune
    )


def queue_change(commune: toolkit.Commune, channel: Channel, message: Message, seq: int) -> None:
    """Carry the change numbered ``seq`` of ``message`` (edited, deleted or hidden) to the
    linked room, if the message was posted here after the link (in the caller's
    transaction)."""
    link = link_of(channel)
    if message.author_id is None or link is None or message.seq <= link.from_seq:
        return
    toolkit.outbox_put(
        OUTBOX_KIND,
        {"channel": channel.id, "message": message.id, "seq": seq},
        key=f"{OUTBOX_KIND}:{message.id}:{seq}",
        commune=commune,
    )


def deliver(outbox: toolkit.OutboxMessage) -> None:
    """Outbox handler: send the channel's messages not sent yet, in order; then, for a
    change, bring the room's copy of its message in line."""
    channel = toolkit.db.get(Channel, int(outbox.payload["channel"]))
    link = link_of(channel) if channel is not None else None
    if channel is None or link is None:
        return
    commune = toolkit.db.get(toolkit.Commune, channel.commune_id)
    provider = toolkit.capability(commune, "chat_bridge")
    waiting = toolkit.db.scalars(
        select(Message)
        .where(
            Message.channel_id == channel.id,
            Message.seq > link.from_seq,
            Message.author_id.is_not(None),
            Message.bridge_event_id.is_(None),
            Message.deleted_at.is_(None),
            Message.hidden_at.is_(None),
        )
        .order_by(Message.seq)
    ).all()
    for message in waiting:
        txn = f"viatic-{message.id}"
        if message.photo is not None:
            photo = message.photo
            event_id = provider.send_image(
                link.room_id,
                message.author_name,
                toolkit.files.path_of(photo.storage_key).read_bytes(),
                photo.media_type,
                photo.original_name,
                (photo.width, photo.height),
                txn,
            )
            if message.body:
                message.bridge_text_event_id = provider.send_message(
                    link.room_id, message.author_name, message.body, f"{txn}-t"
                )
        else:
            event_id = provider.send_message(link.room_id, message.author_name, message.body, txn)
        message.bridge_event_id = event_id
        toolkit.db.commit()
    if "message" in outbox.payload:
        changed = toolkit.db.get(Message, int(outbox.payload["message"]))
        if changed is not None:
            _mirror_change(provider, link.room_id, changed, int(outbox.payload["seq"]))


def _mirror_change(
    provider: toolkit.ChatBridgeProvider, room_id: str, message: Message, seq: int
) -> None:
    """Make the room's copy of ``message`` what the message is now: gone, or its current
    text (change number ``seq`` names the edit's transaction)."""
    if message.bridge_event_id is None:
        return  # never sent: deleted or hidden before it went
    txn = f"viatic-{message.id}"
    if message.gone:
        provider.redact(room_id, message.bridge_event_id, f"{txn}-redact")
        if message.bridge_text_event_id is not None:
            provider.redact(room_id, message.bridge_text_event_id, f"{txn}-t-redact")
    elif message.photo is None:
        provider.edit_message(
            room_id, message.bridge_event_id, message.author_name, message.body, f"{txn}-e{seq}"
        )
    elif message.bridge_text_event_id is not None:
        provider.edit_message(
            room_id,
            message.bridge_text_event_id,
            message.author_name,
            message.body,
            f"{txn}-t-e{seq}",
        )
    else:  # a photo sent without text, which an edit gave: the text goes on its own
        message.bridge_text_event_id = provider.send_message(
            room_id, message.author_name, message.body, f"{txn}-t"
        )
        toolkit.db.commit()


def sync(commune: toolkit.Commune, wait_seconds: float = 0) -> int:
    """Job: bring the linked rooms' new messages into their channels, and the changes
    made there to the messages that came from them. Returns how many messages were added
    or changed."""
    links = {
        link.room_id: link
        for link in toolkit.db.scalars(
            select(BridgeLink).where(BridgeLink.commune_id == commune.id)
        )
    }
    if not links:
        return 0
    provider = toolkit.capability(commune, "chat_bridge")
    cursor = toolkit.db.scalar(select(BridgeCursor).where(BridgeCursor.commune_id == commune.id))
    received, position = provider.receive(cursor.position if cursor else None, wait_seconds)
    brought = 0
    for item in received:
        link = links.get(item.room_id)
        if link is None:
            continue
        known = toolkit.db.scalar(select(Message).where(Message.bridge_event_id == item.event_id))
        if known is not None:
            # The message again: edited (its new text) or removed (nothing left) there.
            removed = not item.text and item.image is None
            if known.channel_id == link.channel_id and services.change_from_room(
                commune, known, item.sender, None if removed else item.text
            ):
                brought += 1
            continue
        if item.timestamp is not None and item.timestamp < link.connected_at:
            continue  # the room's history before the link stays there
        channel = toolkit.db.get(Channel, link.channel_id)
        text, photo = services.typed(item.text).strip()[: services.BODY_MAX], None
        if item.image is not None:
            upload = FileStorage(io.BytesIO(item.image), filename=item.image_name or "image")
            try:
                photo = toolkit.files.save(
                    upload,
                    commune=commune,
                    plugin=services.PLUGIN,
                    kinds={"image"},
                    max_bytes=services.PHOTO_MAX_BYTES,
                )
            except toolkit.files.Refused as refused:
                text = _("[Image non reçue : %(reason)s]", reason=refused.message)
        if not text and photo is None:
            continue
        message = Message(
            commune_id=commune.id,
            channel_id=channel.id,
            seq=0,
            author_id=None,
            author_name=services.typed(item.sender)[:200],
            body=text,
            html=markup.render(text) if text else "",
            photo=photo,
            bridge_event_id=item.event_id,
        )
        services.add_message(commune, channel, message, None)
        brought += 1
    if cursor is None:
        cursor = BridgeCursor(commune_id=commune.id, position=position)
        toolkit.db.add(cursor)
    cursor.position, cursor.updated_at = position, toolkit.utcnow()
    services.commit()
    return brought
