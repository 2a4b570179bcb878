"""A fake Vimeo API 3.4, written from the contract, served over loopback for the tests and
the benchmark.

It answers the calls the portal makes (whose token it is, create a tus upload, PATCH/HEAD
the upload link, read, edit and delete a video, restrict its embed to a domain, add a
captions track, list videos page by page, put a video in a folder or a showcase) with
Vimeo's media types and error
shapes: ``{error, developer_message, error_code, link}`` where Vimeo sends it, the legacy
``{error}`` where the OpenAPI document says so (GET /videos/{id} 404, PATCH 400/403, the
domain list). Every response carries the ``X-RateLimit-*`` headers.

The test drives what Vimeo would do on its own: :meth:`FakeVimeo.advance` moves a video's
transcoding on, :meth:`FakeVimeo.remove` deletes it on Vimeo's side, :meth:`rate_limit`
makes the next calls answer 429 (with the reset as an ISO date or a Unix timestamp),
:meth:`exhaust` makes the next answer the last of the window, whose reset it announces,
``down`` makes every call answer 503, ``delay`` makes every call slow, :meth:`refuse_next`
sends a chosen error (to the next call or a later one); ``accepts`` keeps the ``Accept``
header of every API call; ``account_name`` and ``scopes`` are what ``GET /me`` and
``GET /oauth/verify`` tell of the token.

Video objects are built from the OpenAPI schema itself (every required field, with a value of
its type), then the fake's own state is laid over them; ``exchanges`` keeps every JSON answer
so that the tests validate each one against the OpenAPI document. The ``fields`` filter is
ignored: the document does not model filtered objects, and a whole object is a valid answer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CONTRACT = Path(__file__).resolve().parents[3].parent / "shared/contracts/vimeo-openapi-3.4.json"
VIDEO = "application/vnd.vimeo.video+json"
TEXTTRACK = "application/vnd.vimeo.video.texttrack+json"
# What every API call must ask for (the contract's common conventions).
ACCEPT = "application/vnd.vimeo.*+json;version=3.4"
TUS_VERSION = "1.0.0"
# Transcoding as Vimeo reports it, one step per call to advance().
STEPS = ("uploading", "transcode_starting", "transcoding", "available")
RATE_LIMIT = 2500
READ_BLOCK = 64 * 1024


def contract_path() -> Path:
    """Where the shared contracts are: beside the repository (the checkout's parent), or
    wherever ``VIATIC_CONTRACTS`` says."""
    import os

    folder = os.environ.get("VIATIC_CONTRACTS")
    return Path(folder) / "vimeo-openapi-3.4.json" if folder else CONTRACT


def load_contract() -> dict[str, Any]:
    return json.loads(contract_path().read_text(encoding="utf-8"))


def minimal(schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    """A value that satisfies ``schema``: its required properties only, each with a value of
    its type (the first of an enum, None where nullable)."""
    if "$ref" in schema:
        return minimal(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    # Checked before ``nullable``: validators ignore it beside allOf, and want an enum's
    # value even where null is allowed.
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(minimal(part, schemas) or {})
        return merged
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("nullable"):
        return None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: minimal(props[name], schemas) for name in schema.get("required", [])}
    return {"array": [], "string": "", "number": 0, "integer": 0, "boolean": False}.get(kind)


def _reset_value(at: float, reset: str) -> str:
    """``X-RateLimit-Reset`` for the time ``at``: an ISO date or a Unix timestamp."""
    if reset == "iso":
        return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")
    return str(int(at))


@dataclass
class FakeVideo:
    id: str
    name: str
    description: str
    size: int
    status: str = "uploading"
    received: int = 0
    data: bytearray = field(default_factory=bytearray)
    embed: str = "public"
    domains: list[str] = field(default_factory=list)
    texttracks: list[dict[str, Any]] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    showcases: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Exchange:
    """One JSON answer of the fake: what the contract test validates."""

    method: str
    path: str
    query: str
    status: int
    content_type: str
    body: Any


class FakeVimeo:
    """The fake API; a WSGI application (``fake(environ, start_response)``).

    ``created_status`` is what POST /me/videos answers (201 as documented, 200 as Vimeo
    does). ``keep_bytes=False`` counts the uploaded bytes without keeping them (benchmark).
    """

    def __init__(
        self, token: str = "jeton-vimeo-de-test", created_status: int = 201, keep_bytes: bool = True
    ) -> None:
        self.token = token
        self.created_status = created_status
        self.keep_bytes = keep_bytes
        self.base_url = ""
        self.videos: dict[str, FakeVideo] = {}
        self.exchanges: list[Exchange] = []
        self.down = False
        # Seconds every API call waits before answering (a Vimeo too slow to wait for).
        self.delay = 0.0
        # The token's account and OAuth scopes, as GET /me and GET /oauth/verify tell them.
        self.account_name = "Mairie de Faux-Villecerf"
        self.scopes = {"public", "private", "upload", "edit", "delete", "create", "interact"}
        # The next file download stops after this many bytes (a partial answer, once).
        self.cut_next_download: int | None = None
        self._ids = itertools.count(900001)
        self._tracks = itertools.count(1)
        self._limited: list[str] = []
        # exhaust(): the next answer ends the window, which stays closed until this time.
        self._exhaust_next: tuple[int, str] | None = None
        self._closed_until = 0.0
        self._refusals: list[list[Any]] = []
        # (method, path, Accept) of every call to the API (not the upload or file hosts):
        # the tests check each asked for version 3.4, as the contract says to.
        self.accepts: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        spec = load_contract()
        self._schemas = spec["components"]["schemas"]

    # -- what the test drives

    def advance(self, video_id: str, steps: int = 1) -> str:
        """Move the video's transcoding ``steps`` states on; returns its status."""
        video = self.videos[video_id]
        index = min(STEPS.index(video.status) + steps, len(STEPS) - 1)
        video.status = STEPS[index]
        return video.status

    def remove(self, video_id: str) -> None:
        """The video is deleted on Vimeo's side (by someone on vimeo.com)."""
        self.videos.pop(video_id, None)

    def rate_limit(self, times: int = 1, reset: str = "unix") -> None:
        """The next ``times`` calls answer 429, announcing the reset as ``reset`` ("iso" or
        "unix"), two seconds ahead."""
        self._limited.extend([reset] * times)

    def exhaust(self, seconds: int = 1, reset: str = "unix") -> None:
        """The next API answer is the window's last (``X-RateLimit-Remaining: 0``, the reset
        at least ``seconds`` ahead, "iso" or "unix"); calls before the reset answer 429."""
        self._exhaust_next = (seconds, reset)

    def refuse_next(self, status: int, shape: str = "error", after: int = 0) -> None:
        """The API call after the next ``after`` ones answers ``status`` with that error shape
        ("error"/"legacy")."""
        self._refusals.append([after, status, shape])

    def add_video(self, name: str, status: str = "available", data: bytes = b"") -> str:
        """A video already on the account (uploaded before the portal existed)."""
        video_id = str(next(self._ids))
        self.videos[video_id] = FakeVideo(
            video_id, name, "", len(data), status=status, received=len(data), data=bytearray(data)
        )
        return video_id

    # -- serving

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on a free port of 127.0.0.1; yields the base URL."""
        server = make_server("127.0.0.1", 0, self, threaded=True)
        self.base_url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self.base_url
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    # -- answers

    def _headers(self) -> dict[str, str]:
        if self._exhaust_next is not None:
            (seconds, reset), self._exhaust_next = self._exhaust_next, None
            self._closed_until = float(int(time.time()) + seconds + 1)  # whole seconds
            return {
                "X-RateLimit-Limit": str(RATE_LIMIT),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": _reset_value(self._closed_until, reset),
            }
        reset_at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(RATE_LIMIT - 1),
            "X-RateLimit-Reset": reset_at.isoformat(timespec="seconds"),
        }

    def _too_many(self, request: Request, reset: str) -> Response:
        response = self._error(
            request, 429, "Too many API requests", 9000, "error", "application/json"
        )
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["X-RateLimit-Reset"] = reset
        return response

    def _json(
        self, request: Request, status: int, body: Any, media: str = VIDEO, **headers: str
    ) -> Response:
        with self._lock:
            self.exchanges.append(
                Exchange(
                    request.method,
                    request.path,
                    request.query_string.decode(),
                    status,
                    media,
                    body,
                )
            )
        return Response(
            json.dumps(body), status, headers={**self._headers(), **headers}, content_type=media
        )

    def _empty(self, status: int = 204, **headers: str) -> Response:
        return Response(b"", status, headers={**self._headers(), **headers})

    def _error(
        self, request: Request, status: int, message: str, code: int, shape: str, media: str
    ) -> Response:
        if shape == "legacy":
            body: dict[str, Any] = {"error": message}
        else:
            body = {
                "error": message,
                "developer_message": message,
                "error_code": code,
                "link": "https://developer.vimeo.com/api/guides/start",
            }
        return self._json(request, status, body, media)

    def _video_json(self, video: FakeVideo) -> dict[str, Any]:
        body = minimal(self._schemas["video"], self._schemas)
        done = video.received >= video.size
        body.update(
            uri=f"/videos/{video.id}",
            name=video.name,
            description=video.description,
            link=f"https://vimeo.com/{video.id}",
            status=video.status,
            upload={
                "approach": "tus",
                "status": "complete" if done else "in_progress",
                "size": video.size,
                "upload_link": f"{self.base_url}/tus/{video.id}",
            },
            transcode={"status": "complete" if video.status == "available" else "in_progress"},
            created_time="2026-11-22T10:00:00+00:00",
            modified_time="2026-11-22T10:00:00+00:00",
            release_time="2026-11-22T10:00:00+00:00",
            resource_key=f"key{video.id}",
            type="video",
        )
        # Not in the 2019 document: later API versions list the files a token with the
        # video_files scope may download; the migration to the platform's storage reads it.
        if video.status == "available":
            body["download"] = [
                {
                    "quality": "source",
                    "type": "video/mp4",
                    "size": video.received,
                    "link": f"{self.base_url}/files/{video.id}",
                }
            ]
        # The response's embed enum is private|public: a domain list reads as "private".
        body["privacy"] = {**body["privacy"], "embed": video.embed, "view": "unlisted"}
        return body

    def _dispatch(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] == ["tus"] and len(parts) == 2:
            return self._tus(request, parts[1])
        if parts[:1] == ["files"] and len(parts) == 2:
            return self._file(request, parts[1])
        if parts[:1] == ["texttrack-files"] and len(parts) == 3:
            return self._texttrack_file(request, parts[1], parts[2])
        with self._lock:
            self.accepts.append((request.method, request.path, request.headers.get("Accept", "")))
        time.sleep(self.delay)
        if self.down:
            return self._error(request, 503, "Vimeo is down", 9000, "error", "application/json")
        if time.time() < self._closed_until:
            return self._too_many(request, _reset_value(self._closed_until, "unix"))
        if self._limited:
            reset = self._limited.pop(0)
            return self._too_many(request, _reset_value(time.time() + 2, reset))
        if request.headers.get("Authorization", "").lower() != f"bearer {self.token}":
            return self._error(
                request, 401, "You must provide a valid authenticated access token.", 8000,
                "error", VIDEO,
            )  # fmt: skip
        if self._refusals and self._refusals[0][0] > 0:
            self._refusals[0][0] -= 1
        elif self._refusals:
            _after, status, shape = self._refusals.pop(0)
            return self._error(request, status, "The request was refused.", 2204, shape, VIDEO)
        return self._api(request, parts)

    def _api(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        if parts == ["me"] and method == "GET":
            user = minimal(self._schemas["user"], self._schemas)
            user.update(name=self.account_name, uri="/users/4242")
            return self._json(request, 200, user, "application/vnd.vimeo.user+json")
        if parts == ["oauth", "verify"] and method == "GET":
            auth = minimal(self._schemas["auth"], self._schemas)
            auth.update(
                access_token=self.token, token_type="bearer", scope=" ".join(sorted(self.scopes))
            )
            return self._json(request, 200, auth, "application/vnd.vimeo.auth+json")
        if parts == ["me", "videos"] and method == "POST":
            return self._create(request)
        if parts == ["me", "videos"] and method == "GET":
            return self._list(request)
        if len(parts) >= 2 and parts[0] == "videos":
            video = self.videos.get(parts[1])
            if video is None:
                return self._error(
                    request, 404, "The requested video couldn't be found.", 5000, "legacy", VIDEO
                )
            rest = parts[2:]
            if not rest and method == "GET":
                return self._json(request, 200, self._video_json(video))
            if not rest and method == "PATCH":
                return self._edit(request, video)
            if not rest and method == "DELETE":
                del self.videos[video.id]
                return self._empty()
            if rest[:2] == ["privacy", "domains"] and len(rest) == 3 and method == "PUT":
                if video.embed != "private":
                    return self._error(
                        request, 403, "The video doesn't have a user-defined access list.",
                        3000, "legacy", "application/json",
                    )  # fmt: skip
                video.domains.append(rest[2])
                return self._empty()
            if rest == ["texttracks"] and method == "POST":
                return self._add_track(request, video)
        if len(parts) == 5 and parts[:2] == ["me", "projects"] and method == "PUT":
            return self._file_in(parts[4], lambda v: v.folders.append(parts[2]))
        if len(parts) == 5 and parts[:2] == ["me", "albums"] and method == "PUT":
            return self._file_in(parts[4], lambda v: v.showcases.append(parts[2]))
        return self._error(request, 404, "Not found.", 5000, "error", "application/json")

    def _create(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return self._error(request, 400, "The body is malformed.", 2205, "error", VIDEO)
        upload = body.get("upload")
        if "type" in body and not upload:
            return self._error(request, 400, "Use upload.approach, not type.", 3116, "error", VIDEO)
        if not isinstance(upload, dict) or upload.get("approach") != "tus":
            return self._error(request, 400, "Invalid upload approach.", 2230, "error", VIDEO)
        try:
            size = int(upload.get("size"))
        except (TypeError, ValueError):
            return self._error(request, 400, "Invalid upload size.", 2204, "error", VIDEO)
        video_id = str(next(self._ids))
        video = FakeVideo(
            video_id, body.get("name") or "Untitled", body.get("description") or "", size
        )
        embed = (body.get("privacy") or {}).get("embed")
        video.embed = "private" if embed in ("whitelist", "private") else "public"
        self.videos[video_id] = video
        return self._json(request, self.created_status, self._video_json(video))

    def _edit(self, request: Request, video: FakeVideo) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return self._error(request, 400, "The body is malformed.", 2205, "legacy", VIDEO)
        privacy = body.get("privacy") or {}
        if "embed" in privacy:
            video.embed = "private" if privacy["embed"] in ("whitelist", "private") else "public"
        video.name = body.get("name", video.name)
        video.description = body.get("description", video.description)
        return self._json(request, 200, self._video_json(video))

    def _add_track(self, request: Request, video: FakeVideo) -> Response:
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict) or not {"type", "language", "name"} <= body.keys():
            return self._error(
                request, 403, "The text track could not be added.", 2204, "error", TEXTTRACK
            )
        track_id = str(next(self._tracks))
        track = minimal(self._schemas["text-track"], self._schemas)
        track.update(
            uri=f"/videos/{video.id}/texttracks/{track_id}",
            active=bool(body.get("active", False)),
            language=body["language"],
            name=body["name"],
            type=body["type"],
            link=f"{self.base_url}/texttrack-files/{video.id}/{track_id}",
            link_expires_time="2026-11-23T10:00:00+00:00",
            hls_link=f"{self.base_url}/texttrack-files/{video.id}/{track_id}.m3u8",
            hls_link_expires_time="2026-11-23T10:00:00+00:00",
        )
        video.texttracks.append({**track, "content": None})
        return self._json(request, 201, track, TEXTTRACK)

    def _texttrack_file(self, request: Request, video_id: str, track_id: str) -> Response:
        video = self.videos.get(video_id)
        track = next(
            (t for t in video.texttracks if t["uri"].endswith(f"/{track_id}")) if video else (),
            None,
        )
        if track is None or request.method != "PUT":
            return Response(b"", 404)
        track["content"] = request.get_data()
        return Response(b"", 200)

    def _file(self, request: Request, video_id: str) -> Response:
        """The original file (the storage host, no token), with Range as a CDN serves it."""
        video = self.videos.get(video_id)
        if self.down:
            return Response(b"", 503)
        if video is None or request.method != "GET":
            return Response(b"", 404)
        data = bytes(video.data)
        wanted = request.range.range_for_length(len(data)) if request.range else None
        if wanted is None and self.cut_next_download is None:
            return Response(data, 200, content_type="video/mp4")
        start, stop = wanted or (0, len(data))
        if self.cut_next_download is not None:
            stop, self.cut_next_download = min(stop, start + self.cut_next_download), None
        response = Response(data[start:stop], 206, content_type="video/mp4")
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(data)}"
        return response

    def _file_in(self, video_id: str, action: Any) -> Response:
        video = self.videos.get(video_id)
        if video is None:
            return Response(
                json.dumps({"error": "Not found"}), 404, content_type="application/json"
            )
        action(video)
        return self._empty()

    def _list(self, request: Request) -> Response:
        query = parse_qs(request.query_string.decode())
        per_page = min(int(query.get("per_page", ["25"])[0]), 100)
        page = max(int(query.get("page", ["1"])[0]), 1)
        videos = list(self.videos.values())
        chunk = videos[(page - 1) * per_page : page * per_page]
        last = max((len(videos) + per_page - 1) // per_page, 1)

        def link(number: int) -> str:
            return f"/me/videos?page={number}&per_page={per_page}"

        body = {
            "total": len(videos),
            "page": page,
            "per_page": per_page,
            "paging": {
                "next": link(page + 1) if page < last else None,
                "previous": link(page - 1) if page > 1 else None,
                "first": link(1),
                "last": link(last),
            },
            "data": [self._video_json(v) for v in chunk],
        }
        return self._json(request, 200, body)

    # -- tus (the upload host: no bearer token, no JSON)

    def _tus(self, request: Request, video_id: str) -> Response:
        video = self.videos.get(video_id)
        if self.down:
            return Response(b"", 503)
        if video is None:
            return Response(b"", 404, headers={"Tus-Resumable": TUS_VERSION})
        if request.headers.get("Tus-Resumable") != TUS_VERSION:
            return Response(b"", 412, headers={"Tus-Version": TUS_VERSION})
        with video.lock:
            offset_headers = {
                "Tus-Resumable": TUS_VERSION,
                "Upload-Offset": str(video.received),
                "Upload-Length": str(video.size),
                "Cache-Control": "no-store",
            }
            if request.method == "HEAD":
                return Response(b"", 200, headers=offset_headers)
            if request.method != "PATCH":
                return Response(b"", 405)
            if request.headers.get("Content-Type") != "application/offset+octet-stream":
                return Response(b"", 415, headers=offset_headers)
            if request.headers.get("Upload-Offset") != str(video.received):
                return Response(b"", 409, headers=offset_headers)
            self._receive(request, video)
            if video.received >= video.size and video.status == "uploading":
                video.status = "transcode_starting"
            return Response(
                b"",
                204,
                headers={"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(video.received)},
            )

    def _receive(self, request: Request, video: FakeVideo) -> None:
        """Append the body as it arrives: what came before a broken connection is kept, as a
        tus server does, so that the client resumes from there."""
        stream = request.stream
        try:
            while block := stream.read(READ_BLOCK):
                if video.received + len(block) > video.size:
                    break
                if self.keep_bytes:  # the benchmark counts its 500 MB without keeping them
                    video.data.extend(block)
                video.received += len(block)
        except (ClientDisconnected, OSError):
            pass
