"""Capabilities: what feature code asks for, whichever tool provides it for the commune.

A capability is a ``typing.Protocol``. Provider plugins return factories for the ones they
implement (hook ``viatic_capabilities``); the commune admin picks a provider among the
enabled ones; feature code calls ``toolkit.capability(commune, "video")`` and never names
Chamilo or Vimeo. The protocols hold the operations the features rely on; each feature issue
extends its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol, runtime_checkable

from flask import current_app
from sqlalchemy import select

from core.db import db
from core.models import Commune, CommuneCapability, CommuneModule
from core.settings import current_values


class CapabilityUnavailable(Exception):
    """No enabled provider for this capability in this commune, or the provider failed."""


@dataclass(frozen=True)
class VideoUpload:
    """An upload started at a video provider: ``ref`` names the video there for good;
    ``resume`` is what the provider needs to take the upload up again (an upload address),
    opaque to the caller, who keeps it with the video until the last byte is sent."""

    ref: str
    resume: str = ""


# What a provider says of a video it holds (``VideoProvider.state``).
VIDEO_PROCESSING = "processing"  # received, being prepared (transcoding)
VIDEO_READY = "ready"  # can be played
VIDEO_FAILED = "failed"  # the provider could not prepare it
VIDEO_MISSING = "missing"  # the provider no longer has it (deleted on its side)


@runtime_checkable
class VideoProvider(Protocol):
    """``video``: host videos, receive them in chunks, embed them with their captions.

    An upload is resumable: ``start_upload`` reserves ``size`` bytes; ``upload_chunk`` sends
    ``length`` bytes read from ``stream`` at ``offset`` (the stream is read as it is sent,
    never held whole) and returns the new offset; after an interruption, ``upload_offset``
    says how many bytes the provider kept. ``open_file`` reads a video back from ``offset``
    (with its total size), to move it to another provider. Failures of the provider raise
    ``CapabilityUnavailable`` (its message is for the logs, not for people).
    """

    # The providing plugin's name: what a video records to stay with its provider.
    name: str

    def start_upload(self, size: int, title: str, description: str) -> VideoUpload: ...

    def upload_offset(self, upload: VideoUpload) -> int: ...

    def upload_chunk(
        self, upload: VideoUpload, offset: int, stream: IO[bytes], length: int
    ) -> int: ...

    def state(self, ref: str) -> str: ...

    def attach_captions(self, ref: str, vtt: bytes, language: str) -> None: ...

    def open_file(self, ref: str, offset: int = 0) -> tuple[IO[bytes], int]: ...

    def delete(self, ref: str) -> None: ...

    def embed_html(self, video_id: str, title: str, captions_url: str | None = None) -> str: ...


@dataclass(frozen=True)
class CourseInfo:
    """A course as an ``lms`` provider lists it. ``url`` is where « Continuer » takes an
    enrolled person (the provider signs them in); ``level`` is one of the Académie's levels
    (``decouverte``, ``intermediaire``, ``approfondissement``) or empty."""

    id: str
    title: str
    description: str = ""
    duration_minutes: int | None = None
    level: str = ""
    themes: tuple[str, ...] = ()
    url: str = ""


@dataclass(frozen=True)
class Learner:
    """The person an ``lms`` provider enrols or reports on."""

    user_id: int
    email: str
    name: str


class EnrolmentRefused(Exception):
    """The provider refused an enrolment for good (the course is gone...): retrying will not
    help. Any exception of ``enrol`` other than this one and ``SettingsRefused`` means "try
    again later"."""


class SettingsRefused(Exception):
    """The provider refuses the commune's settings (a wrong password, web services switched
    off): nothing goes through until a commune admin fixes them, so retrying meanwhile is
    pointless. The message says what to fix, in words for that admin (translated)."""


@runtime_checkable
class LmsProvider(Protocol):
    """``lms``: courses, enrolments and progress.

    ``key`` names the provider in stored rows (its plugin's name); ``remote`` says whether
    calls leave the process (then the Académie copies the catalogue and the progress by
    scheduled jobs and sends enrolments through the outbox; a local provider is read
    directly). ``enrol`` is idempotent. ``progress`` takes (course id, learner) pairs and
    returns the progress (0–100) of those it could read, keyed by (course id, user id).
    """

    key: str
    label: str
    remote: bool

    def list_courses(self) -> list[CourseInfo]: ...

    def enrol(self, course_id: str, learner: Learner) -> None: ...

    def progress(
        self, items: Sequence[tuple[str, Learner]]
    ) -> dict[tuple[str, int], float | None]: ...


