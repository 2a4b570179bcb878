"""Helpers of the Vidéothèque's tests: a village of members, a small "video" recognised by
its content, the contribution form and the chunked upload as the page's script sends them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from core.db import db
from plugins.videotheque.models import Rating, Video

LIBRARY = "/c/10145/videotheque"
# An MP4 header ("ftyp" box) then filler: what the type sniffer recognises as a video.
VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 2000
CAPTIONS = b"WEBVTT\n\n00:00.000 --> 00:02.500\nBonjour, je suis la maire.\n"


@dataclass
class Village:
    """Faux-Villecerf with the library on, one person per useful role, a platform admin."""

    commune: Any
    maire: Any
    agent: Any
    habitant: Any
    moderator: Any


def videos(app: Flask) -> list[Video]:
    with app.app_context():
        return list(db.scalars(select(Video).order_by(Video.id)))


def video(app: Flask, video_id: int) -> Video:
    with app.app_context():
        found = db.get(Video, video_id)
        assert found is not None
        db.expunge(found)
        return found


def count_ratings(app: Flask) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(Rating)) or 0


def contribution(**values: Any) -> dict[str, Any]:
    form = {
        "title": "Rénover l'école sans fermer de classe",
        "speaker": "Claire Martin, maire",
        "description": "Comment nous avons phasé les travaux.",
        "themes": ["ecole", "urbanisme"],
        "size": str(len(VIDEO)),
        "consent": "y",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def start(
    client: Any, data: dict[str, Any] | None = None, captions: bytes | None = CAPTIONS
) -> Any:
    """Post the form as the page's script does (fields and size, not the file)."""
    data = dict(data or contribution())
    token = client.csrf_token(f"{LIBRARY}/contribuer")
    data["csrf_token"] = token
    if captions is not None:
        import io

        data["captions"] = (io.BytesIO(captions), "sous-titres.vtt")
    return client.post(
        f"{LIBRARY}/contribuer",
        data=data,
        headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    )


def send(client: Any, upload_url: str, data: bytes, offset: int, chunk: int = 200_000) -> Any:
    """PATCH ``data`` from ``offset`` in chunks, as the script does; returns the last answer."""
    token = client.csrf_token(f"{LIBRARY}/")
    response = None
    while offset < len(data):
        piece = data[offset : offset + chunk]
        response = client.patch(
            upload_url,
            data=piece,
            headers={
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "X-CSRFToken": token,
            },
        )
        if response.status_code != 204:
            return response
        offset = int(response.headers["Upload-Offset"])
    return response


def upload(client: Any, data: bytes = VIDEO, **values: Any) -> int:
    """Contribute a testimony and send its whole file; returns the video's id."""
    started = start(client, contribution(size=str(len(data)), **values))
    assert started.status_code == 201, started.get_data(as_text=True)
    answer = send(client, started.json["upload_url"], data, 0)
    assert answer.status_code == 204, answer.get_data(as_text=True)
    return int(started.json["video_url"].rsplit("/", 1)[1])


def approve(client: Any, video_id: int) -> Any:
    return client.submit(
        f"{LIBRARY}/video/{video_id}/moderation",
        {"decision": "approve"},
        page=f"{LIBRARY}/moderation",
    )


def says(html: str, message: str) -> bool:
    return str(escape(message)) in html or message in html


def page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.get_data(as_text=True)


def run_job(app: Flask, commune: Any) -> int:
    """The scheduled job, as the scheduler runs it: an app context, no request."""
    from core.models import Commune
    from plugins.videotheque import services

    with app.app_context():
        return services.refresh_commune(db.get(Commune, commune.id))


def an_hour_later(app: Flask) -> None:
    """As if the job last asked about the playable videos over an hour ago (it asks about
    them once an hour): its next run asks again."""
    with app.app_context():
        for found in db.scalars(select(Video).where(Video.checked_at.is_not(None))):
            found.checked_at -= dt.timedelta(minutes=61)
        db.commit()


class TrackedSession(requests.Session):
    """An HTTP session that remembers whether it was closed (and with it its connections)."""

    def __init__(self, made: list[TrackedSession]) -> None:
        super().__init__()
        self.was_closed = False
        made.append(self)

    def close(self) -> None:
        self.was_closed = True
        super().close()
