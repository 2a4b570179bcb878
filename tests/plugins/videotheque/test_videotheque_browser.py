"""The swap, in a real Chromium: the same journey — upload with captions (in chunks, with the
progress bar), approve, watch, rate — passes with Vimeo and with the platform's own storage;
and every page of the library passes axe and fits a 360 px screen."""

from __future__ import annotations

import pytest

from plugins.videotheque import services
from tests.plugins.videotheque.helpers import CAPTIONS, LIBRARY, VIDEO, run_job, videos
from tests.test_browser import (  # noqa: F401 - fixtures
    PageChecker,
    chromium_browser,
    new_page,
    sign_in,
    sqlite_only,
)


@pytest.fixture(params=["videointerne", "vimeo"])
def provider_village(request, village):
    """The village on either provider; with Vimeo, the fake is served and chosen."""
    if request.param == "vimeo":
        return request.getfixturevalue("vimeo_village")
    return village


@pytest.mark.browser
@pytest.mark.slow
@sqlite_only
def test_upload_approve_watch_and_rate_with_either_provider(
    app,
    provider_village,
    new_page,  # noqa: F811
    tmp_path,
    monkeypatch,
    request,
):
    from playwright.sync_api import expect

    village = provider_village
    monkeypatch.setattr(services, "CHUNK_BYTES", 150_000)  # several chunks, several steps
    film, captions = tmp_path / "temoignage.mp4", tmp_path / "sous-titres.vtt"
    film.write_bytes(VIDEO)
    captions.write_bytes(CAPTIONS)
    checker = PageChecker(tmp_path)

    page = new_page()
    sign_in(page, village.maire.email)
    if request.node.callspec.params["provider_village"] == "vimeo":
        # The maire, a commune admin, finds the module's page among the modules and tests
        # the token.
        page.goto("/c/10145/admin/modules")
        page.get_by_role("link", name="Connexion à Vimeo").click()
        page.get_by_role("button", name="Tester la connexion").click()
        expect(page.get_by_role("status")).to_contain_text("Connexion réussie au compte Vimeo")
        checker.check(page, "vimeo-connexion")
    page.goto(f"{LIBRARY}/contribuer")
    checker.check(page, "videotheque-contribuer")
    page.get_by_role("button", name="Envoyer le témoignage").click()
    expect(page.get_by_text("Choisissez au moins un thème.")).to_be_visible()
    page.get_by_label("Titre", exact=True).fill("La maison de santé en trois ans")
    page.get_by_label("Qui témoigne").fill("Claire Martin, maire")
    page.get_by_label("Santé et solidarités").check()
    page.get_by_label("Fichier vidéo").set_input_files(str(film))
    page.get_by_label("Sous-titres (WebVTT)").set_input_files(str(captions))
    page.get_by_label("Les personnes filmées ont donné leur accord").check()
    # What the progress bar shows, chunk after chunk, until the page moves to the video.
    shown: list[int] = []
    page.on(
        "console",
        lambda message: (
            shown.append(int(message.text.split()[1]))
            if message.text.startswith("progression ")
            else None
        ),
    )
    page.evaluate(
        """() => { const bar = document.querySelector("progress");
        new MutationObserver(() => console.log("progression " + bar.value))
          .observe(bar, {attributes: true, attributeFilter: ["value"]}); }"""
    )
    page.get_by_role("button", name="Envoyer le témoignage").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("La maison de santé en trois ans")
    assert shown == sorted(shown) and shown[-1] == 100, shown
    assert len([n for n in shown if 0 < n < 100]) >= 2, shown  # several chunks, seen moving
    expect(page.get_by_text("Elle attend la validation d'un modérateur.")).to_be_visible()
    [video] = videos(app)
    assert (
        video.received == len(VIDEO)
        and video.provider == request.node.callspec.params["provider_village"]
    )
    checker.check(page, "videotheque-video-en-attente")

    if video.provider == "vimeo":  # Vimeo transcodes, the job notices it is done
        fake = request.getfixturevalue("fake_vimeo")
        fake.advance(video.provider_ref, 3)
        run_job(app, village.commune)

    moderator = new_page()
    sign_in(moderator, village.moderator.email)
    moderator.goto(f"{LIBRARY}/moderation")
    checker.check(moderator, "videotheque-moderation")
    moderator.get_by_role("button", name="Approuver « La maison de santé en trois ans »").click()
    expect(moderator.get_by_text("Décision enregistrée.")).to_be_visible()

    viewer = new_page()
    sign_in(viewer, village.agent.email)
    viewer.goto(f"{LIBRARY}/")
    checker.check(viewer, "videotheque-catalogue")
    viewer.get_by_role("link", name="La maison de santé en trois ans").click()
    if video.provider == "vimeo":
        expect(
            viewer.locator(f'iframe[src*="player.vimeo.com/video/{video.provider_ref}"]')
        ).to_have_count(1)
    else:
        expect(viewer.locator("video track[kind=captions]")).to_have_count(1)
        duration = viewer.locator("video").evaluate(
            "v => fetch(v.currentSrc || v.src, {headers: {Range: 'bytes=100-199'}})"
            ".then(r => r.status + ' ' + r.headers.get('Content-Range'))"
        )
        assert duration == f"206 bytes 100-199/{len(VIDEO)}"
    viewer.get_by_label("Votre note").select_option("4")
    viewer.get_by_label("Votre avis (facultatif)").fill("Très utile pour notre projet.")
    with viewer.expect_response(lambda r: r.request.method == "POST") as posted:
        viewer.get_by_role("button", name="Noter cette vidéo").click()
    # The answer first: a failure then says whether the rating was refused or not shown.
    assert posted.value.status == 302, viewer.locator("main").inner_text()
    expect(viewer.get_by_role("status")).to_contain_text("Merci, votre note est enregistrée.")
    expect(viewer.get_by_text("4.0 sur 5 (1 note)").first).to_be_visible()
    checker.check(viewer, "videotheque-video")
    assert checker.problems == [], "\n".join(checker.problems)
