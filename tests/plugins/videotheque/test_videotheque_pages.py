"""The Vidéothèque on the platform's own storage: contributing with a chunked, resumable
upload, moderation and captions before publication, the catalogue and its filters, the
video page, ratings and reviews, and what bad input and other communes get."""

from __future__ import annotations

import io

import pytest
from markupsafe import escape
from sqlalchemy import select

from core.db import db
from core.models import AuditEvent
from plugins.videotheque.models import Rating
from tests.plugins.videotheque.helpers import (
    CAPTIONS,
    LIBRARY,
    VIDEO,
    approve,
    contribution,
    count_ratings,
    page,
    says,
    send,
    start,
    upload,
    video,
    videos,
)


def test_a_testimony_is_published_once_uploaded_approved_and_captioned(app, client, village):
    client.login(village.maire.email)
    started = start(client, captions=None)
    assert started.status_code == 201
    upload_url = started.json["upload_url"]
    [row] = videos(app)
    assert row.provider == "videointerne" and row.status == "uploading"

    # The connection breaks; the script asks where to resume and sends the rest from there.
    assert send(client, upload_url, VIDEO[:300_000], 0).status_code == 204
    head = client.head(upload_url)
    assert head.status_code == 204 and head.headers["Upload-Offset"] == "300000"
    stale = send(client, upload_url, VIDEO, 0)  # a chunk for an offset already passed
    assert stale.status_code == 409 and stale.headers["Upload-Offset"] == "300000"
    assert send(client, upload_url, VIDEO, 300_000).status_code == 204
    assert video(app, row.id).status == "ready"

    # Not published: nobody else sees it, the moderator does.
    client.login(village.agent.email)
    assert client.get(f"{LIBRARY}/video/{row.id}").status_code == 404
    assert "Rénover l" not in page(client, f"{LIBRARY}/")
    client.login(village.moderator.email)
    assert says(page(client, f"{LIBRARY}/moderation"), "Rénover l'école sans fermer de classe")
    assert approve(client, row.id).status_code == 302
    assert video(app, row.id).published_at is None  # approved, but no captions yet

    client.login(village.maire.email)
    shown = page(client, f"{LIBRARY}/video/{row.id}")
    assert says(shown, "Elle sera publiée quand ses sous-titres seront ajoutés.")
    added = client.submit(
        f"{LIBRARY}/video/{row.id}/sous-titres",
        {"captions": (io.BytesIO(CAPTIONS), "fr.vtt")},
        page=f"{LIBRARY}/video/{row.id}",
        content_type="multipart/form-data",
    )
    assert added.status_code == 302
    assert video(app, row.id).published_at is not None

    client.login(village.agent.email)
    shown = page(client, f"{LIBRARY}/video/{row.id}")
    assert "<video controls" in shown and 'kind="captions"' in shown
    assert f"{LIBRARY}/video/{row.id}/sous-titres.vtt" in shown
    track = client.get(f"{LIBRARY}/video/{row.id}/sous-titres.vtt")
    assert track.mimetype == "text/vtt" and track.data.startswith(b"WEBVTT")
    assert "Claire Martin, maire" in shown and "Faux-Villecerf" in shown
    with app.app_context():
        actions = list(
            db.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.startswith("videotheque."))
                .order_by(AuditEvent.id)
            )
        )
    assert actions == [
        "videotheque.video.contributed",
        "videotheque.video.uploaded",
        "videotheque.video.approved",
        "videotheque.video.captioned",
        "videotheque.video.published",
    ]


def test_the_file_is_served_with_range_requests_so_a_phone_can_seek(app, client, village):
    client.login(village.maire.email)
    video_id = upload(client)
    client.login(village.moderator.email)
    approve(client, video_id)
    shown = page(client, f"{LIBRARY}/video/{video_id}")
    src = shown.split('<video controls preload="metadata" playsinline src="', 1)[1].split('"')[0]
    middle = len(VIDEO) // 2
    phone = app.test_client()  # the player's own requests; the file address is the credential
    seek = phone.get(src, headers={"Range": f"bytes={middle}-{middle + 999}"})
    assert seek.status_code == 206
    assert seek.headers["Content-Range"] == f"bytes {middle}-{middle + 999}/{len(VIDEO)}"
    assert seek.data == VIDEO[middle : middle + 1000]
    assert seek.mimetype == "video/mp4"
    whole = phone.get(src)
    assert whole.status_code == 200 and whole.data == VIDEO
    assert phone.get(src.replace(src[-32:], "0" * 32)).status_code == 404


def test_a_file_that_is_not_a_video_is_refused_and_nothing_is_kept(app, client, village, tmp_path):
    client.login(village.maire.email)
    text = b"%PDF-1.7 pas une video" + bytes(5000)
    started = start(client, contribution(size=str(len(text))))
    refused = send(client, started.json["upload_url"], text, 0)
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert "n'est pas une vidéo" in refused.json["detail"]
    assert videos(app) == []
    assert not any((tmp_path / "videos").rglob("*.part"))


