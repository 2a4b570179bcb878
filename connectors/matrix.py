"""A client of the Matrix client-server API (the protocol of Tchap), for a bot account.

Framework-free, on the shared ``connectors.http.HttpClient`` (timeouts, retries of
idempotent calls, circuit breaker, call log). It covers what a bridge needs: sign in once
for a long-lived access token (a fixed device, so that transaction ids stay idempotent),
find and join a room, tell whether it is end-to-end encrypted, send text, images and
edits and redact events with a transaction id (the same id twice is the same event), upload
and download media (the authenticated endpoints), long-poll ``/sync`` from a saved
``next_batch`` for the rooms' messages, edits and redactions, and read one event.

Matrix errors (``{"errcode": "M_…", "error": "…"}``) raise :class:`MatrixRejected`,
carrying the ``errcode``; a homeserver that does not answer raises the base's
``ConnectorUnavailable``. See ``shared/contracts/matrix.md`` for the endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from connectors.http import CallRecord, ConnectorRejected, HttpClient

NAME = "matrix"
CLIENT = "/_matrix/client/v3"
DEVICE_ID = "VIATICBRIDGE"
# Only what a bridge reads: messages of joined rooms (edits are messages too) and their
# redactions, without presence or account data.
SYNC_FILTER = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {
        "timeline": {"types": ["m.room.message", "m.room.redaction"], "limit": 100},
        "state": {"types": ["m.room.encryption"]},
        "ephemeral": {"types": []},
        "account_data": {"types": []},
    },
}


class MatrixRejected(ConnectorRejected):
    """The homeserver refused the call; ``errcode`` is Matrix's (``M_FORBIDDEN``...)."""

    def __init__(self, rejected: ConnectorRejected) -> None:
        super().__init__(
            rejected.connector,
            rejected.message,
            status=rejected.status,
            excerpt=rejected.excerpt,
            response=rejected.response,
        )
        body: dict[str, Any] = {}
        if rejected.response is not None:
            try:
                body = rejected.response.json()
            except ValueError:
                body = {}
        self.errcode = str(body.get("errcode") or "")
        self.error = str(body.get("error") or "")


@dataclass(frozen=True)
class Login:
    user_id: str
    access_token: str
    device_id: str


@dataclass(frozen=True)
class RoomMessage:
    """One ``m.room.message`` event of a room's timeline. An edit (an ``m.replace``
    relation) names the event it ``replaces``, and its ``msgtype`` and ``body`` are the
    new content's (``m.new_content``), not the starred fallback."""

    room_id: str
    event_id: str
    sender: str
    msgtype: str
    body: str
    url: str | None  # the mxc:// address of an image
    mimetype: str | None
    timestamp_ms: int
    replaces: str | None = None


@dataclass(frozen=True)
class RoomRedaction:
    """One ``m.room.redaction`` event: ``sender`` removed the content of ``redacts``."""

    room_id: str
    event_id: str
    sender: str
    redacts: str
    timestamp_ms: int


@dataclass(frozen=True)
class SyncBatch:
    next_batch: str
    events: list[RoomMessage | RoomRedaction]  # in the order of each room's timeline
    encrypted_rooms: set[str]


def room_message(room_id: str, event: dict[str, Any]) -> RoomMessage:
    """The ``m.room.message`` ``event`` of ``room_id`` as a :class:`RoomMessage`."""
    content = event.get("content") or {}
    relation = content.get("m.relates_to") or {}
    replaces = None
    if isinstance(relation, dict) and relation.get("rel_type") == "m.replace":
        replaces = str(relation.get("event_id") or "") or None
        new = content.get("m.new_content")
        content = new if isinstance(new, dict) else {}
    return RoomMessage(
        room_id=room_id,
        event_id=str(event.get("event_id")),
        sender=str(event.get("sender")),
        msgtype=str(content.get("msgtype") or ""),
        body=str(content.get("body") or ""),
        url=content.get("url"),
        mimetype=(content.get("info") or {}).get("mimetype"),
        timestamp_ms=int(event.get("origin_server_ts") or 0),
        replaces=replaces,
    )


