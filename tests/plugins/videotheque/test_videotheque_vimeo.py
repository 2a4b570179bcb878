"""The Vidéothèque on Vimeo (the fake, over loopback): the file streams through the portal
to Vimeo's tus endpoint, the scheduled job follows the transcoding, captions become a text
track; a 429 waited out, Vimeo down during an upload, a refused file or a refused start
that leave nothing at Vimeo, a video deleted on Vimeo, and the switch to the platform's own
storage, after which the older Vimeo videos still play."""

from __future__ import annotations

from connectors.http import BREAKERS
from tests.plugins.videotheque.helpers import (
    CAPTIONS,
    LIBRARY,
    VIDEO,
    an_hour_later,
    approve,
    contribution,
    page,
    run_job,
    says,
    send,
    start,
    upload,
    video,
    videos,
)


def test_a_testimony_streams_to_vimeo_and_is_published_once_transcoded(
    app, client, vimeo_village, fake_vimeo
):
    client.login(vimeo_village.maire.email)
    video_id = upload(client)
    row = video(app, video_id)
    assert row.provider == "vimeo" and row.status == "processing"
    held = fake_vimeo.videos[row.provider_ref]
    assert bytes(held.data) == VIDEO
    portal = (app.config.get("SERVER_NAME") or "localhost").split(":")[0]
    assert held.embed == "private" and held.domains == [portal]  # a whitelist of one domain
    assert held.folders == ["77"] and held.showcases == ["4242"]
    [track] = held.texttracks
    assert track["content"] == CAPTIONS and track["language"] == "fr"

    client.login(vimeo_village.moderator.email)
    approve(client, video_id)
    assert run_job(app, vimeo_village.commune) == 0  # still transcoding at Vimeo
    assert video(app, video_id).published_at is None
    fake_vimeo.advance(row.provider_ref, 2)
    assert run_job(app, vimeo_village.commune) == 1
    assert video(app, video_id).published_at is not None

    client.login(vimeo_village.agent.email)
    shown = page(client, f"{LIBRARY}/video/{video_id}")
    assert f'src="https://player.vimeo.com/video/{row.provider_ref}?texttrack=fr' in shown


def test_vimeo_down_during_an_upload_then_the_upload_resumes(
    app, client, vimeo_village, fake_vimeo
):
    client.login(vimeo_village.maire.email)
    started = start(client)
    url = started.json["upload_url"]
    assert send(client, url, VIDEO[:100_000], 0).status_code == 204
    fake_vimeo.down = True
    down = send(client, url, VIDEO, 100_000)
    assert down.status_code == 503 and down.mimetype == "application/problem+json"
    assert "reprendra" in down.json["detail"]
    fake_vimeo.down = False
    BREAKERS.clear()  # the breaker would let the next call through after its pause
    offset = int(client.head(url).headers["Upload-Offset"])
    assert offset == 100_000
    assert send(client, url, VIDEO, offset).status_code == 204
    [held] = fake_vimeo.videos.values()
    assert bytes(held.data) == VIDEO


def test_a_rate_limited_vimeo_is_waited_for_then_the_upload_goes_through(
    app, client, vimeo_village, fake_vimeo
):
    client.login(vimeo_village.maire.email)
    fake_vimeo.rate_limit(1, reset="iso")  # the creation of the video answers 429 first
    video_id = upload(client)
    assert [exchange.status for exchange in fake_vimeo.exchanges].count(429) == 1
    assert bytes(fake_vimeo.videos[video(app, video_id).provider_ref].data) == VIDEO


def test_a_file_that_is_not_a_video_leaves_nothing_at_vimeo(app, client, vimeo_village, fake_vimeo):
    client.login(vimeo_village.maire.email)
    text = b"%PDF-1.7 pas une video" + bytes(5000)
    started = start(client, contribution(size=str(len(text))))
    assert started.status_code == 201 and len(fake_vimeo.videos) == 1
    refused = send(client, started.json["upload_url"], text, 0)
    assert refused.status_code == 422 and "n'est pas une vidéo" in refused.json["detail"]
    assert videos(app) == [] and fake_vimeo.videos == {}


def test_an_upload_vimeo_cannot_start_is_kept_neither_here_nor_there(
    app, client, vimeo_village, fake_vimeo
):
    client.login(vimeo_village.maire.email)
    fake_vimeo.refuse_next(403, "legacy", after=1)  # the video is created, its embed refused
    refused = start(client)
    assert refused.status_code == 400
    assert "momentanément indisponible" in refused.json["errors"]["file"]
    assert videos(app) == [] and fake_vimeo.videos == {}
    fake_vimeo.down = True
    down = start(client)
    assert down.status_code == 400
    assert "momentanément indisponible" in down.json["errors"]["file"]
    assert videos(app) == [] and fake_vimeo.videos == {}


def test_a_video_deleted_on_vimeo_shows_as_unavailable(app, client, vimeo_village, fake_vimeo):
    client.login(vimeo_village.maire.email)
    video_id = upload(client)
    ref = video(app, video_id).provider_ref
    fake_vimeo.advance(ref, 3)
    client.login(vimeo_village.moderator.email)
    approve(client, video_id)
    run_job(app, vimeo_village.commune)
    fake_vimeo.remove(ref)
    # A playable video is asked about once an hour, not at each run (Vimeo counts the calls).
    run_job(app, vimeo_village.commune)
    client.login(vimeo_village.agent.email)
    assert "player.vimeo.com" in page(client, f"{LIBRARY}/video/{video_id}")
    an_hour_later(app)
    run_job(app, vimeo_village.commune)
    shown = page(client, f"{LIBRARY}/video/{video_id}")
    assert "Vidéo indisponible" in shown and "player.vimeo.com" not in shown