def test_bad_contributions_get_french_messages_and_store_nothing(app, client, village):
    client.login(village.maire.email)
    app.config["VIDEOTHEQUE_MAX_BYTES"] = 1000
    too_big = start(client, contribution(size="5000"))
    assert too_big.status_code == 400
    assert "dépasse la taille maximale" in too_big.json["errors"]["file"]
    app.config["VIDEOTHEQUE_MAX_BYTES"] = 10**9
    no_consent = start(client, contribution(consent=None, themes=[], title=""))
    assert set(no_consent.json["errors"]) == {"consent", "themes", "title"}
    not_vtt = start(client, captions=b"1\n00:00:01,000 --> 00:00:02,000\nSRT, pas WebVTT\n")
    assert not_vtt.status_code == 400
    assert "n'est pas au format WebVTT" in not_vtt.json["errors"]["captions"]
    bad_times = start(client, captions=b"WEBVTT\n\n00:00.000 -> demain\nFaux\n")
    assert bad_times.status_code == 400
    assert videos(app) == []
    # Without the script, the form answers with the errors tied to their fields.
    html = client.submit(f"{LIBRARY}/contribuer", contribution(title=""))
    assert html.status_code == 400
    assert 'id="title-erreur"' in html.get_data(as_text=True)


def test_members_rate_once_can_change_it_and_moderators_hide_reported_reviews(app, client, village):
    client.login(village.maire.email)
    video_id = upload(client)
    client.login(village.moderator.email)
    approve(client, video_id)
    rate_url = f"{LIBRARY}/video/{video_id}/note"
    show_url = f"{LIBRARY}/video/{video_id}"

    client.login(village.agent.email)
    assert (
        client.submit(
            rate_url, {"stars": "4", "review": "Très concret."}, page=show_url
        ).status_code
        == 302
    )
    assert (
        client.submit(
            rate_url, {"stars": "2", "review": "Finalement, trop long."}, page=show_url
        ).status_code
        == 302
    )
    assert count_ratings(app) == 1
    shown = page(client, show_url)
    assert "2.0 sur 5 (1 note)" in shown and "Finalement, trop long." in shown
    for stars in ("0", "6", "trois", ""):
        refused = client.submit(rate_url, {"stars": stars, "review": ""}, page=show_url)
        assert refused.status_code == 400
        assert says(refused.get_data(as_text=True), "Choisissez une note de 1 à 5 étoiles.")
    html = client.submit(rate_url, {"stars": "5", "review": "<b>Super</b>"}, page=show_url)
    assert html.status_code == 400
    assert says(html.get_data(as_text=True), "sans balises HTML")
    with app.app_context():
        [rating] = db.scalars(select(Rating))
        assert (rating.stars, rating.review) == (2, "Finalement, trop long.")

    client.login(village.maire.email)
    client.submit(rate_url, {"stars": "5", "review": ""}, page=show_url)
    assert "3.5 sur 5 (2 notes)" in page(client, show_url)
    report = f"{LIBRARY}/video/{video_id}/avis/{rating.id}/signaler"
    assert client.submit(report, {}, page=show_url).status_code == 302
    client.login(village.moderator.email)
    queue = page(client, f"{LIBRARY}/moderation")
    assert "Finalement, trop long." in queue
    hide = f"{LIBRARY}/video/{video_id}/avis/{rating.id}/masquer"
    assert (
        client.submit(hide, {"back": "moderation"}, page=f"{LIBRARY}/moderation").status_code == 302
    )
    client.login(village.maire.email)
    shown = page(client, show_url)
    assert "Finalement, trop long." not in shown
    assert "3.5 sur 5 (2 notes)" in shown  # the stars still count
    assert client.submit(hide, {}, page=show_url).status_code == 403


