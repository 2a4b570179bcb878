"""A lesson of the platform's courses shows a testimony of the Vidéothèque: the author picks
it (or pastes its address), the lesson plays it through the provider that holds it, with its
captions, and says so when the video was withdrawn, removed or lost by its host."""

from __future__ import annotations

from sqlalchemy import delete

from core.db import db
from plugins.videotheque.models import Video
from tests.plugins.academie.helpers import contributed, lessons, page, says
from tests.plugins.academie.test_academie_inhouse import AUTHOR, in_house, write_lesson
from tests.plugins.videotheque import helpers as library
from tests.plugins.videotheque.helpers import CAPTIONS, VIDEO

UNAVAILABLE = "La vidéo de cette leçon n'est pas disponible pour le moment."
REMOVED = "La vidéo de cette leçon a été retirée de la vidéothèque."


def test_a_lesson_plays_a_testimony_with_its_captions_and_says_when_it_is_gone(
    app, client, village, make_member, enable_module, tmp_path
):
    app.config["VIDEO_STORAGE_PATH"] = str(tmp_path / "videos")
    course = in_house(app, village, make_member, enable_module, client)  # client: the author
    video_id = contributed(app, village, enable_module)
    assert library.approve(client, video_id).status_code == 302
    [(first, _none), (second, _none)] = lessons(app, course)

    form = page(client, f"{AUTHOR}/{course}/lecon/{first}")
    assert "Reprendre les concessions abandonnées — Faux-Villecerf" in form
    saved = write_lesson(client, course, "Les concessions", lesson=first, video_id=str(video_id))
    assert saved.status_code == 303, saved.get_data(as_text=True)
    # The address of the video's page, as read under another commune, does as well.
    pasted = f"http://localhost/c/10124/videotheque/video/{video_id}?retour=1"
    saved = write_lesson(client, course, "La reprise", lesson=second, video_link=pasted)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    assert lessons(app, course) == [(first, video_id), (second, video_id)]

    learner = app.test_client()
    learner.login(village.adjoint.email)
    lesson_url = f"/c/10145/lms/cours/{course}/lecon/1"
    html = page(learner, lesson_url)
    assert "Vidéo : Reprendre les concessions abandonnées" in html
    src = html.split('playsinline src="', 1)[1].split('"')[0]
    assert src.startswith("/c/10145/videointerne/fichier/")
    track = f'src="{lesson_url}/sous-titres.vtt"'
    assert 'kind="captions"' in html and track in html
    captions = learner.get(f"{lesson_url}/sous-titres.vtt")
    assert captions.status_code == 200 and captions.mimetype == "text/vtt"
    assert captions.data == CAPTIONS
    middle = learner.get(src, headers={"Range": f"bytes={len(VIDEO) // 2}-"})
    assert middle.status_code == 206 and middle.data == VIDEO[len(VIDEO) // 2 :]
    # The captions are the lesson's: no one outside the commune's officials reads them.
    stranger = app.test_client()
    stranger.login(village.habitant.email)
    assert stranger.get(f"{lesson_url}/sous-titres.vtt").status_code == 403

    # A moderator withdraws the video from the library: the lesson says it cannot play.
    withdrawn = client.submit(
        f"/c/10145/videotheque/video/{video_id}/moderation",
        {"decision": "reject"},
        page="/c/10145/videotheque/moderation",
    )
    assert withdrawn.status_code == 302
    html = page(learner, lesson_url)
    assert says(html, UNAVAILABLE) and "<video" not in html
    assert learner.get(f"{lesson_url}/sous-titres.vtt").status_code == 404
    # The author can keep it (saving the lesson unchanged) but not choose it again elsewhere.
    form = page(client, f"{AUTHOR}/{course}/lecon/{first}")
    assert says(form, "La vidéo actuelle (indisponible)")
    kept = write_lesson(client, course, "Les concessions", lesson=first, video_id=str(video_id))
    assert kept.status_code == 303
    refused = write_lesson(client, course, "Autre", video_id=str(video_id))
    assert refused.status_code == 400
    assert says(refused.get_data(as_text=True), "Choisissez une vidéo publiée de la liste.")

    with app.app_context():
        db.execute(delete(Video).where(Video.id == video_id))
        db.commit()
    html = page(learner, lesson_url)
    assert says(html, REMOVED) and "<video" not in html
    assert lessons(app, course) == [(first, video_id), (second, video_id)]


def test_bad_video_choices_are_refused_and_nothing_is_written(
    app, client, village, make_member, enable_module, tmp_path
):
    app.config["VIDEO_STORAGE_PATH"] = str(tmp_path / "videos")
    course = in_house(app, village, make_member, enable_module, client)
    video_id = contributed(app, village, enable_module)  # not approved: not published
    [(first, _none), _second] = lessons(app, course)
    for fields, message in [
        ({"video_id": str(video_id)}, "Choisissez une vidéo publiée de la liste."),
        ({"video_id": "99999999999999999999"}, "Choisissez une vidéo publiée de la liste."),
        ({"video_id": "abc"}, "Choisissez une vidéo publiée de la liste."),
        (
            {"video_link": f"/c/10145/videotheque/video/{video_id}"},
            "Cette adresse n'est pas celle d'une vidéo publiée de la vidéothèque.",
        ),
        (
            {"video_link": "https://vimeo.com/123456"},
            "Cette adresse n'est pas celle d'une vidéo publiée de la vidéothèque.",
        ),
    ]:
        refused = write_lesson(client, course, "Les concessions", lesson=first, **fields)
        assert refused.status_code == 400, fields
        assert says(refused.get_data(as_text=True), message), fields
    assert lessons(app, course)[0] == (first, None)


def test_a_lesson_plays_a_vimeo_testimony_in_vimeo_s_player_until_vimeo_loses_it(
    app, client, village, make_member, enable_module, fake_vimeo, tmp_path
):
    app.config["VIMEO_API_URL"] = fake_vimeo.base_url
    course = in_house(app, village, make_member, enable_module, client)
    admin = app.test_client()
    admin.login(village.maire.email)
    enable_module(village.commune, "vimeo")
    saved = admin.submit(
        "/c/10145/admin/modules/vimeo/reglages",
        {"access_token": fake_vimeo.token, "folder_id": "", "showcase_id": ""},
    )
    assert saved.status_code == 302
    video_id = contributed(app, village, enable_module, host="vimeo")
    ref = library.video(app, video_id).provider_ref
    fake_vimeo.advance(ref, 3)
    library.approve(client, video_id)
    library.run_job(app, village.commune)
    first = lessons(app, course)[0][0]
    write_lesson(client, course, "Les concessions", lesson=first, video_id=str(video_id))

    learner = app.test_client()
    learner.login(village.conseiller.email)
    lesson_url = f"/c/10145/lms/cours/{course}/lecon/1"
    html = page(learner, lesson_url)
    assert f'src="https://player.vimeo.com/video/{ref}?texttrack=fr' in html
    assert library.video(app, video_id).provider == "vimeo"

    fake_vimeo.remove(ref)  # deleted by someone on vimeo.com
    library.an_hour_later(app)
    library.run_job(app, village.commune)
    html = page(learner, lesson_url)
    assert says(html, UNAVAILABLE) and "player.vimeo.com" not in html
