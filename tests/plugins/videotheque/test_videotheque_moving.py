"""``viatic videotheque deplacer``: a commune's Vimeo videos copied to the platform's own
disk one by one and switched over; a copy cut short resumes from the bytes already there,
and running the command again moves nothing twice."""

from __future__ import annotations

from tests.plugins.videotheque.helpers import (
    LIBRARY,
    VIDEO,
    approve,
    page,
    run_job,
    upload,
    video,
)


def test_the_videos_move_from_vimeo_to_the_platform_and_still_play(
    app, client, vimeo_village, fake_vimeo, monkeypatch, viatic
):
    from plugins.videotheque import services

    monkeypatch.setattr(services, "CHUNK_BYTES", 100_000)
    client.login(vimeo_village.maire.email)
    first, second = upload(client, title="Première"), upload(client, title="Seconde")
    for video_id in (first, second):
        fake_vimeo.advance(video(app, video_id).provider_ref, 3)
    client.login(vimeo_village.moderator.email)
    approve(client, first)
    approve(client, second)
    run_job(app, vimeo_village.commune)

    fake_vimeo.cut_next_download = 250_000  # the first copy stops short
    cut = viatic("videotheque", "deplacer", "10145")
    assert cut.exit_code == 1, cut.output
    assert "1 vidéo(s) déplacée(s), 1 à reprendre." in cut.output
    assert video(app, first).provider == "vimeo"  # not switched while incomplete
    assert video(app, first).move_provider == "videointerne"
    assert video(app, second).provider == "videointerne"

    again = viatic("videotheque", "deplacer", "10145")
    assert again.exit_code == 0, again.output
    assert "1 vidéo(s) déplacée(s), 0 à reprendre." in again.output
    moved = video(app, first)
    assert moved.provider == "videointerne" and moved.move_ref is None
    assert viatic("videotheque", "deplacer", "10145").output.startswith("0 vidéo")

    client.login(vimeo_village.agent.email)
    shown = page(client, f"{LIBRARY}/video/{first}")
    src = shown.split('playsinline src="', 1)[1].split('"')[0]
    assert client.get(src).data == VIDEO  # the very bytes, resumed from the cut
    assert 'kind="captions"' in shown

    unknown = viatic("videotheque", "deplacer", "99999")
    assert unknown.exit_code != 0 and "Commune inconnue : 99999." in unknown.output


def test_the_copy_command_explains_itself_in_plain_french(viatic):
    listed = viatic("--help")
    assert listed.exit_code == 0 and "videotheque" in listed.output
    group = viatic("videotheque", "--help")
    assert group.exit_code == 0 and "deplacer" in group.output
    explained = viatic("videotheque", "deplacer", "--help")
    assert explained.exit_code == 0
    text = " ".join(explained.output.split())  # as read, whatever the terminal's width
    assert "Copie les vidéos de la commune INSEE" in text
    assert "reprend là où elle s'était arrêtée" in text
    assert "--vers" in text and "videointerne" in text


def test_a_copy_the_target_cannot_start_is_left_to_resume_and_its_source_closed(
    app, client, vimeo_village, fake_vimeo, viatic, tmp_path, http_sessions
):
    client.login(vimeo_village.maire.email)
    video_id = upload(client)
    fake_vimeo.advance(video(app, video_id).provider_ref, 3)
    run_job(app, vimeo_village.commune)
    (tmp_path / "videos").mkdir(exist_ok=True)
    (tmp_path / "videos" / "10145").write_bytes(b"")  # a file where the folder should be

    refused = viatic("videotheque", "deplacer", "10145")

    assert refused.exit_code == 1, refused.output
    assert "0 vidéo(s) déplacée(s), 1 à reprendre." in refused.output
    assert video(app, video_id).provider == "vimeo" and video(app, video_id).move_ref is None
    assert http_sessions and all(session.was_closed for session in http_sessions)

    (tmp_path / "videos" / "10145").unlink()
    again = viatic("videotheque", "deplacer", "10145")
    assert again.exit_code == 0, again.output
    assert video(app, video_id).provider == "videointerne"