def test_the_catalogue_filters_by_theme_commune_size_and_date(app, client, village):
    client.login(village.maire.email)
    school = upload(client, title="L'école rénovée", themes=["ecole"])
    shop = upload(client, title="L'épicerie du bourg", themes=["commerce"])
    client.login(village.moderator.email)
    approve(client, school)
    approve(client, shop)
    client.login(village.agent.email)
    listing = page(client, f"{LIBRARY}/")
    assert says(listing, "L'école rénovée") and says(listing, "L'épicerie du bourg")
    by_theme = page(client, f"{LIBRARY}/?theme=commerce")
    assert says(by_theme, "L'épicerie du bourg") and not says(by_theme, "L'école rénovée")
    assert says(page(client, f"{LIBRARY}/?q=%C3%A9picerie"), "L'épicerie du bourg")
    assert says(page(client, f"{LIBRARY}/?commune=10145"), "L'école rénovée")
    assert not says(page(client, f"{LIBRARY}/?commune=10124"), "L'école rénovée")
    with app.app_context():
        population = db.get(type(village.commune), village.commune.id).population
    bracket = "moins-500" if population < 500 else "500-1999" if population < 2000 else "2000-9999"
    assert says(page(client, f"{LIBRARY}/?population={bracket}"), "L'école rénovée")
    assert not says(page(client, f"{LIBRARY}/?population=10000-plus"), "L'école rénovée")
    assert not says(page(client, f"{LIBRARY}/?depuis=2999-01-01"), "L'école rénovée")
    assert says(page(client, f"{LIBRARY}/?depuis=2000-01-01&jusqu=2999-01-01"), "L'école rénovée")
    assert page(client, f"{LIBRARY}/?depuis=pas-une-date&page=-3")  # ignored, not a 500
    assert page(client, f"{LIBRARY}/?q=%00%C3%A9picerie&commune=%00&page={10**30}")
    related = page(client, f"{LIBRARY}/video/{school}")
    assert "Sur les mêmes thèmes" not in related  # no other school testimony
    dashboard = page(client, "/c/10145/")
    assert "Nouveaux témoignages" in dashboard and says(dashboard, "L'épicerie du bourg")
    found = page(client, "/c/10145/recherche?q=%C3%A9picerie")
    assert says(found, "L'épicerie du bourg")


def test_a_video_page_shows_its_description_and_testimonies_on_the_same_themes(
    app, client, village
):
    client.login(village.maire.email)
    school = upload(client, title="L'école rénovée", themes=["ecole"])
    canteen = upload(client, title="La cantine bio", themes=["ecole", "sante"])
    shop = upload(client, title="L'épicerie du bourg", themes=["commerce"])
    client.login(village.moderator.email)
    for video_id in (school, canteen, shop):
        approve(client, video_id)
    client.login(village.agent.email)
    shown = page(client, f"{LIBRARY}/video/{school}")
    assert says(shown, "Comment nous avons phasé les travaux.")
    related = shown.split('id="similaires"', 1)[1]
    assert says(related, "La cantine bio") and not says(related, "L'épicerie du bourg")
    assert f"{LIBRARY}/video/{canteen}" in related


def test_a_chunk_past_the_announced_size_is_refused_and_nothing_is_written(app, client, village):
    client.login(village.maire.email)
    url = start(client).json["upload_url"]
    longer = VIDEO + bytes(1000)
    refused = send(client, url, longer, 0, chunk=len(longer))
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "dépasse la taille annoncée" in refused.json["detail"]
    assert client.head(url).headers["Upload-Offset"] == "0"
    assert send(client, url, VIDEO, 0).status_code == 204


def captioned_actions(app) -> int:
    with app.app_context():
        return len(
            db.scalars(
                select(AuditEvent).where(AuditEvent.action == "videotheque.video.captioned")
            ).all()
        )


def send_captions(client, video_id: int, captions: tuple[bytes, str] | None):
    shown = f"{LIBRARY}/video/{video_id}"
    data = {"captions": (io.BytesIO(captions[0]), captions[1])} if captions else {}
    return client.submit(
        f"{shown}/sous-titres", data, page=shown, content_type="multipart/form-data"
    )


def test_captions_refused_for_a_video_waiting_for_them_leave_it_unpublished(app, client, village):
    client.login(village.maire.email)
    started = start(client, captions=None)
    assert send(client, started.json["upload_url"], VIDEO, 0).status_code == 204
    video_id = int(started.json["video_url"].rsplit("/", 1)[1])
    client.login(village.moderator.email)
    approve(client, video_id)
    client.login(village.maire.email)
    srt = b"1\n00:00:01,000 --> 00:00:02,000\nSRT, pas WebVTT\n"
    refused = send_captions(client, video_id, (srt, "fr.srt"))
    assert refused.status_code == 415
    assert says(refused.get_data(as_text=True), "n'est pas au format WebVTT")
    row = video(app, video_id)
    assert row.captions_vtt is None and row.published_at is None
    assert captioned_actions(app) == 0
    # Then the right file publishes it, from the same form.
    assert send_captions(client, video_id, (CAPTIONS, "fr.vtt")).status_code == 302
    assert video(app, video_id).published_at is not None


