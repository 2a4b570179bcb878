"""The ``video`` capability on a commune's Vimeo account, over ``connectors.vimeo``.

Uploads go through the portal to Vimeo's tus endpoint chunk by chunk; each video is made
embeddable on the portal's domain only (privacy.embed whitelist) and put in the commune's
folder or showcase when the settings name one; captions become a Vimeo text track. Any
failure of Vimeo is reported as ``CapabilityUnavailable``, which the library turns into
"service momentanément indisponible" or a resumable upload.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from flask import current_app, has_request_context, request
from markupsafe import Markup, escape

from connectors.http import ConnectorError, ConnectorRejected, ConnectorUnavailable, RateLimited
from connectors.vimeo import API_URL, VimeoClient
from core import toolkit
from core.toolkit import gettext as _

PLAYER_URL = "https://player.vimeo.com/video/"
# What the provider does with a token: read the account's private videos, upload, restrict
# the embed and add captions (edit), delete, file into folders (interact).
NEEDED_SCOPES = frozenset({"public", "private", "upload", "edit", "delete", "interact"})
# A connection test has someone waiting for its answer: no retry, a short wait.
TEST_TIMEOUT = (3.05, 10.0)


def portal_domain() -> str:
    """The domain the videos may be embedded on: the configured server name, else the host
    of the request that uploads them."""
    name = current_app.config.get("SERVER_NAME")
    if name:
        return str(name).split(":", 1)[0]
    return request.host.split(":", 1)[0] if has_request_context() else "localhost"


def client(commune: toolkit.Commune, settings: dict[str, Any]) -> VimeoClient:
    return VimeoClient(
        settings.get("access_token") or "",
        base_url=current_app.config.get("VIMEO_API_URL", API_URL),
        on_call=toolkit.connector_logger(commune),
    )


def test_connection(commune: toolkit.Commune, token: str) -> toolkit.Health:
    """« Tester la connexion »: whose account ``token`` opens and whether it may upload, in
    words for the commune admin. Saves nothing; the token never appears in the message."""
    if not token:
        return toolkit.Health(
            False, _("Saisissez un jeton à tester, ou enregistrez-en un dans les réglages.")
        )
    vimeo = client(commune, {"access_token": token})
    try:
        account = vimeo.account(timeout=TEST_TIMEOUT)
    except RateLimited:
        return toolkit.Health(
            False,
            _("Vimeo limite le nombre d'appels de ce compte : réessayez dans quelques minutes."),
        )
    except ConnectorUnavailable:
        return toolkit.Health(
            False,
            _(
                "Vimeo ne répond pas, ou trop lentement : vérifiez la connexion du serveur à "
                "Internet ou réessayez dans quelques minutes."
            ),
        )
    except ConnectorRejected as exc:
        if exc.status == 401:
            return toolkit.Health(
                False, _("Vimeo refuse ce jeton : il est inconnu, expiré ou révoqué.")
            )
        return toolkit.Health(
            False, _("Vimeo refuse la vérification (erreur %(status)s).", status=exc.status)
        )
    except ConnectorError:
        return toolkit.Health(False, _("Les réponses reçues ne sont pas celles de Vimeo."))
    finally:
        vimeo.close()
    missing = sorted(NEEDED_SCOPES - account.scopes)
    if missing:
        return toolkit.Health(
            False,
            _(
                "Le jeton du compte « %(name)s » ne permet pas d'envoyer les vidéos : il lui "
                "manque les droits %(scopes)s. Créez un jeton qui les a tous.",
                name=account.name,
                scopes=", ".join(missing),
            ),
        )
    return toolkit.Health(
        True, _("Connexion réussie au compte Vimeo « %(name)s ».", name=account.name)
    )


class _FileStream(io.RawIOBase):
    """A video's file being read from Vimeo, with the client it is read through: closing
    the stream closes the client, which lives as long as the copy that reads it."""

    def __init__(self, raw: IO[bytes], vimeo: VimeoClient) -> None:
        super().__init__()
        self._raw = raw
        self._vimeo = vimeo

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._raw.read(-1 if size is None else size)

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                self._vimeo.close()
        super().close()


class VimeoProvider:
    """A commune's Vimeo account as a ``VideoProvider``.

    The core builds a provider at each use and nobody closes it, so the provider holds no
    connection: each operation opens its client (one HTTP session, whose connection the
    operation's calls share) and closes it before returning. Only a file being read keeps
    its client open, until the stream is closed.
    """

    name = "vimeo"

    def __init__(self, commune: toolkit.Commune, settings: dict[str, Any]) -> None:
        if not settings.get("access_token"):
            raise ValueError("no Vimeo access token in the commune's settings")
        self.commune = commune
        self.settings = settings

    @contextmanager
    def _vimeo(self) -> Iterator[VimeoClient]:
        """The account's client for one operation, closed at its end; Vimeo's failures
        become ``CapabilityUnavailable``."""
        vimeo = client(self.commune, self.settings)
        try:
            yield vimeo
        except ConnectorError as exc:
            raise toolkit.CapabilityUnavailable(str(exc)) from exc
        finally:
            vimeo.close()

    def start_upload(self, size: int, title: str, description: str) -> toolkit.VideoUpload:
        with self._vimeo() as vimeo:
            upload = vimeo.create_upload(size, title, description)
            try:
                vimeo.restrict_embed(upload.video_id, portal_domain())
                if self.settings.get("folder_id"):
                    vimeo.add_to_folder(self.settings["folder_id"], upload.video_id)
                if self.settings.get("showcase_id"):
                    vimeo.add_to_showcase(self.settings["showcase_id"], upload.video_id)
            except ConnectorError:
                # The library keeps nothing of a contribution that could not start: neither
                # does Vimeo keep a video half set up (embeddable anywhere, outside its folder).
                try:
                    vimeo.delete(upload.video_id)
                except ConnectorError:
                    current_app.logger.warning("vimeo: video %s left unfinished", upload.video_id)
                raise
        return toolkit.VideoUpload(upload.video_id, upload.upload_link)

    def upload_offset(self, upload: toolkit.VideoUpload) -> int:
        with self._vimeo() as vimeo:
            offset, _length = vimeo.upload_offset(upload.resume)
        return offset

    def upload_chunk(
        self, upload: toolkit.VideoUpload, offset: int, stream: IO[bytes], length: int
    ) -> int:
        with self._vimeo() as vimeo:
            return vimeo.upload_chunk(upload.resume, offset, stream, length)

    def state(self, ref: str) -> str:
        with self._vimeo() as vimeo:
            state = vimeo.state(ref)
        if state is None:
            return toolkit.VIDEO_MISSING
        if state.failed:
            return toolkit.VIDEO_FAILED
        return toolkit.VIDEO_READY if state.ready else toolkit.VIDEO_PROCESSING

    def attach_captions(self, ref: str, vtt: bytes, language: str) -> None:
        with self._vimeo() as vimeo:
            vimeo.add_captions(ref, vtt, language, "Français" if language == "fr" else language)

    def open_file(self, ref: str, offset: int = 0) -> tuple[IO[bytes], int]:
        vimeo = client(self.commune, self.settings)
        try:
            raw, size = vimeo.download(ref, offset)
        except ConnectorError as exc:
            vimeo.close()
            raise toolkit.CapabilityUnavailable(str(exc)) from exc
        return _FileStream(raw, vimeo), size  # type: ignore[return-value]

    def delete(self, ref: str) -> None:
        with self._vimeo() as vimeo:
            vimeo.delete(ref)

    def embed_html(self, video_id: str, title: str, captions_url: str | None = None) -> str:
        # The captions are Vimeo's text track (sent with attach_captions): the player shows
        # them when asked with texttrack.
        src = f"{PLAYER_URL}{escape(video_id)}?texttrack=fr&dnt=1"
        return Markup(
            f'<iframe src="{src}" title="{escape(title)}" loading="lazy" '
            'allow="fullscreen; picture-in-picture" allowfullscreen></iframe>'
        )
