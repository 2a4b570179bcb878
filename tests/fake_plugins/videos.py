"""Two providers of the ``video`` capability and one feature that uses it, for the test that
switching providers changes the backend and not the page."""

from __future__ import annotations

from flask import Blueprint

from core import toolkit
from core.capabilities import VideoInfo


class _Provider:
    def __init__(self, backend: str) -> None:
        self.backend = backend

    def list_videos(self) -> list[VideoInfo]:
        return [VideoInfo(id=f"{self.backend}-1", title="Témoignage du maire")]

    def embed_html(self, video_id: str, title: str) -> str:
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
    videos = provider.list_videos()
    items = "".join(f"<li>{v.title}{provider.embed_html(v.id, v.title)}</li>" for v in videos)
    return f"<h1>Vidéothèque</h1><ul>{items}</ul>"


class _Feature:
    @toolkit.hookimpl
    def viatic_plugin_info(self) -> toolkit.PluginInfo:
        return toolkit.PluginInfo(name="videos", label="Vidéothèque", version="1.0")

    @toolkit.hookimpl
    def viatic_blueprint(self) -> Blueprint:
        return bp


feature = _Feature()
