"""Live delivery: a message appears for everyone who has the channel open, without reload.

**Server-Sent Events, not WebSocket.** The browser only needs to *receive* live; it sends
through ordinary POSTs (the same forms and CSRF checks as without JavaScript, and the same
JSON API as the apps). SSE is plain HTTP: it runs in the portal's WSGI workers with no
second server or extra library, passes proxies, and ``EventSource`` reconnects by itself
and sends back ``Last-Event-ID``, which is exactly the resume we need. WebSocket would need
an asynchronous server beside Flask for a two-way channel we would use one way.

Each stream is one channel's: its events carry the channel's gapless numbers (see
``models``) as SSE ids, so a client that reconnects with ``Last-Event-ID: 41`` first gets
events 42.. from the database, then the live ones, never twice. The same stream carries a
small ``unread`` event for the person's other channels, to update their unread counts.

**Fan-out.** Posting publishes the event once, after the commit, to the process's hub:
in-process by default (one process, SQLite); through Redis pub/sub when ``VIATIC_REDIS_URL``
is set, so that several gunicorn workers (or servers) share the streams. Each process runs
one listener thread, started on first use (after gunicorn forks), that hands each event to
the queues of its own streams. A stream waiting for events holds no database connection.

Presence (who has a channel open, to notify the others of a direct message or a mention)
is kept the same way: in memory, or in Redis keys that each process renews for all its
streams in one round trip, and that expire shortly after the last stream of a person stops.
An open stream is someone reading only while its page is in view: ``chat.js`` closes the
stream of a page that goes out of view (another tab, a minimised window, a phone's screen
turned off: the Page Visibility API) and says so (``away``), and opens it again, resuming,
when the page comes back. A closed connection alone would be noticed by the server at its
next write only, up to ``KEEPALIVE_SECONDS`` later; so ``away`` goes as an event to every
process, and the one that holds the stream (the page names it, ``tab``) ends it at once,
its presence with it. The person's other tabs keep theirs.

**Workers: gevent.** A stream is a long request that waits most of the time, and an
event must reach hundreds of them at once. In gunicorn's ``gevent`` worker each stream
is a greenlet (a few KiB) and the worker's one thread writes the event to its streams one
after the other, a switch between greenlets each: about 0.1 ms of CPU per stream
(``bench/bench_chat_fanout.py``). With a thread per stream (``gthread``), the same event
woke 250 threads that took the GIL in turn: p99 near a second for 100 streams, and a
worker whose threads were all held by streams left a POST waiting 30 s. The portal's code
is unchanged under gevent (its monkey-patching makes sockets, locks, queues, Redis and
psycopg cooperative), so no second server beside Flask is needed. Run
``gunicorn --worker-class gevent --worker-connections 1000``; the code still works with
threads, where each open stream holds one of them. A stream ends after ``STREAM_SECONDS``
and the browser reconnects at once, so that rights are checked again regularly.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 600.0
PRESENCE_SECONDS = 40
RETRY_MS = 1500
CATCH_UP_RETRY_MS = 50  # a stream cut short after a partial backlog: come back at once
AWAY = "away"  # an event that ends one stream (``away``), never sent to a browser


@dataclass(frozen=True)
class Event:
    """One numbered change of a channel, as every stream of the process receives it."""

    channel_id: int
    seq: int
    kind: str
    message: dict[str, Any]
    # Its text as streams send it, by language: made by the first stream of the process
    # that sends it, then sent as it is by the hundreds of others.
    texts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def dumps(self) -> str:
        return json.dumps(
            {"c": self.channel_id, "s": self.seq, "k": self.kind, "m": self.message},
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, data: str | bytes) -> Event:
        raw = json.loads(data)
        return cls(raw["c"], raw["s"], raw["k"], raw["m"])


class Subscription:
    """One stream's mailbox: the events of the channels it follows."""

    def __init__(self, channels: Iterable[int]) -> None:
        self.channels = frozenset(channels)
        self.queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def get(self, timeout: float) -> Event | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class Hub:
    """The process's streams, by channel; events reach them through ``dispatch``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[int, set[Subscription]] = {}
        self._here: Counter[tuple[int, int]] = Counter()

    def subscribe(self, channels: Iterable[int]) -> Subscription:
        subscription = Subscription(channels)
        with self._lock:
            for channel in subscription.channels:
                self._by_channel.setdefault(channel, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            for channel in subscription.channels:
                streams = self._by_channel.get(channel)
                if streams is not None:
                    streams.discard(subscription)
                    if not streams:
                        del self._by_channel[channel]

    def dispatch(self, event: Event) -> None:
        with self._lock:
            streams = list(self._by_channel.get(event.channel_id, ()))
        for subscription in streams:
            subscription.queue.put(event)

    def publish(self, event: Event) -> None:
        self.dispatch(event)

    def connections(self) -> int:
        with self._lock:
            return len({s for streams in self._by_channel.values() for s in streams})

    # Presence: how many streams of this process each (channel, person) has open.
    def enter(self, channel_id: int, user_id: int) -> bool:
        """Note a stream of ``user_id`` on ``channel_id``; True for the person's first."""
        with self._lock:
            self._here[(channel_id, user_id)] += 1
            return self._here[(channel_id, user_id)] == 1

    def leave(self, channel_id: int, user_id: int) -> bool:
        """Note the end of such a stream; True when it was the person's last."""
        with self._lock:
            self._here[(channel_id, user_id)] -= 1
            if self._here[(channel_id, user_id)] > 0:
                return False
            del self._here[(channel_id, user_id)]
            return True

    def present(self, channel_id: int, user_ids: Iterable[int]) -> set[int]:
        return {u for u in user_ids if (channel_id, u) in self._here}

    def close(self) -> None:
        """Stop what the hub runs (nothing, in process)."""


