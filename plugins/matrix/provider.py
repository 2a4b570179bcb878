"""The ``chat_bridge`` provider over Matrix: what the chat asks, said in Matrix's terms.

Built per commune from the module's settings (homeserver, bot account, its password or
access token). With a password, the bot signs in once per process on its own device and
keeps the token (Tchap asks bots not to sign in for each call, and transaction ids are
idempotent per device); a kept token that the homeserver no longer knows (the bot's
sessions were closed, its password changed and back) is dropped and the bot signs in again,
once, so that a long-running process does not fail until it restarts.

Refusals the person can act on (a room that does not exist, an encrypted room, wrong
credentials) raise ``ValueError`` with a sentence for them; a homeserver that does not
answer raises the connector's ``ConnectorUnavailable``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from connectors.http import CallRecord
from connectors.matrix import MatrixClient, MatrixRejected, RoomMessage, RoomRedaction
from core import toolkit
from core.toolkit import gettext as _

T = TypeVar("T")

# Tokens got by signing in, per (homeserver, user, password digest), for this process.
_tokens: dict[tuple[str, str, str], str] = {}
_tokens_lock = threading.Lock()


class MatrixBridge:
    def __init__(
        self, settings: dict[str, Any], on_call: Callable[[CallRecord], None] | None = None
    ) -> None:
        self.homeserver = str(settings.get("homeserver") or "").rstrip("/")
        self.user = str(settings.get("user") or "")
        self.password = str(settings.get("password") or "")
        self.token = str(settings.get("access_token") or "")
        self.on_call = on_call
        self._client: MatrixClient | None = None
        self._user_id: str | None = None

    # --- The signed-in client

    def client(self) -> MatrixClient:
        if self._client is not None:
            return self._client
        if not self.homeserver.startswith(("http://", "https://")) or not (
            self.token or (self.user and self.password)
        ):
            raise ValueError(
                _(
                    "Le pont Matrix n'est pas réglé : la commune doit indiquer l'adresse du "
                    "serveur et le compte du robot (Administration → Modules)."
                )
            )
        if self.token:
            self._client = MatrixClient(self.homeserver, self.token, on_call=self.on_call)
            return self._client
        key = self._key()
        with _tokens_lock:
            token = _tokens.get(key)
        if token is None:
            anonymous = MatrixClient(self.homeserver, on_call=self.on_call)
            try:
                token = anonymous.login(self.user, self.password).access_token
            except MatrixRejected as refused:
                raise ValueError(
                    _(
                        "Le serveur Matrix refuse le compte du robot : vérifiez l'identifiant "
                        "et le mot de passe (ou le jeton d'accès)."
                    )
                ) from refused
            finally:
                anonymous.close()
            with _tokens_lock:
                _tokens[key] = token
        self._client = MatrixClient(self.homeserver, token, on_call=self.on_call)
        return self._client

    def _key(self) -> tuple[str, str, str]:
        return (self.homeserver, self.user, toolkit.credential_digest(self.password))

    def _call(self, action: Callable[[MatrixClient], T]) -> T:
        """``action`` with the signed-in client; with a token this process signed in for
        and the homeserver no longer knows, once more after signing in again."""
        try:
            return action(self.client())
        except MatrixRejected as refused:
            if refused.errcode != "M_UNKNOWN_TOKEN" or self.token:
                raise
        with _tokens_lock:
            _tokens.pop(self._key(), None)
        if self._client is not None:
            self._client.close()
        self._client = None
        return action(self.client())

    def own_id(self) -> str:
        if self._user_id is None:
            try:
                self._user_id = self._call(lambda client: client.whoami())
            except MatrixRejected as refused:
                raise ValueError(
                    _(
                        "Le serveur Matrix refuse le compte du robot : vérifiez l'identifiant "
                        "et le mot de passe (ou le jeton d'accès)."
                    )
                ) from refused
        return self._user_id

    # --- The capability

    def connect_room(self, room: str) -> str:
        self.own_id()
        try:
            room_id = self._call(lambda client: client.join(room))
        except MatrixRejected as refused:
            raise ValueError(
                _(
                    "Le salon « %(room)s » n'existe pas, ou le robot ne peut pas y entrer "
                    "(invitez-le d'abord).",
                    room=room,
                )
            ) from refused
        if self._call(lambda client: client.is_encrypted(room_id)):
            raise ValueError(
                _(
                    "Le salon « %(room)s » est chiffré de bout en bout : le pont ne peut ni y "
                    "lire ni y écrire. Reliez un salon non chiffré.",
                    room=room,
                )
            )
        return room_id

    def send_message(self, room_id: str, sender: str, text: str, txn_id: str) -> str:
        content = {"msgtype": "m.text", "body": f"{sender} : {text}"}
        return self._call(lambda client: client.send(room_id, txn_id, content))

    def edit_message(self, room_id: str, event_id: str, sender: str, text: str, txn_id: str) -> str:
        """Replace the text of the bridge's event ``event_id`` (an ``m.replace`` relation:
        clients show the new text, marked as edited; older ones show the fallback body,
        the new text starred)."""
        content = {
            "msgtype": "m.text",
            "body": f"* {sender} : {text}",
            "m.new_content": {"msgtype": "m.text", "body": f"{sender} : {text}"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return self._call(lambda client: client.send(room_id, txn_id, content))

    def redact(self, room_id: str, event_id: str, txn_id: str) -> str:
        """Remove the content of the bridge's event ``event_id`` from the room."""
        return self._call(lambda client: client.redact(room_id, event_id, txn_id))

    def send_image(
        self,
        room_id: str,
        sender: str,
        data: bytes,
        media_type: str,
        name: str,
        size: tuple[int | None, int | None],
        txn_id: str,
    ) -> str:
        info: dict[str, Any] = {"mimetype": media_type, "size": len(data)}
        if size[0] and size[1]:
            info.update(w=size[0], h=size[1])

        def upload_and_send(client: MatrixClient) -> str:
            mxc = client.upload(data, media_type, name)
            content = {"msgtype": "m.image", "body": f"{sender} : {name}", "url": mxc, "info": info}
            return client.send(room_id, txn_id, content)

        return self._call(upload_and_send)

    def receive(
        self, since: str | None, wait_seconds: float = 0
    ) -> tuple[list[toolkit.BridgedMessage], str]:
        """The rooms' new messages, and the messages changed since they came: an edit by
        its sender gives the message again with its new text, a redaction gives it again
        empty (see ``ChatBridgeProvider``)."""
        me = self.own_id()
        batch = self._call(lambda client: client.sync(since, timeout_ms=int(wait_seconds * 1000)))
        found = []
        for event in batch.events:
            if event.sender == me or event.room_id in batch.encrypted_rooms:
                continue
            if isinstance(event, RoomRedaction):
                found.append(
                    toolkit.BridgedMessage(
                        event.room_id, event.redacts, event.sender, "", timestamp=_at(event)
                    )
                )
            elif event.replaces is not None:
                edited = self._edited(event)
                if edited is not None:
                    found.append(edited)
            else:
                found.append(self._bridged(event))
        return found, batch.next_batch

    def _edited(self, edit: RoomMessage) -> toolkit.BridgedMessage | None:
        """The message ``edit`` replaces, with its new text; None when Matrix's rules make
        it no edit: another sender than the message's (clients ignore such a replacement),
        a replaced edit, or what is not text on either side."""
        room_id, replaced = edit.room_id, edit.replaces or ""
        original = self._call(lambda client: client.message(room_id, replaced))
        if (
            original is None
            or original.sender != edit.sender
            or original.replaces is not None
            or original.msgtype == "m.image"
            or edit.msgtype == "m.image"
            or not edit.body
        ):
            return None
        return toolkit.BridgedMessage(
            room_id, original.event_id, edit.sender, edit.body, timestamp=_at(original)
        )

    def _bridged(self, event: RoomMessage) -> toolkit.BridgedMessage:
        sent = _at(event)
        if event.msgtype == "m.image" and event.url:
            url = event.url
            data, media_type = self._call(lambda client: client.download(url))
            return toolkit.BridgedMessage(
                event.room_id,
                event.event_id,
                event.sender,
                "",
                image=data,
                image_type=media_type or None,
                image_name=event.body,
                timestamp=sent,
            )
        return toolkit.BridgedMessage(
            event.room_id, event.event_id, event.sender, event.body, timestamp=sent
        )

    def health(self) -> toolkit.Health:
        try:
            return toolkit.Health(True, _("Connecté en tant que %(user)s.", user=self.own_id()))
        except ValueError as refused:
            return toolkit.Health(False, str(refused))
        except Exception as error:  # the homeserver is down: say so, never raise here
            return toolkit.Health(
                False, _("Le serveur Matrix ne répond pas (%(error)s).", error=type(error).__name__)
            )


def _at(event: RoomMessage | RoomRedaction) -> dt.datetime:
    """When the homeserver received ``event``."""
    return dt.datetime.fromtimestamp(event.timestamp_ms / 1000, dt.UTC)
