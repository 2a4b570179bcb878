"""Uploaded files: recognised by their content, cleaned, stored on disk, served safely.

Plugins call ``toolkit.files.save(...)`` with the upload of a form; what comes back is a
``StoredFile`` row that their own tables reference. The file's type is decided by what it
contains, never by its name or the type the browser declared. Images are decoded in full
and written again, so nothing of the original but its pixels survives (no EXIF, no GPS
position, no hidden payload); a thumbnail is made beside them. Documents are recognised by
their signature (PDF, OpenDocument, Office Open XML, plain text).

The bytes live under ``FILES_PATH`` (default: ``<instance>/files``), named by a random key.
A file written for a transaction that rolls back is removed again; a file deleted is removed
from disk once the deletion is committed. Who may read a file is the plugin's decision: it
serves ``response(stored)`` only after checking the object that references it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import secrets
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from flask import Response, current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps
from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from core.db import Base, db, utcnow

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
KINDS = frozenset({"image", "document"})
# Photos from phones are at most about 50 megapixels; anything bigger is refused before
# Pillow allocates it (a small file can announce a huge image: a decompression bomb).
MAX_PIXELS = 60_000_000
LONGEST_SIDE = 4096  # larger images are scaled down when written again
THUMBNAIL_SIDE = 480
CHUNK = 256 * 1024
# Keys of the session's info: files written or deleted in its current transaction.
WRITTEN, DELETED = "viatic.files_written", "viatic.files_deleted"

OPENDOCUMENT_TYPES = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
OOXML_PARTS = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
# Served in the browser when asked; every other type is always a download.
INLINE_TYPES = {*IMAGE_TYPES.values(), "application/pdf", "text/plain"}


class Refused(ValueError):
    """The upload is not accepted; ``message`` says why, in the person's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StoredFile(Base):
    """One uploaded file kept on disk (and its thumbnail, for an image)."""

    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int | None] = mapped_column(
        ForeignKey("commune.id", ondelete="CASCADE"), index=True
    )
    uploader_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    plugin: Mapped[str] = mapped_column(String(40))
    storage_key: Mapped[str] = mapped_column(String(40), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    has_thumbnail: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")

    @property
    def size_label(self) -> str:
        """« 245 Ko », « 3 Mo »: the size as a page shows it."""
        return _human(self.size)


# --- Saving --------------------------------------------------------------------------------


def save(
    upload: IO[bytes],
    *,
    commune: object | None,
    plugin: str,
    kinds: Iterable[str] = ("image",),
    max_bytes: int = 10 * 1024 * 1024,
    uploader: object | None = None,
) -> StoredFile:
    """Check ``upload`` (a werkzeug ``FileStorage`` or any binary stream with a
    ``filename``), store it, and add its row to the session; the caller commits.

    Raises ``Refused`` with a message for the person when the file is empty, too large,
    or of a kind not in ``kinds``.
    """
    kinds = frozenset(kinds)
    if not kinds or not kinds <= KINDS:
        raise ValueError(f"kinds must be a non-empty subset of {sorted(KINDS)}")
    data = _read_limited(upload, max_bytes)
    name = clean_name(getattr(upload, "filename", None) or "")

    image = _open_image(data) if "image" in kinds else None
    if image is not None:
        body, thumbnail, media_type, size = _rewrite_image(image)
    else:
        media_type = _document_type(data, name) if "document" in kinds else None
        if media_type is None:
            raise Refused(_refusal(kinds))
        body, thumbnail, size = data, None, (None, None)

    key = secrets.token_hex(16)
    stored = StoredFile(
        commune_id=getattr(commune, "id", None),
        uploader_id=getattr(uploader, "id", None),
        plugin=plugin,
        storage_key=key,
        original_name=name or _("fichier"),
        media_type=media_type,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        width=size[0],
        height=size[1],
        has_thumbnail=thumbnail is not None,
    )
    try:
        _write(path_of(key), body)
        if thumbnail is not None:
            _write(path_of(key, thumbnail=True), thumbnail)
    except OSError:
        _remove(key)
        raise
    db.add(stored)
    db.info.setdefault(WRITTEN, []).append(key)
    return stored


def _read_limited(upload: IO[bytes], max_bytes: int) -> bytes:
    buffer = io.BytesIO()
    stream = getattr(upload, "stream", upload)
    while chunk := stream.read(CHUNK):
        buffer.write(chunk)
        if buffer.tell() > max_bytes:
            raise Refused(
                _("Le fichier dépasse la taille maximale de %(size)s.", size=_human(max_bytes))
            )
    if buffer.tell() == 0:
        raise Refused(_("Le fichier est vide."))
    return buffer.getvalue()


def _open_image(data: bytes) -> Image.Image | None:
    """The decoded image if ``data`` is a complete JPEG, PNG or WebP; None if it is not an
    image of those kinds; ``Refused`` if it claims to be one but is damaged or too large."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES))
            if image.width * image.height > MAX_PIXELS:
                raise Refused(_("L'image est trop grande (trop de pixels)."))
            image.load()  # decodes everything: a truncated file fails here
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(_("L'image est trop grande (trop de pixels).")) from None
    except Image.UnidentifiedImageError:
        return None
    except (OSError, SyntaxError, ValueError):
        raise Refused(_("L'image est abîmée ou incomplète.")) from None
    return image


def _rewrite_image(image: Image.Image) -> tuple[bytes, bytes, str, tuple[int, int]]:
    """The image written again without its metadata, upright, at most LONGEST_SIDE wide,
    and its thumbnail."""
    kind = image.format
    upright = ImageOps.exif_transpose(image)
    if kind == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    elif upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA")
    upright.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    small = upright.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return _encode(upright, kind), _encode(small, kind), IMAGE_TYPES[kind], upright.size


def _encode(image: Image.Image, kind: str) -> bytes:
    # Pillow writes no EXIF, XMP or text chunk unless given one: only the pixels go out.
    out = io.BytesIO()
    options = {"quality": 88} if kind in ("JPEG", "WEBP") else {"optimize": True}
    image.save(out, format=kind, **options)
    return out.getvalue()


def _document_type(data: bytes, name: str) -> str | None:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    return _text_type(data, name)


def _office_type(data: bytes) -> str | None:
    """OpenDocument names its type in a first, uncompressed ``mimetype`` member; Office Open
    XML has ``[Content_Types].xml`` and a folder per application. Other archives are refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if names and names[0] == "mimetype":
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return declared if declared in OPENDOCUMENT_TYPES else None
            if "[Content_Types].xml" in names:
                for folder, media_type in OOXML_PARTS.items():
                    if any(n.startswith(folder) for n in names):
                        return media_type
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    return None


def _text_type(data: bytes, name: str) -> str | None:
    """Plain text: UTF-8 without control characters other than tab and line breaks."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):
        return None
    lowered = text.lstrip()[:100].lower()
    if lowered.startswith(("<!doctype", "<html", "<svg", "<?xml", "<script")):
        return None  # markup a browser would run, whatever the name says
    return "text/csv" if name.lower().endswith(".csv") else "text/plain"


def _refusal(kinds: frozenset[str]) -> str:
    if kinds == {"image"}:
        return _("Ce fichier n'est pas une image acceptée (JPEG, PNG ou WebP).")
    return _(
        "Ce type de fichier n'est pas accepté. Formats possibles : PDF, OpenDocument, "
        "Word, Excel, PowerPoint, texte, CSV, JPEG, PNG, WebP."
    )


def clean_name(filename: str) -> str:
    """The name to show and to offer on download: no folders, no control characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip(" .")
    return base[:255]


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(number)s Mo", number=f"{size / 1024 / 1024:.0f}")
    return _("%(number)s Ko", number=f"{size / 1024:.0f}")


# --- Storage on disk -------------------------------------------------------------------------


def root() -> Path:
    configured = current_app.config.get("FILES_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / "files"


def path_of(key: str, thumbnail: bool = False) -> Path:
    # Two levels of folders keep any one folder small.
    return root() / key[:2] / (f"{key}.thumb" if thumbnail else key)


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(body)
    os.replace(partial, path)  # readers never see half a file


def _remove(key: str) -> None:
    for path in (path_of(key), path_of(key, thumbnail=True)):
        path.unlink(missing_ok=True)


def delete(stored: StoredFile) -> None:
    """Delete the row; the bytes go once the deletion is committed."""
    key = stored.storage_key  # read first: after delete(), a refresh would find no row
    db.delete(stored)
    db.info.setdefault(DELETED, []).append(key)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(WRITTEN, None)
    for key in session.info.pop(DELETED, []):
        _remove(key)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    # Still listed, so not committed (rolled back, or the session closed at the end of a
    # request that failed): the rows are gone and so must the bytes be.
    for key in session.info.pop(WRITTEN, []):
        _remove(key)
    session.info.pop(DELETED, None)


# --- Serving ---------------------------------------------------------------------------------


def response(stored: StoredFile, thumbnail: bool = False, download: bool = False) -> Response:
    """The file as an HTTP response. Call it only after checking the person may read it."""
    thumbnail = thumbnail and stored.has_thumbnail
    inline = not download and stored.media_type in INLINE_TYPES
    reply = send_file(
        path_of(stored.storage_key, thumbnail=thumbnail),
        mimetype=stored.media_type,
        as_attachment=not inline,
        download_name=stored.original_name,
        etag=f"{stored.sha256}{'-t' if thumbnail else ''}",
        conditional=True,
        max_age=3600,
    )
    reply.headers["X-Content-Type-Options"] = "nosniff"
    # Nothing in a served file may run script or load anything, even opened on its own.
    reply.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    reply.cache_control.private = True
    reply.cache_control.public = False
    return reply
