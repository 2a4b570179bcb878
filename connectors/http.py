"""The HTTP base shared by every connector: bounded, retried, circuit-broken and logged calls.

Each client of an external system (Chamilo, Vimeo, CalDAV, Matrix...) sends its requests
through :class:`HttpClient`. A slow, failing or rate-limiting tool must never hang or flood
the portal, and every call must leave a trace the admins can read:

- every call has explicit connect and read timeouts (``requests`` waits forever without one);
- idempotent calls (GET, HEAD, OPTIONS, PUT, DELETE, or any call the caller marks
  ``idempotent=True``) are retried with exponential backoff and jitter on network errors,
  timeouts and 429/502/503/504; POST and PATCH are not, since the server may have acted on
  them (the core's outbox retries those writes, with their idempotency keys);
- ``Retry-After`` (seconds or HTTP date; for a 429 without it, ``X-RateLimit-Reset``) is
  honoured up to ``max_wait``; a longer wait raises :class:`RateLimited` carrying the wait;
- a circuit breaker per (connector name, origin), kept in a :class:`BreakerRegistry` shared
  by the process, fails calls fast while an endpoint is down, then lets one trial call through;
- each attempt is reported to ``on_call`` as a :class:`CallRecord`: method, URL stripped of
  secrets, status, duration, attempt number, error text, connector name; never bodies nor
  headers. The core stores these records in its connector log;
- failures raise a small hierarchy rooted at :class:`ConnectorError` whose messages are safe
  to show a commune admin (no secrets; the text is English, the core translates by class).

Framework-free on purpose: nothing from Flask or ``core`` is imported here.

Example::

    client = HttpClient("https://videos.example.fr/api", name="vimeo", on_call=core_log,
                        headers={"Authorization": f"Bearer {token}"})
    video = client.get("/videos/42", expected=(404,))
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase
from requests.models import PreparedRequest

log = logging.getLogger(__name__)

Timeout = tuple[float, float]
"""(connect timeout, read timeout), in seconds. The read timeout bounds each wait for data
from the socket, not the whole response."""

DEFAULT_TIMEOUT: Timeout = (5.0, 30.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Servers announce a wait with Retry-After on these two (RFC 9110, section 10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})
EXCERPT_LENGTH = 500

# Query keys whose value is never logged: the exact names, any key containing one of the
# fragments (``client_secret``, ``hs_token``...) and any key ending in "key" (``x-api-key``,
# ``apikey``; not ``keyword``). Over-redacting costs little; a leaked token costs a lot.
SENSITIVE_KEYS = frozenset(
    {"token", "key", "secret", "password", "access_token", "api_key", "signature", "sig"}
)
SENSITIVE_FRAGMENTS = ("token", "secret", "password", "passwd", "signature")
REDACTED = "***"

# Free text (exception messages, error bodies) may repeat a URL or echo a credential.
_SECRET_NAME = r"[\w.-]*(?:token|secret|passw(?:or)?d|signature)[\w.-]*|[\w.-]*key"
_SECRET_PAIR = re.compile(rf"(?i)((?:{_SECRET_NAME})=)[^&\s'\"<>,;)]+")
_SECRET_JSON = re.compile(rf"(?i)(\"(?:{_SECRET_NAME})\"\s*:\s*)\"[^\"]*\"")
_USERINFO = re.compile(r"(//)[^/\s@]+@")


# --- errors -----------------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base of every connector failure. ``message`` is safe to show an admin."""

    def __init__(self, connector: str, message: str) -> None:
        super().__init__(f"{connector}: {message}")
        self.connector = connector
        self.message = message


