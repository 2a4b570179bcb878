"""Client of the Vimeo API 3.4: resumable (tus) uploads, video state, embed restricted to
the portal's domain, captions as text tracks, paged listings, folders and showcases.

Built on :class:`connectors.http.HttpClient` (timeouts, breaker, call log). What is Vimeo's
own is here: the versioned ``Accept`` header, the bearer token, the two error shapes
(``{error, developer_message, error_code}`` and the legacy ``{error}``), the paging envelope,
and the rate limit: a 429 is retried once the window resets (``X-RateLimit-Reset``, an ISO
date or a Unix timestamp), whatever the method, since the server did nothing with the call;
and once an answer says the window is used up (``X-RateLimit-Remaining: 0``), the account's
next calls wait for the reset instead of earning a 429 (:data:`RATE_WINDOWS`).

Framework-free: nothing from Flask or ``core`` is imported here. The contract is in the
shared contracts folder (vimeo.md and Vimeo's OpenAPI document).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import requests

from connectors.http import (
    CallRecord,
    ConnectorError,
    ConnectorRejected,
    HttpClient,
    RateLimited,
    parse_rate_limit_reset,
)

API_URL = "https://api.vimeo.com"
ACCEPT = "application/vnd.vimeo.*+json;version=3.4"
TUS_VERSION = "1.0.0"
PER_PAGE_MAX = 100
# How many times a call answered 429 is tried again after the reset.
RATE_LIMIT_RETRIES = 2

# The states of ``video.status`` (OpenAPI enum), sorted by what they mean to the portal.
READY = frozenset({"available"})
FAILED = frozenset(
    {"quota_exceeded", "total_cap_exceeded", "transcoding_error", "unavailable", "uploading_error"}
)


class RateWindows:
    """When each account's rate-limit window reopens, once Vimeo said it was used up. Kept
    for the process rather than a client, as :data:`connectors.http.BREAKERS` is: the portal
    makes a client per request, and the window is the account's."""

    def __init__(self) -> None:
        self._reopens: dict[str, float] = {}
        self._lock = threading.Lock()

    def close(self, key: str, seconds: float) -> None:
        with self._lock:
            self._reopens[key] = max(self._reopens.get(key, 0.0), time.time() + seconds)

    def wait(self, key: str) -> float:
        """Seconds until the window of ``key`` reopens (0 when it is open)."""
        with self._lock:
            reopens = self._reopens.get(key)
            if reopens is None:
                return 0.0
            left = reopens - time.time()
            if left <= 0:
                del self._reopens[key]
            return max(left, 0.0)

    def forget(self, key: str) -> None:
        with self._lock:
            self._reopens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._reopens.clear()


RATE_WINDOWS = RateWindows()


class VimeoRejected(ConnectorRejected):
    """Vimeo refused the call. ``error`` is Vimeo's user-facing text, ``error_code`` its
    numeric code when the new error shape carried one (None for the legacy shape)."""

    def __init__(self, rejected: ConnectorRejected, error: str, error_code: int | None) -> None:
        super().__init__(
            rejected.connector,
            f"{rejected.message}: {error}" if error else rejected.message,
            status=rejected.status,
            excerpt=rejected.excerpt,
            response=rejected.response,
        )
        self.error = error
        self.error_code = error_code


class UploadGone(ConnectorError):
    """The tus upload link no longer exists (404/410): the upload must start over."""


@dataclass(frozen=True)
class Upload:
    """A video created for a tus upload: its id on Vimeo and where to send the bytes."""

    video_id: str
    upload_link: str
    size: int


@dataclass(frozen=True)
class Account:
    """Whom a token belongs to (the account's display name) and its OAuth scopes."""

    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class VideoState:
    """What Vimeo says of a video: ``status`` (OpenAPI enum), the upload and transcode
    states, and its page and player addresses."""

    video_id: str
    status: str
    upload_status: str | None
    transcode_status: str | None
    link: str | None
    player_embed_url: str | None

    @property
    def ready(self) -> bool:
        return self.status in READY and self.transcode_status in (None, "complete")

    @property
    def failed(self) -> bool:
        return self.status in FAILED or self.transcode_status == "error"


def video_id_of(uri: str) -> str:
    """``/videos/123`` (or ``/users/1/videos/123``) -> ``123``."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def error_of(response: requests.Response | None) -> tuple[str, int | None]:
    """Vimeo's message and code from either error shape; ("", None) for anything else."""
    if response is None:
        return "", None
    try:
        body = response.json()
    except ValueError:
        return "", None
    if not isinstance(body, dict):
        return "", None
    message = body.get("error")
    code = body.get("error_code")
    return (
        message if isinstance(message, str) else "",
        int(code) if isinstance(code, int | float) and not isinstance(code, bool) else None,
    )