class RedisHub(Hub):
    """The hub of a process among several: events go through one Redis pub/sub channel
    (every process hears every event and keeps those its own streams follow: a dictionary
    lookup per event; a very large installation would shard the channel by commune)."""

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__()
        import redis

        # A blocking pool: hundreds of streams of a worker share a few connections and wait
        # their turn for one, rather than failing when all are busy.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=20, timeout=5, socket_timeout=5, health_check_interval=30
        )
        self._redis = redis.Redis(connection_pool=pool)
        self._topic = f"{prefix}chat:events"
        self._presence = f"{prefix}chat:present:"
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()

    def subscribe(self, channels: Iterable[int]) -> Subscription:
        self._start()
        return super().subscribe(channels)

    def publish(self, event: Event) -> None:
        self._redis.publish(self._topic, event.dumps())

    def _start(self) -> None:
        with self._lock:
            if self._listener is not None and self._listener.is_alive():
                return
            self._ready.clear()
            self._listener = threading.Thread(target=self._listen, name="chat-redis", daemon=True)
            self._listener.start()
        # A stream must not miss an event published right after it subscribed.
        self._ready.wait(timeout=5)

    def _listen(self) -> None:
        import redis

        while not self._stopping.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._topic)
                self._ready.set()
                renew_at = 0.0
                while not self._stopping.is_set():
                    item = pubsub.get_message(timeout=1.0)
                    if item is not None and item["type"] == "message":
                        self.dispatch(Event.loads(item["data"]))
                    if time.monotonic() >= renew_at:
                        self._renew_presence()
                        renew_at = time.monotonic() + PRESENCE_SECONDS / 3
            except redis.RedisError as error:
                # Streams resume from the database when they reconnect: nothing is lost.
                log.warning("chat: Redis listener lost its connection (%s); retrying", error)
                self._stopping.wait(1.0)
            finally:
                pubsub.close()

    def enter(self, channel_id: int, user_id: int) -> bool:
        first = super().enter(channel_id, user_id)
        if first:
            self._redis.set(f"{self._presence}{channel_id}:{user_id}", 1, ex=PRESENCE_SECONDS)
        return first

    def leave(self, channel_id: int, user_id: int) -> bool:
        last = super().leave(channel_id, user_id)
        if last:
            self._redis.delete(f"{self._presence}{channel_id}:{user_id}")
        return last

    def _renew_presence(self) -> None:
        """Extend the presence keys of this process's streams, all in one round trip (a
        key per stream renewed by the stream itself made hundreds of Redis calls at once,
        just as a message had to go out)."""
        with self._lock:
            here = list(self._here)
        if here:
            with self._redis.pipeline(transaction=False) as pipe:
                for channel_id, user_id in here:
                    pipe.set(f"{self._presence}{channel_id}:{user_id}", 1, ex=PRESENCE_SECONDS)
                pipe.execute()

    def present(self, channel_id: int, user_ids: Iterable[int]) -> set[int]:
        ids = list(user_ids)
        if not ids:
            return set()
        found = self._redis.mget([f"{self._presence}{channel_id}:{u}" for u in ids])
        return {u for u, value in zip(ids, found, strict=True) if value is not None}

    def close(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._redis.close()


_HUB_KEY = "chat.hub"


def hub(app: Flask | None = None) -> Hub:
    """The hub of this app in this process (made on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(_HUB_KEY)
    if found is None:
        url = app.config.get("REDIS_URL")
        prefix = app.config.get("REDIS_PREFIX", "viatic:")
        found = RedisHub(url, prefix) if url else Hub()
        found = app.extensions.setdefault(_HUB_KEY, found)
    return found


def publish(channel_id: int, seq: int, kind: str, message: dict[str, Any]) -> None:
    """Announce an event saved in the database (called after the commit). A failure only
    delays it: the streams find it in the database when they resume."""
    try:
        hub().publish(Event(channel_id, seq, kind, message))
    except Exception:
        log.exception("chat: could not publish event %s of channel %s", seq, channel_id)


def away(channel_id: int, user_id: int, tab: str) -> None:
    """End the stream ``tab`` of ``user_id`` on ``channel_id``, whichever process holds
    it: its page went out of view and closed it (see the module's docstring)."""
    hub().publish(Event(channel_id, 0, AWAY, {"tab": tab, "user": user_id}))


def sse(event: str | None, data: str, event_id: int | None = None) -> str:
    """One Server-Sent Event, as the text of the stream."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def stream(
    subscription: Subscription,
    channel_id: int,
    user_id: int,
    backlog: Iterable[Event],
    render: Callable[[Event], str],
    seen: int,
    backlog_complete: bool = True,
    tab: str | None = None,
) -> Iterator[str]:
    """The text of one stream: the ``backlog`` of events from the database, then live
    events of the open channel, each as ``render(event)`` makes its Server-Sent Event, and
    ``unread`` events for the other channels. Ends after ``STREAM_SECONDS``, or when its
    page, which named it ``tab``, says it went out of view (``away``).

    A client far behind gets its backlog in parts (``services.REPLAY_LIMIT`` events): when
    the backlog is not ``backlog_complete``, the stream ends right after it, asking the
    browser to come back at once; it does so with the last id it got, and the next part
    follows. Going live after a partial backlog would skip the events in between."""
    current = hub()
    try:
        _presence(current.enter, channel_id, user_id)
        yield f"retry: {RETRY_MS}\n\n"
        for event in backlog:
            yield render(event)
            seen = max(seen, event.seq)
        if not backlog_complete:
            yield f"retry: {CATCH_UP_RETRY_MS}\n\n"
            return
        deadline = time.monotonic() + STREAM_SECONDS
        mine = {"tab": tab, "user": user_id}  # the ``away`` that ends this stream
        while time.monotonic() < deadline:
            event = subscription.get(timeout=KEEPALIVE_SECONDS)
            if event is None:
                yield ": ...\n\n"  # keeps proxies from closing an idle stream
            elif event.kind == AWAY:
                if event.channel_id == channel_id and event.message == mine:
                    return
            elif event.channel_id == channel_id:
                if event.seq > seen:  # already sent from the backlog otherwise
                    seen = event.seq
                    yield render(event)
            elif event.kind == "posted" and event.message.get("author_id") != user_id:
                yield sse("unread", json.dumps({"channel": event.channel_id}))
    finally:
        current.unsubscribe(subscription)
        _presence(current.leave, channel_id, user_id)


def _presence(action: Any, channel_id: int, user_id: int) -> None:
    """Note or clear a presence; a failure only costs a notification sent to someone who
    was there, never the stream."""
    try:
        action(channel_id, user_id)
    except Exception as error:
        log.warning("chat: presence not recorded (%s)", error)
