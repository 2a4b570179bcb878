"""Demo testimonies for ``viatic demo``: three published videos with their captions, stored
on the platform's own disk (the demo has no Vimeo account), when the in-house hosting is
enabled. The files are tiny placeholders with a video header: the pages, the search and the
ratings work, the player has nothing to play."""

from __future__ import annotations

import io

from sqlalchemy import select

from core import toolkit
from plugins.videotheque.models import APPROVED, READY, Video, VideoTheme

CAPTIONS = "WEBVTT\n\n00:00.000 --> 00:04.000\nBonjour, je suis maire d'une commune rurale.\n"
# An MP4 "ftyp" box: enough for the type to be recognised by content.
PLACEHOLDER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(1000)
TESTIMONIES = (
    ("Une cantine bio et locale en deux ans", "Marie Lenoir, maire", ("ecole", "transition")),
    ("Revitaliser le centre-bourg avec une épicerie", "Jean Morel, adjoint", ("commerce",)),
    (
        "Budget participatif : notre première édition",
        "Inès Haddad, conseillère",
        ("participation", "finances"),
    ),
)


def add(commune: toolkit.Commune) -> None:
    try:
        provider = toolkit.capability(commune, "video", provider="videointerne")
    except toolkit.CapabilityUnavailable:
        return
    for title, speaker, themes in TESTIMONIES:
        exists = toolkit.db.scalar(
            select(Video.id).where(Video.commune_id == commune.id, Video.title == title)
        )
        if exists:
            continue
        upload = provider.start_upload(len(PLACEHOLDER), title, "")
        provider.upload_chunk(upload, 0, io.BytesIO(PLACEHOLDER), len(PLACEHOLDER))
        now = toolkit.utcnow()
        toolkit.db.add(
            Video(
                commune_id=commune.id,
                title=title,
                description="Témoignage de démonstration.",
                speaker=speaker,
                consent_at=now,
                provider=provider.name,
                provider_ref=upload.ref,
                size=len(PLACEHOLDER),
                received=len(PLACEHOLDER),
                status=READY,
                moderation=APPROVED,
                moderated_at=now,
                captions_vtt=CAPTIONS,
                published_at=now,
                themes=[VideoTheme(theme=t) for t in themes],
            )
        )
    toolkit.db.flush()