class ConnectorUnavailable(ConnectorError):
    """The external system could not serve the call: network error, timeout or 5xx (after
    the retries). ``retry_after`` is the wait the server (or the breaker) asked for, if any."""

    def __init__(
        self,
        connector: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(connector, message)
        self.status = status
        self.retry_after = retry_after


class CircuitOpen(ConnectorUnavailable):
    """The endpoint failed repeatedly; the call was refused without touching the network."""


class RateLimited(ConnectorUnavailable):
    """The server asked us to slow down (429, or a 503 with a wait longer than allowed)."""


class ConnectorRejected(ConnectorError):
    """The external API refused the request (4xx other than 429); retrying will not help.

    ``excerpt`` is the start of the response body (at most 500 characters, credentials
    scrubbed); ``response`` is kept for the connector's own parsing (Vimeo's ``error_code``,
    Matrix's ``errcode``), and should not be shown as is.
    """

    def __init__(
        self,
        connector: str,
        message: str,
        *,
        status: int,
        excerpt: str,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(connector, message)
        self.status = status
        self.excerpt = excerpt
        self.response = response


# --- the call log -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One attempt of one call, as handed to ``on_call``. Contains no body and no header by
    construction, and ``url`` has its userinfo removed and its secret query values masked.

    ``attempt`` counts from 1; it is 0 for a call the open circuit refused. ``status`` is None
    when no response came back; ``error`` is None for an accepted response.
    """

    connector: str
    method: str
    url: str
    status: int | None
    duration_ms: int
    attempt: int
    error: str | None


@dataclass(frozen=True, slots=True)
class Health:
    """Result of :meth:`HttpClient.check`: whether the endpoint answered acceptably."""

    ok: bool
    status: int | None
    detail: str
    duration_ms: int


def _is_sensitive(key: str, extra: Collection[str] = ()) -> bool:
    key = unquote_plus(key).strip().lower()
    return (
        key in SENSITIVE_KEYS
        or key in extra
        or key.endswith("key")
        or any(fragment in key for fragment in SENSITIVE_FRAGMENTS)
    )


def redact_url(url: str, extra_keys: Iterable[str] = ()) -> str:
    """``url`` without ``user:pass@`` nor fragment, and with the values of secret-looking
    query keys replaced by ``***``; the other pairs are kept exactly as they were encoded."""
    extra = {k.lower() for k in extra_keys}
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    pairs = []
    for pair in parts.query.split("&") if parts.query else ():
        name, sep, _value = pair.partition("=")
        pairs.append(f"{name}={REDACTED}" if sep and _is_sensitive(name, extra) else pair)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pairs), ""))


def scrub(text: str) -> str:
    """Mask credentials that free text (an error message, a response body) might carry."""
    text = _USERINFO.sub(r"\1", text)
    text = _SECRET_PAIR.sub(rf"\1{REDACTED}", text)
    return _SECRET_JSON.sub(rf'\1"{REDACTED}"', text)


# --- Retry-After ------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date.
    None when absent or unreadable; never negative."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT, even if the zone is missing
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_rate_limit_reset(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from an ``X-RateLimit-Reset`` value. Vimeo has sent both an ISO 8601
    date and a Unix timestamp (see shared/contracts/vimeo.md); small numbers are read as a
    delay in seconds, as other APIs send."""
    if not value:
        return None
    value = value.strip()
    now = time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, when.timestamp() - now)
    # A timestamp is after 2001-09-09; a delay of more than 31 years is not a delay.
    return max(0.0, number - now) if number >= 1e9 else max(0.0, number)


def retry_after_of(response: requests.Response) -> float | None:
    """The wait a 429/503 response asks for: ``Retry-After``, else (429 only)
    ``X-RateLimit-Reset``. Connectors with another convention (Matrix's ``retry_after_ms`` in
    the body) pass their own function as ``HttpClient(retry_after=...)``."""
    wait = parse_retry_after(response.headers.get("Retry-After"))
    if wait is None and response.status_code == 429:
        wait = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"))
    return wait


# --- circuit breaker --------------------------------------------------------------------------


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Permit(enum.Enum):
    """What :meth:`CircuitBreaker.acquire` grants: a normal call, or the single trial call of
    a half-open breaker."""

    NORMAL = "normal"
    TRIAL = "trial"


class CircuitBreaker:
    """Counts consecutive failed calls to one endpoint; at ``failure_threshold`` it opens for
    ``cooldown`` seconds, during which calls are refused; then it is half-open: one trial
    call is let through (the others are still refused), and its outcome closes or reopens it.

    Thread-safe. ``clock`` (monotonic seconds) is injectable so that tests need not sleep.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown < 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown >= 0")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def retry_in(self) -> float:
        """Seconds left before the breaker lets a trial call through (0 when it would)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.cooldown - (self._clock() - self._opened_at))

    def acquire(self) -> Permit | None:
        """Permission for one call, or None: refuse it (fail fast)."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return Permit.NORMAL
            if state is BreakerState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return Permit.TRIAL
            return None

    def settle(self, permit: Permit, ok: bool | None) -> None:
        """Report how a permitted call ended: ``True`` the endpoint worked, ``False`` it
        failed, ``None`` we cannot tell (a bug on our side): the count is left as it was."""
        with self._lock:
            if permit is Permit.TRIAL:
                self._trial_running = False
            if ok is True:
                self._failures = 0
                self._opened_at = None
            elif ok is False:
                self._failures += 1
                if permit is Permit.TRIAL:
                    self._opened_at = self._clock()  # the trial failed: another cool-down
                elif self._opened_at is None and self._failures >= self.failure_threshold:
                    self._opened_at = self._clock()


class BreakerRegistry:
    """The breakers of a process, one per (connector name, origin), created on first use.

    Connector clients are cheap and may be built per request (each commune has its own
    settings), so breakers must outlive them: hence one registry shared by default
    (:data:`BREAKERS`). Two communes using the same Chamilo host share its breaker, which is
    right: the host is down for both. State is per process; that only delays fail-fast in
    other workers, it is never needed for correctness.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def get(self, name: str, origin: str) -> CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get((name, origin))
            if breaker is None:
                breaker = CircuitBreaker(
                    failure_threshold=self.failure_threshold,
                    cooldown=self.cooldown,
                    clock=self.clock,
                )
                self._breakers[(name, origin)] = breaker
            return breaker

    def states(self) -> dict[tuple[str, str], BreakerState]:
        """Every known endpoint's state, for a status page."""
        with self._lock:
            breakers = dict(self._breakers)
        return {key: breaker.state for key, breaker in breakers.items()}

    def clear(self) -> None:
        with self._lock:
            self._breakers.clear()


