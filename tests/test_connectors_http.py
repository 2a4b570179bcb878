"""Tests of the connectors' shared HTTP base against a real HTTP server on 127.0.0.1.

Each test scripts the server's answers per path (fail N times then succeed, 429 with
Retry-After, answer too slowly, drop the connection...) and counts the calls it receives.
Backoffs are tiny and the breaker's clock is fake, so the file runs in a few seconds.
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import make_server

from connectors.http import (
    BreakerRegistry,
    BreakerState,
    CallRecord,
    CircuitBreaker,
    CircuitOpen,
    ConnectorError,
    ConnectorRejected,
    ConnectorUnavailable,
    HttpClient,
    Permit,
    RateLimited,
    parse_rate_limit_reset,
    parse_retry_after,
    redact_url,
    scrub,
)

# --- a scripted server ------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (to exceed the read timeout)
    drop: bool = False  # close the connection without answering


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """A WSGI app: each path answers its scripted replies in order, the last one repeating."""

    def __init__(self) -> None:
        self.calls: list[Seen] = []
        self.scripts: dict[str, list[Reply]] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.port = 0

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path] = list(replies)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for call in self.calls if call.path == path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = environ["PATH_INFO"]
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        with self.lock:
            self.calls.append(
                Seen(environ["REQUEST_METHOD"], path, environ["QUERY_STRING"], headers, body)
            )
            replies = self.scripts.get(path, [Reply()])
            reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if reply.delay:
            self.stopping.wait(reply.delay)  # returns at once when the fixture tears down
        if reply.drop:
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return []
        start_response(
            f"{reply.status} X", [*reply.headers.items(), ("Content-Type", "text/plain")]
        )
        return [reply.body.encode()]


@pytest.fixture(scope="module")
def http_server() -> Iterator[ScriptedServer]:
    app = ScriptedServer()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield app
    app.stopping.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(http_server: ScriptedServer) -> ScriptedServer:
    http_server.calls.clear()
    http_server.scripts.clear()
    return http_server


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breakers(clock: FakeClock) -> BreakerRegistry:
    # Each test gets its own registry: the process-wide one would carry state between tests.
    return BreakerRegistry(failure_threshold=3, cooldown=30.0, clock=clock)


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
def client(
    server: ScriptedServer, breakers: BreakerRegistry, records: list[CallRecord]
) -> Iterator[HttpClient]:
    with HttpClient(
        server.url,
        name="testapi",
        timeout=(1.0, 1.0),
        retries=2,
        backoff=0.01,
        max_wait=5.0,
        breakers=breakers,
        on_call=records.append,
    ) as http:
        yield http


def unavailable(n: int = 1, status: int = 503) -> list[Reply]:
    return [Reply(status, "down")] * n


# --- retries ----------------------------------------------------------------------------------


def test_get_is_retried_after_transient_503s(
    server: ScriptedServer, client: HttpClient, records: list[CallRecord]
) -> None:
    server.script("/items", *unavailable(2), Reply(200, "items"))

    response = client.get("/items")

    assert response.status_code == 200
    assert response.text == "items"
    assert server.count("/items") == 3
    assert [(r.attempt, r.status) for r in records] == [(1, 503), (2, 503), (3, 200)]
    assert records[0].error == "HTTP 503"
    assert records[-1].error is None


@pytest.mark.parametrize("status", [502, 504, 429])
def test_other_transient_statuses_are_retried(
    server: ScriptedServer, client: HttpClient, status: int
) -> None:
    server.script("/items", Reply(status), Reply(200))

    assert client.get("/items").status_code == 200
    assert server.count("/items") == 2


def test_get_fails_with_unavailable_once_retries_are_spent(
    server: ScriptedServer, client: HttpClient
) -> None:
    server.script("/items", *unavailable(1))

    with pytest.raises(ConnectorUnavailable) as caught:
        client.get("/items")

    assert server.count("/items") == 3  # one call + retries=2
    assert caught.value.status == 503
    assert caught.value.connector == "testapi"
    assert not isinstance(caught.value, RateLimited | CircuitOpen)


def test_500_is_not_retried(server: ScriptedServer, client: HttpClient) -> None:
    server.script("/boom", Reply(500, "bug"))

    with pytest.raises(ConnectorUnavailable) as caught:
        client.get("/boom")

    assert caught.value.status == 500
    assert server.count("/boom") == 1


def test_post_is_not_retried(server: ScriptedServer, client: HttpClient) -> None:
    server.script("/enrol", *unavailable(1), Reply(201))

    with pytest.raises(ConnectorUnavailable):
        client.post("/enrol", json={"user": 1})

    assert server.count("/enrol") == 1


def test_patch_is_not_retried_on_read_timeout(server: ScriptedServer, client: HttpClient) -> None:
    server.script("/video", Reply(delay=0.5), Reply(200))

    with pytest.raises(ConnectorUnavailable):
        client.patch("/video", json={"name": "x"}, timeout=(1.0, 0.1))

    assert server.count("/video") == 1


def test_post_marked_idempotent_is_retried(server: ScriptedServer, client: HttpClient) -> None:
    server.script("/enrol", *unavailable(1), Reply(201, "done"))

    response = client.post(
        "/enrol", json={"user": 1}, headers={"Idempotency-Key": "k1"}, idempotent=True
    )

    assert response.status_code == 201
    assert server.count("/enrol") == 2
    assert [c.headers["Idempotency-Key"] for c in server.calls] == ["k1", "k1"]
    assert server.calls[0].body == server.calls[1].body == b'{"user": 1}'


def test_backoff_grows_exponentially_with_a_little_jitter(
    server: ScriptedServer, breakers: BreakerRegistry
) -> None:
    delays: list[float] = []
    server.script("/items", *unavailable(1))
    http = HttpClient(
        server.url, name="t", retries=3, backoff=0.1, breakers=breakers, sleep=delays.append
    )

    with pytest.raises(ConnectorUnavailable):
        http.get("/items")

    assert len(delays) == 3
    for delay, base in zip(delays, (0.1, 0.2, 0.4), strict=True):
        assert base <= delay <= base * 1.1


def test_a_streamed_body_is_not_retried(server: ScriptedServer, client: HttpClient) -> None:
    # A generator is consumed by the first attempt; a retry would send an empty body.
    server.script("/upload", *unavailable(1), Reply(204))

    with pytest.raises(ConnectorUnavailable):
        client.put("/upload", data=(chunk for chunk in [b"abc"]))

    assert server.count("/upload") == 1


# --- timeouts and network errors --------------------------------------------------------------


def test_read_timeout_gives_unavailable_after_the_retries_in_bounded_time(
    server: ScriptedServer, client: HttpClient, records: list[CallRecord]
) -> None:
    server.script("/slow", Reply(delay=2.0))

    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable) as caught:
        client.get("/slow", timeout=(1.0, 0.2))
    elapsed = time.monotonic() - started

    assert server.count("/slow") == 3
    assert 0.6 <= elapsed < 2.5  # three read timeouts of 0.2 s and tiny backoffs, not 3 x 2 s
    assert "timed out" in caught.value.message
    assert all(r.status is None and "ReadTimeout" in (r.error or "") for r in records)


def test_timeouts_can_never_be_unbounded(server: ScriptedServer, client: HttpClient) -> None:
    with pytest.raises(ValueError):
        HttpClient(server.url, name="t", timeout=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        HttpClient(server.url, name="t", timeout=(1.0, 0))
    with pytest.raises(ValueError):
        client.get("/items", timeout=(None, 5.0))  # type: ignore[arg-type]
    assert server.count("/items") == 0


def test_a_bad_url_is_a_connector_error(client: HttpClient) -> None:
    with pytest.raises(ValueError):
        HttpClient("chamilo.example.fr", name="t")  # no scheme: refused at construction
    with pytest.raises(ConnectorError) as caught:
        client.get("http://")
    assert not isinstance(caught.value, ConnectorUnavailable)


@pytest.fixture
def dead_port() -> Iterator[int]:
    # Bound but not listening: connections are refused, and no one else can take the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_refused_connection_gives_unavailable(
    dead_port: int, breakers: BreakerRegistry, records: list[CallRecord]
) -> None:
    http = HttpClient(
        f"http://127.0.0.1:{dead_port}",
        name="dead",
        retries=1,
        backoff=0.01,
        breakers=breakers,
        on_call=records.append,
    )

    with pytest.raises(ConnectorUnavailable) as caught:
        http.get("/anything", params={"token": "tok-secret-1"})

    assert caught.value.status is None
    assert "refused" in caught.value.message.lower()
    assert "tok-secret-1" not in str(caught.value)
    assert [r.attempt for r in records] == [1, 2]
    assert all(r.status is None and "refused" in (r.error or "").lower() for r in records)
    assert all("tok-secret-1" not in repr(r) for r in records)


def test_dropped_connection_is_retried_then_unavailable(
    server: ScriptedServer, client: HttpClient
) -> None:
    server.script("/flaky", Reply(drop=True), Reply(200, "back"))
    assert client.get("/flaky").text == "back"
    assert server.count("/flaky") == 2

    server.script("/gone", Reply(drop=True))
    with pytest.raises(ConnectorUnavailable):
        client.get("/gone")
    assert server.count("/gone") == 3


# --- Retry-After ------------------------------------------------------------------------------


def test_retry_after_is_honoured(server: ScriptedServer, client: HttpClient) -> None:
    server.script("/limited", Reply(429, headers={"Retry-After": "1"}), Reply(200, "fine"))

    started = time.monotonic()
    response = client.get("/limited")

    assert time.monotonic() - started >= 1.0
    assert response.text == "fine"
    assert server.count("/limited") == 2


def test_retry_after_of_a_503_is_honoured(server: ScriptedServer, clock: FakeClock) -> None:
    delays: list[float] = []
    server.script("/maint", Reply(503, headers={"Retry-After": "3"}), Reply(200))
    http = HttpClient(
        server.url, name="t", breakers=BreakerRegistry(clock=clock), sleep=delays.append
    )

    assert http.get("/maint").status_code == 200
    assert delays == [3.0]


def test_retry_after_beyond_the_cap_raises_rate_limited(
    server: ScriptedServer, client: HttpClient
) -> None:
    server.script("/limited", Reply(429, headers={"Retry-After": "120"}), Reply(200))

    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        client.get("/limited")

    assert time.monotonic() - started < 0.5  # no waiting, no retry
    assert server.count("/limited") == 1
    assert caught.value.retry_after == 120
    assert caught.value.status == 429
    assert "120 s" in caught.value.message
    assert isinstance(caught.value, ConnectorUnavailable)


def test_persistent_429_ends_in_rate_limited(server: ScriptedServer, client: HttpClient) -> None:
    server.script("/limited", Reply(429))

    with pytest.raises(RateLimited) as caught:
        client.get("/limited")

    assert server.count("/limited") == 3
    assert caught.value.retry_after is None


def test_post_answered_429_raises_rate_limited_with_the_wait(
    server: ScriptedServer, client: HttpClient
) -> None:
    server.script("/send", Reply(429, headers={"Retry-After": "2"}))

    with pytest.raises(RateLimited) as caught:
        client.post("/send", json={})

    assert server.count("/send") == 1
    assert caught.value.retry_after == 2  # for the outbox to reschedule


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(email.utils.formatdate(now + 42, usegmt=True), now=now) == 42.0
    assert parse_retry_after(email.utils.formatdate(now - 42, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_parse_rate_limit_reset_reads_both_vimeo_formats() -> None:
    now = 1_700_000_000.0
    assert parse_rate_limit_reset(str(int(now + 60)), now=now) == 60.0
    iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 90))
    assert parse_rate_limit_reset(iso, now=now) == 90.0
    assert parse_rate_limit_reset("15", now=now) == 15.0
    assert parse_rate_limit_reset("later", now=now) is None


def test_x_ratelimit_reset_is_used_when_retry_after_is_missing(
    server: ScriptedServer, clock: FakeClock
) -> None:
    delays: list[float] = []
    reset = str(int(time.time()) + 3600)
    server.script("/videos", Reply(429, headers={"X-RateLimit-Reset": reset}))
    http = HttpClient(
        server.url, name="t", breakers=BreakerRegistry(clock=clock), sleep=delays.append
    )

    with pytest.raises(RateLimited) as caught:
        http.get("/videos")

    assert delays == []
    assert 3500 < (caught.value.retry_after or 0) <= 3600


# --- circuit breaker --------------------------------------------------------------------------


def test_circuit_opens_fails_fast_then_half_opens_and_closes(
    server: ScriptedServer,
    breakers: BreakerRegistry,
    clock: FakeClock,
    records: list[CallRecord],
) -> None:
    http = HttpClient(server.url, name="lms", retries=0, breakers=breakers, on_call=records.append)
    server.script("/courses", *unavailable(1))

    for _ in range(3):  # failure_threshold=3
        with pytest.raises(ConnectorUnavailable):
            http.get("/courses")
    assert http.breaker.state is BreakerState.OPEN

    clock.now += 10
    started = time.monotonic()
    with pytest.raises(CircuitOpen) as caught:
        http.get("/courses")
    assert time.monotonic() - started < 0.1
    assert server.count("/courses") == 3  # the server was not called
    assert caught.value.retry_after == 20
    assert records[-1].attempt == 0 and records[-1].error == "circuit open"

    clock.now += 20  # cool-down over: the next call is a trial
    assert http.breaker.state is BreakerState.HALF_OPEN
    server.script("/courses", Reply(200, "[]"))
    assert http.get("/courses").text == "[]"
    assert server.count("/courses") == 4
    assert http.breaker.state is BreakerState.CLOSED
    assert http.get("/courses").status_code == 200


def test_failed_trial_reopens_and_a_trial_is_a_single_attempt(
    server: ScriptedServer, breakers: BreakerRegistry, clock: FakeClock
) -> None:
    http = HttpClient(server.url, name="lms", retries=2, backoff=0.001, breakers=breakers)
    server.script("/courses", *unavailable(1))
    for _ in range(3):
        with pytest.raises(ConnectorUnavailable):
            http.get("/courses")
    assert server.count("/courses") == 9

    clock.now += 30
    with pytest.raises(ConnectorUnavailable) as caught:
        http.get("/courses")
    assert not isinstance(caught.value, CircuitOpen)
    assert server.count("/courses") == 10  # one trial attempt, no retries
    assert http.breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        http.get("/courses")
    assert server.count("/courses") == 10


def test_rejections_do_not_open_the_circuit(
    server: ScriptedServer, breakers: BreakerRegistry
) -> None:
    # A 4xx proves the service is up; only unavailability counts toward opening.
    http = HttpClient(server.url, name="lms", retries=0, breakers=breakers)
    server.script("/courses", *unavailable(2), Reply(404), *unavailable(2), Reply(200))
    for _ in range(5):
        with pytest.raises(ConnectorError):
            http.get("/courses")
    assert http.breaker.state is BreakerState.CLOSED
    assert http.get("/courses").status_code == 200


def test_breakers_are_per_connector_and_origin(
    server: ScriptedServer, breakers: BreakerRegistry, dead_port: int
) -> None:
    dead = HttpClient(f"http://127.0.0.1:{dead_port}", name="lms", retries=0, breakers=breakers)
    alive = HttpClient(server.url, name="lms", retries=0, breakers=breakers)
    other = HttpClient(f"http://127.0.0.1:{dead_port}", name="video", retries=0, breakers=breakers)
    for _ in range(3):
        with pytest.raises(ConnectorUnavailable):
            dead.get("/x")

    assert dead.breaker.state is BreakerState.OPEN
    assert alive.get("/x").status_code == 200
    assert other.breaker.state is BreakerState.CLOSED
    assert breakers.states()[("lms", f"http://127.0.0.1:{dead_port}")] is BreakerState.OPEN


def test_half_open_breaker_lets_exactly_one_trial_through_across_threads(
    clock: FakeClock,
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown=5, clock=clock)
    breaker.settle(breaker.acquire() or Permit.NORMAL, ok=False)
    clock.now += 5
    permits: list[Permit | None] = []
    barrier = threading.Barrier(16)

    def contend() -> None:
        barrier.wait()
        permits.append(breaker.acquire())

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert permits.count(Permit.TRIAL) == 1
    assert permits.count(None) == 15


# --- the call log -----------------------------------------------------------------------------


def test_call_record_strips_secrets_and_holds_no_header_nor_body(
    server: ScriptedServer, breakers: BreakerRegistry, records: list[CallRecord]
) -> None:
    host = f"127.0.0.1:{server.port}"
    http = HttpClient(
        f"http://alice:pw-secret-9@{host}",
        name="chamilo",
        headers={"Authorization": "Bearer bearer-secret-1", "Cookie": "sid=cookie-secret-2"},
        breakers=breakers,
        on_call=records.append,
    )
    server.script("/api", Reply(200, "body-secret-3"))

    http.post(
        "/api?token=t-secret-4&page=2&API_KEY=k-secret-5",
        params={"Access_Token": "a-secret-6", "signature": "s-secret-7", "q": "x y"},
        json={"password": "body-secret-8"},
    )

    seen = server.calls[-1]
    # Sent (the URL's userinfo becomes Basic auth, which requests puts over ours), not logged.
    assert "Authorization" in seen.headers and "Cookie" in seen.headers
    assert b"body-secret-8" in seen.body
    (record,) = records
    assert record.url == (
        f"http://{host}/api?token=***&page=2&API_KEY=***&Access_Token=***&signature=***&q=x+y"
    )
    assert (record.connector, record.method, record.status, record.attempt, record.error) == (
        "chamilo",
        "POST",
        200,
        1,
        None,
    )
    assert record.duration_ms >= 0
    assert {f.name for f in dataclasses.fields(CallRecord)} == {
        "connector",
        "method",
        "url",
        "status",
        "duration_ms",
        "attempt",
        "error",
    }
    dumped = repr(dataclasses.asdict(record))
    for secret in ("secret", "alice", "Bearer", "Basic", "Cookie", "Authorization", "password"):
        assert secret not in dumped


def test_failing_on_call_does_not_break_the_call(
    server: ScriptedServer, breakers: BreakerRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_log(record: CallRecord) -> None:
        raise RuntimeError("connector log table is locked")

    http = HttpClient(server.url, name="t", breakers=breakers, on_call=broken_log)

    with caplog.at_level(logging.ERROR, logger="connectors.http"):
        assert http.get("/items").status_code == 200
    assert any("on_call hook of connector t failed" in r.getMessage() for r in caplog.records)


def test_redaction_helpers() -> None:
    assert redact_url("https://u:p@h.example/a?x=1&client_secret=s&hs_token=t#frag") == (
        "https://h.example/a?x=1&client_secret=***&hs_token=***"
    )
    assert (
        redact_url("https://h.example/a?sig=1&flag", ["sig"]) == "https://h.example/a?sig=***&flag"
    )
    assert redact_url("https://h.example/s?keyword=mairie&x-api-key=k") == (
        "https://h.example/s?keyword=mairie&x-api-key=***"
    )
    text = scrub('bad url http://bob:pw@h/x?api_key=abc123 {"access_token": "zzz"}')
    assert "abc123" not in text and "zzz" not in text and "bob" not in text


# --- rejections -------------------------------------------------------------------------------


def test_4xx_gives_rejected_with_status_and_truncated_excerpt(
    server: ScriptedServer, client: HttpClient, records: list[CallRecord]
) -> None:
    server.script("/users", Reply(400, "E" * 2000))

    with pytest.raises(ConnectorRejected) as caught:
        client.get("/users")

    assert caught.value.status == 400
    assert caught.value.excerpt == "E" * 500
    assert "HTTP 400" in caught.value.message
    assert server.count("/users") == 1  # a refusal is not retried
    assert records[-1].status == 400 and records[-1].error == "HTTP 400"


def test_expected_statuses_are_returned(
    server: ScriptedServer, client: HttpClient, records: list[CallRecord]
) -> None:
    server.script("/videos/9", Reply(404, '{"error": "not found"}'))

    with pytest.raises(ConnectorRejected) as caught:
        client.get("/videos/9")
    assert caught.value.excerpt == '{"error": "not found"}'

    response = client.get("/videos/9", expected=(404,))
    assert response.status_code == 404
    assert records[-1].error is None


def test_client_headers_stay_on_the_base_origin(server: ScriptedServer, client: HttpClient) -> None:
    client.headers["Authorization"] = "Bearer only-for-the-api"
    client.get("/items")
    client.get(f"http://localhost:{server.port}/upload-link")  # another origin (tus host)

    assert server.calls[0].headers.get("Authorization") == "Bearer only-for-the-api"
    assert "Authorization" not in server.calls[1].headers


def test_health_check(server: ScriptedServer, client: HttpClient) -> None:
    server.script("/me", Reply(200), Reply(401, "bad key"))

    assert client.check("/me").ok
    health = client.check("/me")
    assert not health.ok
    assert health.status == 401
    assert "HTTP 401" in health.detail
