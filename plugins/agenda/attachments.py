"""Documents and photos attached to an event, through the core's file support: recognised
by their content, photos cleaned of their metadata, served only to those who may see the
event. A series holds them for all its dates, a date changed on its own included."""

from __future__ import annotations

from typing import IO

from core import toolkit
from core.toolkit import gettext as _
from plugins.agenda import services
from plugins.agenda.models import Attachment, Event

MAX_BYTES = 10 * 2**20
KINDS = {"image", "document"}
PER_EVENT = 20


def holder(event: Event) -> Event:
    """The row whose attachments ``event`` shows: its series, for a date changed apart."""
    return event.parent or event


def get(event: Event, attachment_id: int) -> Attachment:
    """An attachment of ``event`` (which the caller found visible); 404 otherwise."""
    found = next((a for a in holder(event).attachments if a.id == attachment_id), None)
    if found is None:
        toolkit.refuse(_("Ce document n'est pas joint à cet événement."), 404)
    return found


def add(
    commune: toolkit.Commune, user: toolkit.User, event: Event, upload: IO[bytes] | None
) -> Attachment:
    """Attach an uploaded file; raises ``EventError`` on the ``file`` field."""
    services.check_write(commune, user, event)
    owner = holder(event)
    if upload is None or not getattr(upload, "filename", ""):
        raise services.EventError({"file": _("Choisissez un fichier.")})
    if len(owner.attachments) >= PER_EVENT:
        raise services.EventError(
            {"file": _("Un événement garde %(max)d documents au plus.", max=PER_EVENT)}
        )
    try:
        stored = toolkit.files.save(
            upload,
            commune=commune,
            plugin=services.PLUGIN,
            kinds=KINDS,
            max_bytes=MAX_BYTES,
            uploader=user,
        )
    except toolkit.files.Refused as refused:
        raise services.EventError({"file": refused.message}) from refused
    attachment = Attachment(stored=stored)
    owner.attachments.append(attachment)
    toolkit.db.flush()
    services.record(
        "agenda.attachment_added", commune, user, owner.id, {"name": stored.original_name}
    )
    return attachment


def remove(
    commune: toolkit.Commune, user: toolkit.User, event: Event, attachment: Attachment
) -> None:
    services.check_write(commune, user, event)
    owner, name = holder(event), attachment.stored.original_name
    owner.attachments.remove(attachment)
    toolkit.files.delete(attachment.stored)  # the bytes go once this is committed
    services.record("agenda.attachment_removed", commune, user, owner.id, {"name": name})
