"""The chat's posting throughput and its history pages on a channel of 100,000 messages.

For each backend (PostgreSQL in a temporary database, and SQLite in a temporary file):

- **posting**: ``POST /api/v1/c/10145/chat/channels/<id>/messages`` through the Flask test
  client, signed in, sequentially: messages per second (each one is numbered under the
  channel's row lock, rendered, sanitised, audited-free, notified and committed);
- **history**: the channel filled to 100,000 messages (bulk inserts), then the latest page
  (``GET /c/10145/chat/salon/<id>``: 50 messages, the channel list with unread counts, the
  read marker moved) and older pages through the API (``?before=`` a random message):
  median and p95 server time. Target: p95 < 50 ms.

Run: ``.venv/bin/python bench/bench_chat_history.py [--messages N] [--posts N] [--no-sqlite]``
"""

from __future__ import annotations

import argparse
import random
import time

import _common
from sqlalchemy import insert, select

from core.testing import PASSWORD

TARGET_P95_MS = 50.0
CHUNK = 10_000


def build(url: str, total: int) -> tuple:
    from core import auth, modules
    from core.db import db
    from core.models import Commune, Membership, User
    from plugins.chat import markup
    from plugins.chat.models import Channel, ChannelEvent, Message

    app = _common.make_app(url, ARGON2_PROFILE="CHEAPEST", ADMIN_TOTP_REQUIRED=False)
    with app.app_context():
        commune = Commune(insee="10145", name="Faux-Villecerf", postcodes=[], population=200)
        db.add(commune)
        db.flush()
        people = []
        for n, role in enumerate(("maire", "adjoint", "agent")):
            user = User(email=f"{role}@bench.fr", name=f"{role.title()} {n}")
            auth.set_password(user, PASSWORD)
            db.add(user)
            db.flush()
            db.add(Membership(user_id=user.id, commune_id=commune.id, role=role))
            people.append(user)
        modules.enable(commune, "chat")
        db.commit()
        channel = db.scalar(select(Channel).where(Channel.commune_id == commune.id))
        html = markup.render("Un message de **démonstration** pour remplir le canal.")
        now = time.time()
        for start in range(0, total, CHUNK):
            rows = [
                {
                    "commune_id": commune.id,
                    "channel_id": channel.id,
                    "seq": seq,
                    "author_id": people[seq % 3].id,
                    "author_name": people[seq % 3].name,
                    "body": "Un message de **démonstration** pour remplir le canal.",
                    "html": html,
                }
                for seq in range(start + 1, min(start + CHUNK, total) + 1)
            ]
            db.execute(insert(Message), rows)
        ids = dict(
            db.execute(
                select(Message.seq, Message.id).where(Message.channel_id == channel.id)
            ).all()
        )
        if total:
            db.execute(
                insert(ChannelEvent),
                [
                    {"channel_id": channel.id, "seq": seq, "kind": "posted", "message_id": ids[seq]}
                    for seq in range(1, total + 1)
                ],
            )
        channel.last_seq = total
        db.commit()
        if url.startswith("postgresql"):
            db.execute(__import__("sqlalchemy").text("ANALYZE"))
            db.commit()
        print(f"   {total:,} messages written in {time.time() - now:.1f} s")
        return app, channel.id, sorted(ids.values())


def timed(client, method: str, path: str, **kwargs) -> float:
    start = time.perf_counter()
    response = client.open(path, method=method, **kwargs)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code in (200, 201), (path, response.status_code)
    return elapsed


def run(label: str, url: str, total: int, posts: int, pages: int) -> None:
    print(f"-- {label}")
    app, channel, ids = build(url, total)
    writer, reader = app.test_client(), app.test_client()
    writer.login("maire@bench.fr")
    reader.login("agent@bench.fr")
    api = f"/api/v1/c/10145/chat/channels/{channel}"
    token = writer.csrf_token("/c/10145/chat/")
    start = time.perf_counter()
    for n in range(posts):
        timed(
            writer,
            "POST",
            f"{api}/messages",
            json={"body": f"Message {n} du banc d'essai"},
            headers={"X-CSRFToken": token},
        )
    rate = posts / (time.perf_counter() - start)
    print(f"   posting: {posts} messages, {rate:.0f} messages/s ({1000 / rate:.2f} ms each)")

    page = f"/c/10145/chat/salon/{channel}"
    for _ in range(10):  # warm-up
        timed(reader, "GET", page)
    latest = [timed(reader, "GET", page) for _ in range(pages)]
    rng = random.Random(5)
    older = [timed(reader, "GET", f"{api}/messages?before={rng.choice(ids)}") for _ in range(pages)]
    for name, samples in (("latest page (HTML)", latest), ("older page (API)", older)):
        stats = _common.summary(samples)
        met = _common.verdict(stats["p95"] < TARGET_P95_MS)
        print(
            f"   {name}: median {stats['median']:.2f} ms, p95 {stats['p95']:.2f} ms "
            f"(target p95 < {TARGET_P95_MS:.0f} ms: {met})"
        )
    _common.dispose(app)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    _common.header(f"chat: posting and history on a channel of {args.messages:,} messages")
    with _common.TempPostgres("chat") as database:
        if database.url is None:
            _common.pg_skipped("PostgreSQL", database)
        else:
            run("PostgreSQL", database.url, args.messages, args.posts, args.pages)
    if not args.no_sqlite:
        with _common.temp_dir("chat") as folder:
            run("SQLite", f"sqlite:///{folder / 'chat.db'}", args.messages, args.posts, args.pages)


if __name__ == "__main__":
    main()
