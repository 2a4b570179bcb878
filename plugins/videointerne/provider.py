"""The ``video`` capability on the platform's own disk (``storage``), and the page that
serves the files with HTTP Range requests, so that a phone can seek in a long video."""

from __future__ import annotations

from typing import IO, Any

from flask import Blueprint, Response, send_file, url_for
from markupsafe import Markup, escape

from core import toolkit
from core.toolkit import gettext as _
from plugins.videointerne.storage import Storage, StorageError

bp = Blueprint("videointerne", __name__)


class LocalVideoProvider:
    """A commune's videos on the platform's disk."""

    name = "videointerne"

    def __init__(self, commune: toolkit.Commune, settings: dict[str, Any]) -> None:
        self.insee = commune.insee
        self.storage = Storage(commune.insee)

    def start_upload(self, size: int, title: str, description: str) -> toolkit.VideoUpload:
        try:
            return toolkit.VideoUpload(self.storage.create(), resume=str(size))
        except OSError as exc:
            raise toolkit.CapabilityUnavailable(f"storage: {exc}") from exc

    def upload_offset(self, upload: toolkit.VideoUpload) -> int:
        try:
            return self.storage.offset(upload.ref)
        except (StorageError, OSError) as exc:
            raise toolkit.CapabilityUnavailable(f"storage: {exc}") from exc

    def upload_chunk(
        self, upload: toolkit.VideoUpload, offset: int, stream: IO[bytes], length: int
    ) -> int:
        try:
            return self.storage.write(upload.ref, offset, stream, length, int(upload.resume))
        except (StorageError, OSError, ValueError) as exc:
            raise toolkit.CapabilityUnavailable(f"storage: {exc}") from exc

    def state(self, ref: str) -> str:
        try:
            if self.storage.complete(ref):
                return toolkit.VIDEO_READY
            return toolkit.VIDEO_PROCESSING if self.storage.exists(ref) else toolkit.VIDEO_MISSING
        except StorageError:
            return toolkit.VIDEO_MISSING

    def attach_captions(self, ref: str, vtt: bytes, language: str) -> None:
        """Nothing to store: the library keeps the captions and serves the track itself."""

    def open_file(self, ref: str, offset: int = 0) -> tuple[IO[bytes], int]:
        try:
            path = self.storage.path(ref)
            stream = path.open("rb")
        except (StorageError, OSError) as exc:
            raise toolkit.CapabilityUnavailable(f"storage: {exc}") from exc
        stream.seek(offset)
        return stream, path.stat().st_size

    def delete(self, ref: str) -> None:
        try:
            self.storage.delete(ref)
        except (StorageError, OSError) as exc:
            raise toolkit.CapabilityUnavailable(f"storage: {exc}") from exc

    def embed_html(self, video_id: str, title: str, captions_url: str | None = None) -> str:
        src = url_for("videointerne.file", ref=video_id, insee=self.insee)
        track = (
            f'<track kind="captions" srclang="fr" label="Français" src="{escape(captions_url)}" '
            "default>"
            if captions_url
            else ""
        )
        return Markup(
            f'<video controls preload="metadata" playsinline src="{escape(src)}" '
            f'aria-label="{escape(title)}">{track}</video>'
        )


@bp.get("/fichier/<ref>")
@toolkit.public  # the random name is the credential, as the player fetches it without a form
def file(ref: str) -> Response:
    storage = Storage(toolkit.current_commune().insee)
    try:
        complete = storage.complete(ref)
    except StorageError:
        complete = False
    mimetype = storage.mimetype(ref) if complete else None
    if mimetype is None:
        toolkit.refuse(_("Cette vidéo n'existe pas."), 404)
    # conditional=True: werkzeug answers Range requests (206 and Content-Range) and streams
    # the file from the disk.
    response = send_file(storage.path(ref), mimetype=mimetype, conditional=True, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
