"""For the live tests: a small Server-Sent Events client (what a browser's EventSource
does, over a real socket), a signed-in HTTP session, and what they read of the app: who
is present on a channel, who was mailed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from core.testing import PASSWORD
from plugins.chat import live

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
MENTIONED = "Claire Martin vous mentionne dans « Équipe municipale »"


@dataclass
class ServerEvent:
    id: str | None
    event: str
    data: str


class EventStream:
    """One open stream; ``next_event()`` returns the next event (comments skipped)."""

    def __init__(self, session: requests.Session, url: str, last_event_id: str | None = None):
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.response = session.get(url, headers=headers, stream=True, timeout=(5, 30))
        self.response.raise_for_status()
        self._lines: Iterator[str] = self._read_lines()

    def _read_lines(self) -> Iterator[str]:
        # Not requests' iter_lines(): it splits decoded text with str.splitlines() chunk by
        # chunk, so a chunk ending between "\r" and "\n" (or inside a character) gave an
        # empty line that cut an event short under load. Bytes are split on LF here.
        pending = b""
        for chunk in self.response.iter_content(chunk_size=None):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.removesuffix(b"\r").decode("utf-8")

    def next_event(self) -> ServerEvent:
        event_id, kind, data = None, "message", []
        for line in self._lines:
            if line == "":
                if data:
                    return ServerEvent(event_id, kind, "\n".join(data))
                event_id, kind, data = None, "message", []
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "id":
                event_id = value
            elif field == "event":
                kind = value
            elif field == "data":
                data.append(value)
        raise EOFError("the stream ended")

    def next_of(self, *kinds: str) -> ServerEvent:
        while True:
            event = self.next_event()
            if event.event in kinds:
                return event

    def close(self) -> None:
        self.response.close()


def signed_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/connexion", timeout=30)
    token = CSRF.search(page.text).group(1)
    answer = session.post(
        f"{base}/connexion",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, f"login of {email} failed ({answer.status_code})"
    return session


def api_post(session: requests.Session, base: str, channel_id: int, body: str) -> dict:
    page = session.get(f"{base}/c/10145/chat/", timeout=30)
    token = CSRF.search(page.text).group(1)
    answer = session.post(
        f"{base}/api/v1/c/10145/chat/channels/{channel_id}/messages",
        json={"body": body},
        headers={"X-CSRFToken": token},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def start_direct(session: requests.Session, base: str, *member_ids: int) -> int:
    """Open the direct conversation with ``member_ids`` through its form; returns its id."""
    form = session.get(f"{base}/c/10145/chat/nouvelle-conversation", timeout=30)
    opened = session.post(
        f"{base}/c/10145/chat/nouvelle-conversation",
        data={"members": [str(i) for i in member_ids], "csrf_token": CSRF.search(form.text)[1]},
        allow_redirects=False,
        timeout=30,
    )
    assert opened.status_code == 302, opened.text
    return int(opened.headers["Location"].rsplit("/", 1)[1])


def wait_until_present(app, channel_id: int, user_id: int, present: bool = True) -> None:
    """Wait for a stream just opened to record its presence (it does so as it starts), or
    with ``present=False`` for the person's last stream to end; fails after 10 s."""
    hub = live.hub(app)
    deadline = time.monotonic() + 10
    while bool(hub.present(channel_id, [user_id])) != present:
        assert time.monotonic() < deadline, f"presence of {user_id} is not {present}"
        time.sleep(0.05)


def say_away(session: requests.Session, base: str, channel_id: int, tab: object) -> Any:
    """What ``chat.js`` sends when its page goes out of view: the stream ``tab`` stops."""
    token = CSRF.search(session.get(f"{base}/c/10145/chat/", timeout=30).text).group(1)
    return session.post(
        f"{base}/c/10145/chat/salon/{channel_id}/flux/absent",
        json={"onglet": tab},
        headers={"X-CSRFToken": token},
        timeout=30,
    )


def mailed(app, person) -> list[str]:
    """The subjects of the e-mails sent to ``person`` (the development mailbox)."""
    from sqlalchemy import select

    from core.db import db
    from core.models import EmailMessage

    with app.app_context():
        return list(
            db.scalars(select(EmailMessage.subject).where(EmailMessage.recipient == person.email))
        )