class _Body:
    """A request body read from ``stream`` up to ``length`` bytes: requests sends it with a
    Content-Length, one block at a time as the stream gives them, so the chunk is never held
    in memory. Iterated rather than read: the HTTP layer would read a file in 16 KB pieces,
    a third of the speed over loopback."""

    BLOCK = 1024 * 1024

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self._stream = stream
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        left = self._length
        while left > 0:
            data = self._stream.read(min(self.BLOCK, left))
            if not data:
                return
            left -= len(data)
            yield data


class VimeoClient:
    """The API of one Vimeo account, reached with its access token.

    ``sleep`` is injectable so that tests of the rate limit do not wait; ``max_wait`` is the
    longest reset the client waits for before giving up with :class:`RateLimited`.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = API_URL,
        on_call: Callable[[CallRecord], None] | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sleep = sleep
        self.max_wait = max_wait
        # The account's key among the rate windows: not the token itself.
        self._account = hashlib.sha256(f"{base_url}\n{token}".encode()).hexdigest()
        self.http = HttpClient(
            base_url,
            name="vimeo",
            timeout=timeout,
            max_wait=max_wait,
            headers={"Authorization": f"bearer {token}", "Accept": ACCEPT},
            on_call=on_call,
            sleep=sleep,
        )

    def close(self) -> None:
        self.http.close()

    # -- calls

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One call; Vimeo's error shapes become :class:`VimeoRejected`. A 429 is waited out
        and tried again (the HTTP base does it for idempotent calls; here for all, since the
        server did not act on a rate-limited call), unless the body cannot be sent twice."""
        # The account's window is the API's: an upload link, a captions file or a download is
        # an address on another host (given as a whole URL), outside it.
        api = "://" not in path
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            if api:
                self._wait_for_window()
            try:
                response = self.http.request(method, path, **kwargs)
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else 1.0
                if exc.status == 429 and api:
                    # The next turn waits for the reset, and so do the account's next calls.
                    self._close_window(wait)
                replayable = not isinstance(kwargs.get("data"), _Body)
                if attempt == RATE_LIMIT_RETRIES or not replayable or exc.status != 429:
                    raise
                if not api:
                    self.sleep(wait)
                continue
            except VimeoRejected:
                raise
            except ConnectorRejected as exc:
                if api:
                    self._note_window(exc.response)
                error, code = error_of(exc.response)
                raise VimeoRejected(exc, error, code) from None
            if api:
                self._note_window(response)
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    # -- the rate limit's window

    def _wait_for_window(self) -> None:
        """Before a call: when the account's window is used up, wait until it reopens, or
        raise :class:`RateLimited` without calling if that is further than ``max_wait``."""
        wait = RATE_WINDOWS.wait(self._account)
        if not wait:
            return
        if wait > self.max_wait:
            raise RateLimited(
                self.http.name,
                f"the account's rate limit is used up for {wait:.0f} s more",
                status=429,
                retry_after=wait,
            )
        self.sleep(wait)
        RATE_WINDOWS.forget(self._account)

    def _close_window(self, seconds: float) -> None:
        RATE_WINDOWS.close(self._account, seconds)

    def _note_window(self, response: requests.Response | None) -> None:
        """Remember a window that an answer says is used up (``X-RateLimit-Remaining: 0``)."""
        if response is None or response.headers.get("X-RateLimit-Remaining", "").strip() != "0":
            return
        wait = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"))
        if wait:
            self._close_window(wait)

    def account(self, *, timeout: tuple[float, float]) -> Account:
        """The token's account (``GET /me``) and scopes (``GET /oauth/verify``), for a person
        who is waiting: one try each with a short timeout, no waiting out a rate limit.
        Raises the HTTP base's errors (a 401 is :class:`ConnectorRejected`)."""
        # Called even when the window is known to be used up: the person asked for a test.
        try:
            answers = [
                self.http.get(path, params={"fields": fields}, retries=0, timeout=timeout)
                for path, fields in (("/me", "name"), ("/oauth/verify", "scope"))
            ]
        except RateLimited as exc:
            if exc.status == 429:
                self._close_window(exc.retry_after if exc.retry_after is not None else 1.0)
            raise
        for answer in answers:
            self._note_window(answer)
        try:
            me, verified = (answer.json() for answer in answers)
            return Account(str(me.get("name") or ""), frozenset(str(verified["scope"]).split()))
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ConnectorError(self.http.name, "the answers are not Vimeo's") from None

    # -- uploads

    def create_upload(self, size: int, name: str, description: str = "") -> Upload:
        """Create the video and its tus upload of ``size`` bytes. Vimeo documents 201 and
        answers 200 in practice: both are success."""
        response = self._call(
            "POST",
            "/me/videos",
            params={"fields": "uri,upload"},
            json={
                "upload": {"approach": "tus", "size": str(size)},
                "name": name,
                "description": description,
                "privacy": {"view": "unlisted", "embed": "whitelist", "download": False},
            },
        )
        body = response.json()
        upload = body.get("upload") or {}
        if upload.get("approach") != "tus" or not upload.get("upload_link"):
            raise ConnectorError("vimeo", "the upload answer has no tus upload link")
        return Upload(video_id_of(body["uri"]), upload["upload_link"], size)

    def upload_offset(self, upload_link: str) -> tuple[int, int | None]:
        """(bytes Vimeo has, total length) of a tus upload, to resume it."""
        response = self._tus("HEAD", upload_link)
        length = response.headers.get("Upload-Length")
        return int(response.headers["Upload-Offset"]), int(length) if length else None

    def upload_chunk(self, upload_link: str, offset: int, stream: IO[bytes], length: int) -> int:
        """Send ``length`` bytes read from ``stream`` at ``offset``; returns the new offset.
        A 409 means the offset was wrong: ask :meth:`upload_offset` and resume from there."""
        response = self._tus(
            "PATCH",
            upload_link,
            data=_Body(stream, length),
            headers={
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        return int(response.headers["Upload-Offset"])

    def _tus(self, method: str, upload_link: str, **kwargs: Any) -> requests.Response:
        headers = {"Tus-Resumable": TUS_VERSION, **kwargs.pop("headers", {})}
        try:
            return self._call(method, upload_link, headers=headers, **kwargs)
        except VimeoRejected as exc:
            if exc.status in (404, 410):
                raise UploadGone("vimeo", "the upload link expired or was removed") from None
            raise

    # -- videos

    def state(self, video_id: str) -> VideoState | None:
        """The video's state, or None when Vimeo no longer has it (deleted on its side)."""
        response = self._call(
            "GET",
            f"/videos/{video_id}",
            params={"fields": "uri,status,upload.status,transcode.status,link,player_embed_url"},
            expected=(404,),
        )
        if response.status_code == 404:
            return None
        body = response.json()
        return VideoState(
            video_id=video_id_of(body.get("uri") or video_id),
            status=body.get("status") or "unavailable",
            upload_status=(body.get("upload") or {}).get("status"),
            transcode_status=(body.get("transcode") or {}).get("status"),
            link=body.get("link"),
            player_embed_url=body.get("player_embed_url"),
        )

    def restrict_embed(self, video_id: str, domain: str) -> None:
        """Let the video be embedded on ``domain`` only (privacy.embed whitelist)."""
        self._call("PATCH", f"/videos/{video_id}", json={"privacy": {"embed": "whitelist"}})
        self._call("PUT", f"/videos/{video_id}/privacy/domains/{domain}")

    def add_captions(self, video_id: str, vtt: bytes, language: str = "fr", name: str = "") -> str:
        """Create a captions text track and upload its WebVTT file; returns the track URI."""
        track = self._call(
            "POST",
            f"/videos/{video_id}/texttracks",
            json={
                "type": "captions",
                "language": language,
                "name": name or language,
                "active": True,
            },
            headers={"Content-Type": "application/vnd.vimeo.video.texttrack+json"},
        ).json()
        # The link is on Vimeo's storage, not the API: the bearer token is not sent there.
        self._call("PUT", track["link"], data=vtt, headers={"Content-Type": "text/vtt"})
        return track["uri"]

    def download(self, video_id: str, offset: int = 0) -> tuple[IO[bytes], int]:
        """The video's original file from ``offset``, as a stream read as it arrives, and
        its total size. The ``download`` list is not in the 2019 OpenAPI document: it is the
        field later versions of the API give a token with the ``video_files`` scope."""
        body = self._call("GET", f"/videos/{video_id}", params={"fields": "download"}).json()
        files = [f for f in body.get("download") or [] if f.get("link")]
        if not files:
            raise ConnectorError("vimeo", "the video offers no file to download")
        best = max(files, key=lambda f: f.get("size") or 0)
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = self._call("GET", best["link"], headers=headers, stream=True)
        if offset and response.status_code != 206:
            response.close()
            raise ConnectorError("vimeo", "the file server ignored the range asked for")
        total = int(best.get("size") or 0) or offset + int(response.headers["Content-Length"])
        response.raw.decode_content = True
        return response.raw, total

    def delete(self, video_id: str) -> None:
        self._call("DELETE", f"/videos/{video_id}", expected=(404,))

    def add_to_folder(self, folder_id: str, video_id: str) -> None:
        self._call("PUT", f"/me/projects/{folder_id}/videos/{video_id}")

    def add_to_showcase(self, showcase_id: str, video_id: str) -> None:
        self._call("PUT", f"/me/albums/{showcase_id}/videos/{video_id}")

    def videos(self, per_page: int = PER_PAGE_MAX) -> Iterator[dict[str, Any]]:
        """Every video of the account, page after page (following ``paging.next``)."""
        path: str | None = "/me/videos"
        params: dict[str, Any] | None = {
            "per_page": min(per_page, PER_PAGE_MAX),
            "fields": "uri,name,duration,pictures.sizes,status",
        }
        while path:
            body = self._call("GET", path, params=params).json()
            yield from body.get("data") or []
            path = (body.get("paging") or {}).get("next")
            params = None  # the next link carries its own query