class MatrixClient:
    """The client of one account on one homeserver (``homeserver``: its base URL)."""

    def __init__(
        self,
        homeserver: str,
        access_token: str | None = None,
        *,
        on_call: Callable[[CallRecord], None] | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
        retries: int = 2,
    ) -> None:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        self.http = HttpClient(
            homeserver,
            name=NAME,
            headers=headers,
            on_call=on_call,
            timeout=timeout,
            retries=retries,
            redact_keys=("access_token",),
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except ConnectorRejected as rejected:
            raise MatrixRejected(rejected) from None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        return response.json() if response.content else {}

    # --- Account

    def login(self, user: str, password: str) -> Login:
        """Sign in with a password on the bridge's own device; the token is kept. ``user``
        is a Matrix id or localpart, or an e-mail address (Tchap's accounts)."""
        if "@" in user and not user.startswith("@"):
            identifier = {"type": "m.id.thirdparty", "medium": "email", "address": user}
        else:
            identifier = {"type": "m.id.user", "user": user}
        answer = self._call(
            "POST",
            f"{CLIENT}/login",
            json={
                "type": "m.login.password",
                "identifier": identifier,
                "password": password,
                "device_id": DEVICE_ID,
                "initial_device_display_name": "Viatic",
            },
        )
        self.http.headers["Authorization"] = f"Bearer {answer['access_token']}"
        return Login(answer["user_id"], answer["access_token"], answer["device_id"])

    def whoami(self) -> str:
        return str(self._call("GET", f"{CLIENT}/account/whoami")["user_id"])

    # --- Rooms

    def join(self, room: str) -> str:
        """Join a room by its id (``!…``) or alias (``#…``); returns its id."""
        answer = self._call("POST", f"{CLIENT}/join/{quote(room, safe='')}", json={})
        return str(answer["room_id"])

    def create_room(self, name: str, invite: list[str] | None = None) -> str:
        answer = self._call(
            "POST",
            f"{CLIENT}/createRoom",
            json={"name": name, "preset": "private_chat", "invite": invite or []},
        )
        return str(answer["room_id"])

    def invite(self, room_id: str, user_id: str) -> None:
        self._call(
            "POST", f"{CLIENT}/rooms/{quote(room_id, safe='')}/invite", json={"user_id": user_id}
        )

    def is_encrypted(self, room_id: str) -> bool:
        """Whether the room has end-to-end encryption switched on."""
        response = self._request(
            "GET",
            f"{CLIENT}/rooms/{quote(room_id, safe='')}/state/m.room.encryption/",
            expected=(404,),
        )
        return response.status_code == 200

    # --- Messages and media

    def send(self, room_id: str, txn_id: str, content: dict[str, Any]) -> str:
        """Send an ``m.room.message``; the same ``txn_id`` (from this device) is the same
        event, so a retry never duplicates it. Returns the event id."""
        answer = self._call(
            "PUT",
            f"{CLIENT}/rooms/{quote(room_id, safe='')}/send/m.room.message/"
            f"{quote(txn_id, safe='')}",
            json=content,
        )
        return str(answer["event_id"])

    def redact(self, room_id: str, event_id: str, txn_id: str) -> str:
        """Remove an event's content from the room (its sender may always); the same
        ``txn_id`` is the same redaction. Returns the redaction's event id."""
        answer = self._call(
            "PUT",
            f"{CLIENT}/rooms/{quote(room_id, safe='')}/redact/{quote(event_id, safe='')}/"
            f"{quote(txn_id, safe='')}",
            json={},
        )
        return str(answer["event_id"])

    def upload(self, data: bytes, content_type: str, filename: str) -> str:
        """Upload a file; returns its ``mxc://`` address."""
        answer = self._call(
            "POST",
            "/_matrix/media/v3/upload",
            params={"filename": filename},
            data=data,
            headers={"Content-Type": content_type},
        )
        return str(answer["content_uri"])

    def download(self, mxc: str) -> tuple[bytes, str]:
        """The bytes and type of an ``mxc://server/id`` file (authenticated download)."""
        if not mxc.startswith("mxc://") or mxc.count("/") != 3:
            raise ValueError(f"not an mxc address: {mxc!r}")
        server, media_id = mxc.removeprefix("mxc://").split("/")
        response = self._request(
            "GET",
            f"/_matrix/client/v1/media/download/{quote(server, safe='')}/"
            f"{quote(media_id, safe='')}",
            timeout=(5.0, 60.0),
        )
        return response.content, response.headers.get("Content-Type", "")

    def sync(self, since: str | None, timeout_ms: int = 0) -> SyncBatch:
        """The messages of the joined rooms since ``since`` (everything recent when None),
        waiting up to ``timeout_ms`` for one to come."""
        params: dict[str, Any] = {"timeout": timeout_ms, "filter": json.dumps(SYNC_FILTER)}
        if since:
            params["since"] = since
        answer = self._call(
            "GET",
            f"{CLIENT}/sync",
            params=params,
            timeout=(5.0, timeout_ms / 1000 + 20.0),
        )
        events: list[RoomMessage | RoomRedaction] = []
        encrypted: set[str] = set()
        for room_id, room in (answer.get("rooms", {}).get("join") or {}).items():
            for event in room.get("state", {}).get("events", []):
                if event.get("type") == "m.room.encryption":
                    encrypted.add(room_id)
            for event in room.get("timeline", {}).get("events", []):
                kind = event.get("type")
                if kind == "m.room.encryption":
                    encrypted.add(room_id)
                elif kind == "m.room.message":
                    events.append(room_message(room_id, event))
                elif kind == "m.room.redaction":
                    # Top-level before room version 11, in the content since.
                    redacts = event.get("redacts") or (event.get("content") or {}).get("redacts")
                    if redacts:
                        events.append(
                            RoomRedaction(
                                room_id=room_id,
                                event_id=str(event.get("event_id")),
                                sender=str(event.get("sender")),
                                redacts=str(redacts),
                                timestamp_ms=int(event.get("origin_server_ts") or 0),
                            )
                        )
        return SyncBatch(str(answer["next_batch"]), events, encrypted)

    def message(self, room_id: str, event_id: str) -> RoomMessage | None:
        """The ``m.room.message`` ``event_id`` of the room (None when it is no such
        message or the homeserver does not show it to this account)."""
        response = self._request(
            "GET",
            f"{CLIENT}/rooms/{quote(room_id, safe='')}/event/{quote(event_id, safe='')}",
            expected=(403, 404),
        )
        event = response.json() if response.status_code == 200 else {}
        if event.get("type") != "m.room.message":
            return None
        return room_message(room_id, event)

    def close(self) -> None:
        self.http.close()