def test_after_the_switch_new_videos_stay_home_and_older_vimeo_videos_still_play(
    app, client, vimeo_village, fake_vimeo
):
    client.login(vimeo_village.maire.email)
    old = upload(client, title="Sur Vimeo")
    fake_vimeo.advance(video(app, old).provider_ref, 3)
    switched = client.submit(
        "/c/10145/admin/fournisseurs/video",
        {"video-provider": "videointerne"},
        page="/c/10145/admin/modules",
    )
    assert switched.status_code == 302
    new = upload(client, title="Chez nous")
    assert video(app, new).provider == "videointerne"
    client.login(vimeo_village.moderator.email)
    approve(client, old)
    approve(client, new)
    run_job(app, vimeo_village.commune)
    client.login(vimeo_village.agent.email)
    assert "player.vimeo.com/video/" in page(client, f"{LIBRARY}/video/{old}")
    assert "<video controls" in page(client, f"{LIBRARY}/video/{new}")


def test_the_token_is_kept_secret_and_the_connection_is_tested(
    app, client, vimeo_village, fake_vimeo
):
    client.login(vimeo_village.maire.email)
    settings = page(client, "/c/10145/admin/modules/vimeo/reglages")
    assert fake_vimeo.token not in settings
    modules = page(client, "/c/10145/admin/modules")
    assert "En panne" not in modules
    fake_vimeo.token = "un-autre-jeton"
    assert says(page(client, "/c/10145/admin/modules"), "Vimeo refuse ce jeton")


def test_tester_la_connexion_says_what_vimeo_thinks_of_a_token_and_saves_nothing(
    app, client, vimeo_village, fake_vimeo, monkeypatch
):
    from plugins.vimeo import provider

    url = "/c/10145/vimeo/connexion"
    client.login(vimeo_village.agent.email)
    assert client.get(url).status_code == 403  # commune admins only
    client.login(vimeo_village.maire.email)
    assert says(page(client, url), "Tester la connexion")

    def test(token: str = "") -> str:
        answer = client.submit(url, {"access_token": token})
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        assert fake_vimeo.token not in html and (not token or token not in html)
        return html

    recorded = audit_count(app)
    assert says(test(), "Connexion réussie au compte Vimeo « Mairie de Faux-Villecerf ».")
    assert says(test("jeton-colle-par-erreur"), "Vimeo refuse ce jeton")
    # The stored token was neither replaced nor forgotten by the test of another one.
    assert says(test(), "Connexion réussie")
    assert says(test(fake_vimeo.token), "Connexion réussie")
    fake_vimeo.scopes = {"public", "private", "edit"}
    assert says(test(), "il lui manque les droits delete, interact, upload.")
    fake_vimeo.scopes |= {"delete", "interact", "upload"}
    fake_vimeo.rate_limit()
    assert says(test(), "Vimeo limite le nombre d'appels de ce compte")
    fake_vimeo.down = True
    assert says(test(), "Vimeo ne répond pas, ou trop lentement")
    fake_vimeo.down = False
    monkeypatch.setattr(provider, "TEST_TIMEOUT", (2.0, 0.2))
    fake_vimeo.delay = 0.5
    assert says(test(), "Vimeo ne répond pas, ou trop lentement")
    assert audit_count(app) == recorded  # a test changes nothing


def test_tester_la_connexion_without_any_token_says_where_to_put_one(
    client, village, enable_module
):
    enable_module(village.commune, "vimeo")
    client.login(village.maire.email)
    answer = client.submit("/c/10145/vimeo/connexion", {"access_token": ""})
    assert says(answer.get_data(as_text=True), "Saisissez un jeton à tester")


def audit_count(app) -> int:
    with app.app_context():
        from sqlalchemy import func, select

        from core.db import db
        from core.models import AuditEvent

        return db.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_no_connection_to_vimeo_is_left_open_after_a_request_a_job_or_a_copy(
    app, client, vimeo_village, fake_vimeo, viatic, http_sessions
):
    """The core builds a provider at each use and never closes it: a session the provider
    left open would hold its connection to Vimeo (kept alive by Vimeo, unlike the fake)
    until the garbage collector came by, one per page, chunk and job run."""
    client.login(vimeo_village.maire.email)
    video_id = upload(client)  # started, sent in chunks, captioned, asked about
    ref = video(app, video_id).provider_ref
    client.login(vimeo_village.moderator.email)
    approve(client, video_id)
    fake_vimeo.advance(ref, 2)
    assert run_job(app, vimeo_village.commune) == 1
    assert f"player.vimeo.com/video/{ref}" in page(client, f"{LIBRARY}/video/{video_id}")
    moved = viatic("videotheque", "deplacer", "10145")  # the file read back from Vimeo
    assert moved.exit_code == 0, moved.output
    assert len(http_sessions) >= 4  # the upload, the job, the copy: Vimeo was called
    assert [session for session in http_sessions if not session.was_closed] == []
