"""The chat's side of the ``chat_bridge`` capability: a channel linked to a room of another
network (Matrix, through the ``matrix`` plugin), its messages sent there, the room's
messages brought here.

- **Out.** Posting in a linked channel queues an outbox message (``chat.bridge``) in the
  same transaction. Its handler sends *every* message of the channel not sent yet, in the
  channel's order, each with the transaction id ``viatic-<message id>``: the homeserver
  answers the same event for the same id, so a retry after a crash or a timeout never
  duplicates, and while the homeserver is down the messages wait and then go in order.
  Each sent message records its event id at once.
- **In.** A job reads the rooms from the bridge's saved position (Matrix's ``next_batch``)
  and adds their new messages to the linked channels, the position saved in the same
  transaction as the messages: a failure reads the same batch again, and a message already
  here (its event id is unique) is not added twice. The bridge's own messages are skipped.

Edits and deletions stay on this side (the room keeps what was sent).
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


def deliver(outbox: toolkit.OutboxMessage) -> None:
    """Outbox handler: send the channel's messages not sent yet, in order."""
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
                provider.send_message(link.room_id, message.author_name, message.body, f"{txn}-t")
        else:
            event_id = provider.send_message(link.room_id, message.author_name, message.body, txn)
        message.bridge_event_id = event_id
        toolkit.db.commit()


def sync(commune: toolkit.Commune, wait_seconds: float = 0) -> int:
    """Job: bring the linked rooms' new messages into their channels. Returns how many
    were added."""
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
    added = 0
    for item in received:
        link = links.get(item.room_id)
        if link is None or toolkit.db.scalar(
            select(Message.id).where(Message.bridge_event_id == item.event_id)
        ):
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
        added += 1
    if cursor is None:
        cursor = BridgeCursor(commune_id=commune.id, position=position)
        toolkit.db.add(cursor)
    cursor.position, cursor.updated_at = position, toolkit.utcnow()
    services.commit()
    return added
