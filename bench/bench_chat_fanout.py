"""Live fan-out of the chat: 500 clients streaming one channel (Server-Sent Events) from two
gunicorn workers that share events through Redis; how long a message takes from its post to
each client, and the memory each open stream costs.

Set-up: a temporary PostgreSQL database, the real Redis (``VIATIC_BENCH_REDIS_URL``, default
``redis://127.0.0.1:6379/15``, with a key prefix of its own), and one gunicorn with
``--workers 2`` of the worker class chosen (``--worker-class``: ``gevent``, as advised, or
``gthread`` with 400 threads, to compare) on loopback: the kernel spreads the connections
over the two workers, and a message posted to one reaches the streams of the
other through Redis. The 500 clients are asyncio connections of this process reading the
stream; messages are posted through the JSON API, one every 0.3 s, each carrying the time it
was sent, and each client notes when it reads it. The same clock serves both.

Printed: p50, p99 and max latency over every (message, client) pair (target p99 < 100 ms on
loopback), messages lost (must be 0), and the workers' resident memory before and after the
500 streams opened, per stream.

Run: ``.venv/bin/python bench/bench_chat_fanout.py [--clients N] [--messages N]
[--worker-class gevent|gthread]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import _common
import requests
from bench_chat_history import build

TARGET_P99_MS = 100.0
REDIS_URL = os.environ.get("VIATIC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
MARK = re.compile(r"bench-(\d+)-(\d+\.\d+)")
# gevent: what the README advises (a greenlet per stream); gthread: a thread per stream,
# the former advice, kept to compare the two in one run.
WORKER_OPTIONS = {
    "gevent": ["--worker-class", "gevent", "--worker-connections", "1000"],
    "gthread": ["--worker-class", "gthread", "--threads", "400"],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (load-independent, unlike latency)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workers_of(master: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = CSRF.search(session.get(f"{base}/connexion", timeout=30).text).group(1)
    session.post(
        f"{base}/connexion",
        data={"email": email, "password": "mot-de-passe-de-test", "csrf_token": token},
        timeout=30,
    )
    return session


async def client(
    port: int,
    path: str,
    cookie: str,
    received: dict,
    refused: dict,
    ready: asyncio.Event,
    counter: list[int],
    total: int,
    done: asyncio.Event,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        f"Cookie: {cookie}\r\n\r\n".encode()
    )
    await writer.drain()
    status = (await reader.readline()).split(b" ")[1:2]
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # the response's headers
    refused[status[0] if status else b"none"] = refused.get(status[0] if status else b"none", 0) + 1
    counter[0] += 1
    if counter[0] == total:
        ready.set()
    # Whole reads, not a line at a time: 500 clients reading an event's lines one by one
    # kept this process busy long enough to add its own delay to what it measured.
    mine = received.setdefault(id(reader), {})
    tail = ""
    while not done.is_set():
        chunk = await reader.read(65536)
        if not chunk:
            break
        now = time.perf_counter()
        text = tail + chunk.decode(errors="replace")
        for found in MARK.finditer(text):
            mine.setdefault(int(found.group(1)), now - float(found.group(2)))
        tail = text[-64:]  # a mark cut between two reads is found in the next
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--worker-class", choices=sorted(WORKER_OPTIONS), default="gevent")
    args = parser.parse_args()
    _common.header(
        f"chat: fan-out to {args.clients} streams on 2 gunicorn {args.worker_class} workers "
        "and Redis"
    )
    with _common.TempPostgres("chatfan") as database:
        if database.url is None:
            _common.pg_skipped("fan-out", database)
            return
        # A few messages, so that the warm-up below renders some (templates, locale data).
        app, channel, _ids = build(database.url, 5)
        _common.dispose(app)
        port = free_port()
        env = {
            **os.environ,
            "VIATIC_DATABASE_URL": database.url,
            "VIATIC_REDIS_URL": REDIS_URL,
            "VIATIC_REDIS_PREFIX": f"viatic-bench-{uuid.uuid4().hex[:8]}:",
            "VIATIC_SECRET_KEY": _common.SECRET,
            "VIATIC_TESTING": "true",  # session cookies without Secure, over plain HTTP
            "VIATIC_ADMIN_TOTP_REQUIRED": "false",
        }
        log_path = Path(tempfile.mkdtemp(prefix="viatic-bench-chat-")) / "gunicorn.log"
        log = log_path.open("wb")
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "--workers",
                "2",
                *WORKER_OPTIONS[args.worker_class],
                "--graceful-timeout",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "core.wsgi:app",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    requests.get(f"{base}/accessibilite", timeout=10)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
            writer = sign_in(base, "maire@bench.fr")
            reader = sign_in(base, "agent@bench.fr")
            cookie = "; ".join(f"{c.name}={c.value}" for c in reader.cookies)
            for _ in range(10):  # the workers' first requests build their caches
                reader.get(f"{base}/c/10145/chat/salon/{channel}", timeout=30)
            workers = workers_of(server.pid)
            before = sum(rss_kib(p) for p in workers)
            results = asyncio.run(
                run_clients(
                    port, channel, cookie, args.clients, args.messages, base, writer, workers
                )
            )
            latencies, lost, after = results
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    errors = log_path.read_text(errors="replace").count("Error handling request")
    print(f"   requests that failed in the workers: {errors} (log: {log_path})")
    stats = sorted(latencies)
    p50 = _common.percentile(stats, 0.50) * 1000
    p99 = _common.percentile(stats, 0.99) * 1000
    print(
        f"   {len(stats):,} deliveries ({args.messages} messages x {args.clients} streams), "
        f"lost {lost}"
    )
    print(
        f"   latency post -> receipt: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {stats[-1] * 1000:.1f} ms (target p99 < {TARGET_P99_MS:.0f} ms: "
        f"{_common.verdict(p99 < TARGET_P99_MS)})"
    )
    print(
        f"   workers' memory: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with the "
        f"streams open: {(after - before) / args.clients:.0f} KiB per stream"
    )


async def run_clients(port, channel, cookie, clients, messages, base, writer, workers):
    received: dict = {}
    statuses: dict = {}
    ready, done = asyncio.Event(), asyncio.Event()
    counter = [0]
    path = f"/c/10145/chat/salon/{channel}/flux"
    tasks = [
        asyncio.create_task(
            client(port, path, cookie, received, statuses, ready, counter, clients, done)
        )
        for _ in range(clients)
    ]
    await asyncio.wait_for(ready.wait(), timeout=120)
    await asyncio.sleep(2)  # every stream subscribed and idle
    after = sum(rss_kib(p) for p in workers)
    token = CSRF.search(writer.get(f"{base}/c/10145/chat/", timeout=30).text).group(1)
    api = f"{base}/api/v1/c/10145/chat/channels/{channel}/messages"

    posts: list[float] = []

    def post_all() -> None:
        for n in range(messages):
            start = time.perf_counter()
            body = f"bench-{n}-{start:.6f}"
            writer.post(api, json={"body": body}, headers={"X-CSRFToken": token}, timeout=30)
            posts.append(time.perf_counter() - start)
            time.sleep(0.3)

    print(f"   {clients} streams open; posting {messages} messages", flush=True)
    poster = threading.Thread(target=post_all)
    cpu_before = [cpu_seconds(p) for p in workers]
    poster.start()
    while poster.is_alive():
        await asyncio.sleep(0.1)
    expected = clients * messages
    deadline = time.monotonic() + 30  # a late delivery counts as late, not lost
    while sum(len(got) for got in received.values()) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    done.set()
    cpu = [cpu_seconds(p) - before for p, before in zip(workers, cpu_before, strict=True)]
    print(
        "   workers' CPU per message (the post and its fan-out, whatever the load): "
        + ", ".join(f"{used / messages * 1000:.1f} ms" for used in cpu)
    )
    for task in tasks:
        task.cancel()
    latencies = [lat for got in received.values() for lat in got.values()]
    lost = clients * messages - len(latencies)
    print(f"   answers to the {clients} stream requests: {statuses}")
    posts.sort()
    print(
        f"   the POSTs themselves: median {_common.percentile(posts, 0.5) * 1000:.1f} ms, "
        f"max {posts[-1] * 1000:.1f} ms"
    )
    return latencies, lost, after


if __name__ == "__main__":
    main()