@runtime_checkable
class CalendarSyncProvider(Protocol):
    """``calendar_sync``: keep the agenda's calendars in step with calendars elsewhere.

    The agenda calls ``events_changed`` inside the transaction of a local change, with the
    UIDs of the events it created, changed or deleted; the provider queues their delivery
    (through the outbox) and pulls remote changes on its own schedule. ``manage_link`` is
    the (label, URL) of the page where a commune admin connects calendars."""

    def events_changed(self, uids: Collection[str]) -> None: ...

    def manage_link(self) -> tuple[str, str]: ...


@dataclass(frozen=True)
class BridgedMessage:
    """A message read in a bridged room: its text, or an image (bytes, type, file name)."""

    room_id: str
    event_id: str
    sender: str
    text: str
    image: bytes | None = None
    image_type: str | None = None
    image_name: str | None = None
    timestamp: dt.datetime | None = None


@runtime_checkable
class ChatBridgeProvider(Protocol):
    """``chat_bridge``: mirror chat channels to rooms of another chat network (Matrix).

    ``connect_room`` joins a room and returns its id; it raises ``ValueError`` with a
    sentence for the person when the room does not exist, is end-to-end encrypted or the
    account is refused.

    Out: ``send_message`` and ``send_image`` post a message of the chat in the room;
    ``edit_message`` replaces the text of an event the provider sent (the room shows it
    edited) and ``redact`` removes one, so that the room's copy follows the edits and
    deletions made in the chat. Each is idempotent per ``txn_id`` (the same id twice is
    the same change) and returns the new event's id.

    In: ``receive`` returns what came in the joined rooms after ``since`` (none: from now
    on), the provider's own events left out, and the position to resume from. Each item is
    a message as it is now: a new one, or one given before (the same ``event_id``) that
    the room changed since, with its new text when its sender edited it (an edit by
    anyone else is none) or with neither text nor image when it was removed. An edited
    message keeps the ``timestamp`` of its sending."""

    def connect_room(self, room: str) -> str: ...

    def send_message(self, room_id: str, sender: str, text: str, txn_id: str) -> str: ...

    def send_image(
        self,
        room_id: str,
        sender: str,
        data: bytes,
        media_type: str,
        name: str,
        size: tuple[int | None, int | None],
        txn_id: str,
    ) -> str: ...

    def edit_message(
        self, room_id: str, event_id: str, sender: str, text: str, txn_id: str
    ) -> str: ...

    def redact(self, room_id: str, event_id: str, txn_id: str) -> str: ...

    def receive(
        self, since: str | None, wait_seconds: float = 0
    ) -> tuple[list[BridgedMessage], str]: ...


PROTOCOLS: dict[str, type] = {
    "video": VideoProvider,
    "lms": LmsProvider,
    "calendar_sync": CalendarSyncProvider,
    "chat_bridge": ChatBridgeProvider,
}


def chosen_provider(commune: Commune, capability: str) -> str | None:
    """The provider the commune uses for ``capability``: the admin's choice if that plugin
    is still enabled, else the only enabled provider, else None."""
    registry = current_app.extensions["viatic.plugins"]
    enabled = registry.enabled_for(commune)
    candidates = [p for p in registry.providers_of(capability) if p in enabled]
    choice = db.scalar(
        select(CommuneCapability.provider).where(
            CommuneCapability.commune_id == commune.id,
            CommuneCapability.capability == capability,
        )
    )
    if choice in candidates:
        return choice
    return candidates[0] if len(candidates) == 1 else None


def capability(commune: Commune, name: str, provider: str | None = None) -> Any:
    """The provider object of capability ``name`` for ``commune``.

    ``provider`` asks for that provider instead of the commune's choice, as long as it is
    still enabled there: what was stored with one provider (a video on Vimeo) stays with it
    after the commune chose another one for what comes next.

    Raises ``CapabilityUnavailable`` when the commune has no provider enabled or when the
    provider cannot be built; callers show "service momentanément indisponible".
    """
    registry = current_app.extensions["viatic.plugins"]
    if provider is None:
        provider = chosen_provider(commune, name)
    elif provider not in registry.enabled_for(commune) or provider not in registry.providers_of(
        name
    ):
        raise CapabilityUnavailable(f"'{provider}' does not provide '{name}' in {commune.insee}")
    if provider is None:
        raise CapabilityUnavailable(f"no provider of '{name}' for commune {commune.insee}")
    plugin = registry.plugins[provider]
    row = db.scalar(
        select(CommuneModule).where(
            CommuneModule.commune_id == commune.id, CommuneModule.plugin == provider
        )
    )
    try:
        instance = plugin.capabilities[name](commune, current_values(plugin.settings, row))
    except Exception as exc:
        raise CapabilityUnavailable(f"provider '{provider}' of '{name}' failed: {exc!r}") from exc
    protocol = PROTOCOLS.get(name)
    if protocol is not None and not isinstance(instance, protocol):
        raise CapabilityUnavailable(f"provider '{provider}' does not implement {protocol.__name__}")
    return instance