BREAKERS = BreakerRegistry()


# --- the client -------------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{host}:{port}"


def _check_timeout(timeout: Any) -> Timeout:
    # A missing timeout is exactly the unbounded wait this module exists to prevent.
    if not isinstance(timeout, tuple) or len(timeout) != 2:
        raise ValueError("timeout must be a (connect, read) pair of seconds, never None")
    connect, read = timeout
    for value in (connect, read):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError("connect and read timeouts must be positive numbers of seconds")
    return float(connect), float(read)


def _replayable(kwargs: Mapping[str, Any]) -> bool:
    """Whether the body can be sent again: a file or generator is consumed by the first try,
    and a retry would silently send an empty body."""
    data = kwargs.get("data")
    if data is not None and not isinstance(data, bytes | str | dict | list | tuple):
        return False
    files = kwargs.get("files")
    # ``files`` is {field: value} or [(field, value)]; a value is the content or a tuple
    # (filename, content, ...).
    values = list(files.values()) if isinstance(files, Mapping) else [v for _, v in files or ()]
    for value in values:
        content = value[1] if isinstance(value, tuple) else value
        if not isinstance(content, bytes | str):
            return False
    return True


def _describe(exc: BaseException) -> str:
    """Short, secret-free text for a network error."""
    # requests wraps urllib3's MaxRetryError, whose text repeats the URL with its query
    # string: keep only the underlying reason, then scrub whatever might remain.
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None) or inner or exc
    return scrub(f"{type(exc).__name__}: {reason}")[:300]


def _excerpt(response: requests.Response) -> str:
    try:
        text = response.text
    except Exception:  # a body cut short must not hide the status we are reporting
        return ""
    return scrub(text)[:EXCERPT_LENGTH]