@pytest.mark.parametrize(
    ("captions", "status", "message"),
    [
        (None, 400, "Choisissez un fichier de sous-titres."),
        ((b"", "fr.vtt"), 400, "Le fichier de sous-titres est vide."),
        (
            (b"1\n00:00:01,000 --> 00:00:02,000\nSRT, pas WebVTT\n", "fr.srt"),
            415,
            "Ce fichier n'est pas au format WebVTT (il doit commencer par « WEBVTT »).",
        ),
        (
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "photo.vtt"),
            415,
            "Le fichier de sous-titres doit être un fichier WebVTT en UTF-8.",
        ),
        (
            (CAPTIONS + b"\n00:02.500 --> 00:61.000\nUne minute de 61 secondes.\n", "fr.vtt"),
            400,
            "Ce fichier WebVTT contient une erreur : vérifiez les horodatages.",
        ),
        (
            (CAPTIONS + "\n00:09.000 --> 00:08.500\nÀ l'envers.\n".encode(), "fr.vtt"),
            400,
            "Le sous-titre n° 2 (00:00:09.000) finit avant de commencer : "
            "vérifiez ses horodatages.",
        ),
        ((b"WEBVTT\n", "fr.vtt"), 400, "Ce fichier WebVTT ne contient aucun sous-titre."),
        (
            (CAPTIONS + b"Encore.\n" * 70_000, "fr.vtt"),
            413,
            "Le fichier de sous-titres dépasse 512 Ko.",
        ),
    ],
    ids=[
        "no-file",
        "empty",
        "srt",
        "not-text",
        "bad-timestamps",
        "ends-before-start",
        "no-cue",
        "too-big",
    ],
)
def test_refused_captions_answer_with_the_page_and_its_error_and_keep_the_video_as_it_was(
    app, client, village, captions, status, message
):
    client.login(village.maire.email)
    video_id = upload(client)  # captioned, waiting for a moderator: the form replaces them
    before = video(app, video_id)
    assert before.captions_vtt == CAPTIONS.decode()

    refused = send_captions(client, video_id, captions)

    assert refused.status_code == status
    html = refused.get_data(as_text=True)
    assert html.count(str(escape(message))) == 2  # in the summary and under the field
    assert 'aria-describedby="captions-erreur"' in html and 'aria-invalid="true"' in html
    assert "<title>Erreur — Rénover l&#39;école sans fermer de classe" in html
    after = video(app, video_id)
    assert (after.captions_vtt, after.status, after.moderation, after.published_at) == (
        before.captions_vtt,
        before.status,
        before.moderation,
        None,
    )
    assert captioned_actions(app) == 0
    track = client.get(f"{LIBRARY}/video/{video_id}/sous-titres.vtt")
    assert track.data == CAPTIONS


def test_another_commune_never_sees_unpublished_videos(
    app, client, village, other_commune, make_member, enable_module
):
    client.login(village.maire.email)
    video_id = upload(client)
    enable_module(other_commune, "videotheque")
    outsider = make_member(other_commune, "maire", name="Autre Maire")
    client.login(outsider.email)
    assert client.get(f"{LIBRARY}/video/{video_id}").status_code == 403
    assert client.get(f"/c/10124/videotheque/video/{video_id}").status_code == 404
    assert client.head(f"/c/10124/videotheque/televersement/{video_id}").status_code == 404
    assert client.get(f"/c/10124/videotheque/video/{video_id}/sous-titres.vtt").status_code == 404
    assert client.get("/c/10124/videotheque/moderation").status_code == 403
    # Once published, the testimony is the platform's: read from the other commune too.
    client.login(village.moderator.email)
    approve(client, video_id)
    client.login(outsider.email)
    assert "<video controls" in page(client, f"/c/10124/videotheque/video/{video_id}")


def test_a_citizen_cannot_contribute_and_the_uploader_alone_sends_the_file(app, client, village):
    client.login(village.habitant.email)
    assert client.get(f"{LIBRARY}/contribuer").status_code == 403
    client.login(village.maire.email)
    started = start(client)
    client.login(village.agent.email)
    assert send(client, started.json["upload_url"], VIDEO, 0).status_code == 404


def test_two_ratings_sent_at_the_same_instant_make_one(app, client, village, monkeypatch):
    """The second click of a double click reads no rating yet (the first is not committed):
    its insert meets the one-per-person constraint and changes the first instead of a 500."""
    from plugins.videotheque import services

    client.login(village.maire.email)
    video_id = upload(client)
    client.login(village.moderator.email)
    approve(client, video_id)
    rate_url = f"{LIBRARY}/video/{video_id}/note"
    show_url = f"{LIBRARY}/video/{video_id}"
    client.login(village.agent.email)
    client.submit(rate_url, {"stars": "4", "review": ""}, page=show_url)
    monkeypatch.setattr(services, "my_rating", lambda video, user: None)  # as the late click
    second = client.submit(rate_url, {"stars": "5", "review": "Très utile."}, page=show_url)
    assert second.status_code == 302
    monkeypatch.undo()
    assert count_ratings(app) == 1
    assert "5.0 sur 5 (1 note)" in page(client, show_url)
