"""Two providers of the ``video`` capability and one feature that uses it, for the test that
switching providers changes the backend and not the page."""

from __future__ import annotations

from flask import Blueprint

from core import toolkit
from core.capabilities import VIDEO_READY, VideoUpload


class _Provider:
    """Holds one video, already uploaded; receives nothing."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.name = backend

    def start_upload(self, size: int, title: str, description: str) -> VideoUpload:
        raise toolkit.CapabilityUnavailable("this test provider receives no upload")

    def upload_offset(self, upload: VideoUpload) -> int:
        return 0

    def upload_chunk(self, upload: VideoUpload, offset: int, stream: object, length: int) -> int:
        raise toolkit.CapabilityUnavailable("this test provider receives no upload")

    def state(self, ref: str) -> str:
        return VIDEO_READY

    def attach_captions(self, ref: str, vtt: bytes, language: str) -> None:
        pass

    def open_file(self, ref: str, offset: int = 0) -> tuple[object, int]:
        raise toolkit.CapabilityUnavailable("this test provider keeps no file")

    def delete(self, ref: str) -> None:
        pass

    def embed_html(self, video_id: str, title: str, captions_url: str | None = None) -> str:
        return f'<iframe title="{title}" src="https://{self.backend}.example/{video_id}"></iframe>'


class _ProviderPlugin:
    def __init__(self, name: str) -> None:
        self.name = name

    @toolkit.hookimpl
    def viatic_plugin_info(self) -> toolkit.PluginInfo:
        return toolkit.PluginInfo(name=self.name, label=f"Hébergeur {self.name}", version="1.0")

    @toolkit.hookimpl
    def viatic_capabilities(self) -> dict:
        return {"video": lambda commune, settings: _Provider(self.name)}


video_a = _ProviderPlugin("videoa")
video_b = _ProviderPlugin("videob")

bp = Blueprint("videos", __name__)


@bp.get("/")
@toolkit.requires("core.view")
def index() -> str:
    try:
        provider = toolkit.capability(toolkit.current_commune(), "video")
    except toolkit.CapabilityUnavailable:
        return f"<h1>Vidéothèque</h1>{toolkit.unavailable()}"
    video_id, title = f"{provider.backend}-1", "Témoignage du maire"
    return f"<h1>Vidéothèque</h1><ul><li>{title}{provider.embed_html(video_id, title)}</li></ul>"


class _Feature:
    @toolkit.hookimpl
    def viatic_plugin_info(self) -> toolkit.PluginInfo:
        return toolkit.PluginInfo(name="videos", label="Vidéothèque", version="1.0")

    @toolkit.hookimpl
    def viatic_blueprint(self) -> Blueprint:
        return bp


feature = _Feature()