class HttpClient:
    """A client of one external HTTP API.

    ``base_url`` is the API root (http or https); ``path`` arguments are appended to it, or
    may be absolute URLs (a Vimeo upload link on another host). ``headers`` and ``auth`` are
    sent only to the base URL's origin, so that a token never leaks to a URL the API handed
    us; put credentials there rather than on the ``session``. ``name`` identifies the
    connector in logs, errors and breakers.

    ``timeout`` is (connect, read) seconds. ``retries`` is the number of extra attempts of a
    retryable call, spaced by ``backoff * 2**n`` seconds plus up to 10 % jitter. A server wait
    (Retry-After) is honoured up to ``max_wait`` seconds. ``sleep`` and the registry's clock
    are injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        headers: Mapping[str, str] | None = None,
        auth: AuthBase | tuple[str, str] | None = None,
        breakers: BreakerRegistry | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        session: requests.Session | None = None,
        retry_after: Callable[[requests.Response], float | None] = retry_after_of,
        redact_keys: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{name}: base URL must be an http(s) URL with a host")
        if retries < 0 or backoff < 0 or max_wait < 0:
            raise ValueError("retries, backoff and max_wait must not be negative")
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout = _check_timeout(timeout)
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.headers = dict(headers or {})
        self.auth = auth
        self.breakers = breakers if breakers is not None else BREAKERS
        self.on_call = on_call
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()
        self.retry_after = retry_after
        self.redact_keys = frozenset(k.lower() for k in redact_keys)
        self.sleep = sleep
        self._origin = _origin(self.base_url)

    # -- public API

    def url_for(self, path: str = "") -> str:
        if urlsplit(path).scheme in ("http", "https"):
            return path
        # Plain concatenation, not urljoin: urljoin would drop the last segment of a base
        # such as ".../api/v2.php" or ".../remote.php/dav".
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker of the base URL's origin."""
        return self.breakers.get(self.name, self._origin)

    def request(
        self,
        method: str,
        path: str = "",
        *,
        expected: Collection[int] = (),
        idempotent: bool | None = None,
        timeout: Timeout | None = None,
        retries: int | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one call, with retries when allowed, and return the response.

        Statuses below 400 and those in ``expected`` (e.g. ``(404,)``) are returned; others
        raise :class:`ConnectorRejected` (4xx), :class:`RateLimited` (429, or a too-long
        wait) or :class:`ConnectorUnavailable` (5xx, network, timeouts), or
        :class:`CircuitOpen` without any network use. ``idempotent`` overrides the method's
        default (pass True for a POST carrying an idempotency key). ``timeout`` and
        ``retries`` override the client's for this call. Other keyword arguments go to
        :meth:`requests.Session.request` (``params``, ``json``, ``data``, ``headers``...).
        """
        method = method.upper()
        url = self.url_for(path)
        origin = _origin(url)
        bounds = _check_timeout(self.timeout if timeout is None else timeout)
        if origin == self._origin:
            kwargs["headers"] = {**self.headers, **(kwargs.get("headers") or {})}
            if self.auth is not None:
                kwargs.setdefault("auth", self.auth)
        prepared = PreparedRequest()
        try:
            prepared.prepare_url(url, kwargs.get("params"))
        except requests.RequestException as exc:  # a misconfigured URL, not a network error
            raise ConnectorError(self.name, f"invalid URL ({_describe(exc)})") from None
        shown_url = redact_url(prepared.url or url, self.redact_keys)

        retryable = (method in IDEMPOTENT_METHODS if idempotent is None else idempotent) and (
            _replayable(kwargs)
        )
        attempts = 1 + (self.retries if retries is None else retries) if retryable else 1

        breaker = self.breakers.get(self.name, origin)
        permit = breaker.acquire()
        if permit is None:
            wait = breaker.retry_in()
            self._emit(method, shown_url, None, 0, 0, "circuit open")
            raise CircuitOpen(
                self.name,
                f"{method} {shown_url} not attempted: the service failed repeatedly, "
                f"calls are suspended for {wait:.0f} s",
                retry_after=wait,
            )
        if permit is Permit.TRIAL:
            attempts = 1  # the trial of a half-open breaker is one call, not a burst

        ok: bool | None = None
        try:
            response = self._send(method, url, shown_url, attempts, bounds, expected, kwargs)
            ok = True
            return response
        except ConnectorRejected:
            ok = True  # the service answered: it is up, whatever it thought of the request
            raise
        except ConnectorUnavailable:
            ok = False
            raise
        finally:
            breaker.settle(permit, ok)

    def get(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def head(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("HEAD", path, **kwargs)

    def post(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def check(self, path: str = "", *, expected: Collection[int] = ()) -> Health:
        """Health check: one GET without retries; never raises a :class:`ConnectorError`.
        A connector passes a cheap authenticated path so that bad credentials show too."""
        start = time.perf_counter()
        try:
            response = self.request("GET", path, expected=expected, retries=0)
        except ConnectorError as exc:
            status = getattr(exc, "status", None)
            return Health(False, status, exc.message, _ms_since(start))
        response.close()
        return Health(True, response.status_code, "ok", _ms_since(start))

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals

    def _send(
        self,
        method: str,
        url: str,
        shown_url: str,
        attempts: int,
        timeout: Timeout,
        expected: Collection[int],
        kwargs: dict[str, Any],
    ) -> requests.Response:
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            start = time.perf_counter()
            try:
                response = self.session.request(method, url, timeout=timeout, **kwargs)
            except (
                requests.Timeout,
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                detail = _describe(exc)
                self._emit(method, shown_url, None, _ms_since(start), attempt, detail)
                if last:
                    what = "timed out" if isinstance(exc, requests.Timeout) else "failed"
                    raise ConnectorUnavailable(
                        self.name,
                        f"{method} {shown_url} {what} after {attempt} attempt(s) ({detail})",
                    ) from None  # the chained exception's text would repeat the raw URL
                self.sleep(self._backoff(attempt))
                continue
            except requests.RequestException as exc:
                # Not the network: an invalid URL or header, i.e. a configuration error.
                detail = _describe(exc)
                self._emit(method, shown_url, None, _ms_since(start), attempt, detail)
                raise ConnectorError(
                    self.name, f"{method} {shown_url} could not be sent ({detail})"
                ) from None

            status = response.status_code
            accepted = status < 400 or status in expected
            error = None if accepted else f"HTTP {status}"
            self._emit(method, shown_url, status, _ms_since(start), attempt, error)
            if accepted:
                return response
            if status in RETRY_STATUSES:
                wait = self.retry_after(response) if status in RETRY_AFTER_STATUSES else None
                response.close()
                if wait is not None and wait > self.max_wait:
                    raise RateLimited(
                        self.name,
                        f"{method} {shown_url} answered HTTP {status}: asked to wait "
                        f"{wait:.0f} s, more than the {self.max_wait:.0f} s allowed",
                        status=status,
                        retry_after=wait,
                    )
                if not last:
                    self.sleep(wait if wait is not None else self._backoff(attempt))
                    continue
                failure = RateLimited if status == 429 else ConnectorUnavailable
                raise failure(
                    self.name,
                    f"{method} {shown_url} answered HTTP {status} after {attempt} attempt(s)",
                    status=status,
                    retry_after=wait,
                )
            if status >= 500:
                response.close()
                raise ConnectorUnavailable(
                    self.name, f"{method} {shown_url} answered HTTP {status}", status=status
                )
            raise ConnectorRejected(
                self.name,
                f"{method} {shown_url} was refused with HTTP {status}",
                status=status,
                excerpt=_excerpt(response),
                response=response,
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int) -> float:
        delay = self.backoff * 2 ** (attempt - 1)
        # Jitter, so that the workers that failed together do not all come back together.
        return min(delay * (1 + 0.1 * random.random()), self.max_wait)

    def _emit(
        self,
        method: str,
        url: str,
        status: int | None,
        duration_ms: int,
        attempt: int,
        error: str | None,
    ) -> None:
        if self.on_call is None:
            return
        record = CallRecord(
            connector=self.name,
            method=method,
            url=url,
            status=status,
            duration_ms=duration_ms,
            attempt=attempt,
            error=error,
        )
        try:
            self.on_call(record)
        except Exception:
            # The log is a by-product: losing a record must not lose the call.
            log.exception("on_call hook of connector %s failed", self.name)


def _ms_since(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)
