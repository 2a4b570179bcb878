"""The same journey in a real Chromium whichever provider serves the courses: an official
finds a course, enrols, follows it, sees their progress; axe-core finds no violation and
nothing scrolls sideways at 360 px."""

from __future__ import annotations

import pytest

from tests.plugins.academie.helpers import FORMATIONS, deliver
from tests.plugins.academie.test_academie_inhouse import in_house, write_lesson
from tests.test_browser import (  # noqa: F401 - fixtures
    PageChecker,
    chromium_browser,
    new_page,
    sign_in,
    sqlite_only,
)


@pytest.fixture(params=["chamilo", "lms"])
def provider(request, app, client, village, make_member, enable_module):
    """The commune's courses, served by the fake Chamilo or by the platform's own courses;
    ``finish()`` does what the provider does behind the page after an enrolment."""
    if request.param == "chamilo":
        served = request.getfixturevalue("on_chamilo")
        title = "Le budget communal"

        def finish() -> None:
            deliver(app)
            served.fake.set_progress(f"viatic-{village.adjoint.id}", 1, 100)
            from tests.plugins.academie.helpers import run_job

            run_job(app, "academie.progress")
    else:
        in_house(app, village, make_member, enable_module, client)
        title = "Les cimetières"

        def finish() -> None:
            lesson = app.test_client()
            lesson.login(village.adjoint.email)
            from tests.plugins.academie.helpers import course_id

            url = lesson.get(f"{FORMATIONS}/formation/{course_id(app, title)}/continuer")
            target = url.headers["Location"] + "/lecon/1"
            lesson.submit(target, {}, page=target)

    return title, finish


@pytest.mark.browser
@sqlite_only
def test_an_official_enrols_and_follows_a_course_with_either_provider(
    app,
    village,
    provider,
    new_page,  # noqa: F811 - the fixture
    tmp_path,
):
    from playwright.sync_api import expect

    title, finish = provider
    checker = PageChecker(tmp_path)
    page = new_page()
    sign_in(page, village.adjoint.email)
    page.goto(f"{FORMATIONS}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Formations")
    checker.check(page, "formations-catalogue")
    page.get_by_label("Rechercher une formation").fill(title.split()[-1])
    page.get_by_role("button", name="Filtrer").click()
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    checker.check(page, "formations-formation")
    page.get_by_role("button", name="S'inscrire").click()
    expect(page.get_by_role("button", name="S'inscrire")).to_have_count(0)
    finish()
    page.goto(f"{FORMATIONS}/mes-formations")
    expect(page.get_by_role("row", name=title)).to_contain_text("% effectués")
    checker.check(page, "formations-mes-formations")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("link", name="Continuer")).to_be_visible()
    page.goto("/c/10145/")
    expect(page.get_by_role("heading", name="Mes formations en cours")).to_be_visible()
    assert checker.problems == [], "\n".join(checker.problems)


@pytest.mark.browser
@sqlite_only
def test_the_team_and_authoring_pages_pass_axe(
    app,
    client,
    village,
    on_chamilo,
    make_member,
    enable_module,
    new_page,  # noqa: F811 - the fixture
    tmp_path,
):
    from playwright.sync_api import expect

    from tests.plugins.academie.helpers import contributed, course_id, lessons
    from tests.plugins.videotheque import helpers as library

    learner = app.test_client()
    learner.login(village.conseiller.email)
    budget = course_id(app, "Le budget communal")
    learner.submit(
        f"{FORMATIONS}/formation/{budget}/inscription", {}, page=f"{FORMATIONS}/formation/{budget}"
    )
    lms_course = in_house(app, village, make_member, enable_module, client)
    app.config["VIDEO_STORAGE_PATH"] = str(tmp_path / "videos")
    video_id = contributed(app, village, enable_module)
    library.approve(client, video_id)  # client: the author, a platform admin
    first = lessons(app, lms_course)[0][0]
    write_lesson(client, lms_course, "Les concessions", lesson=first, video_id=str(video_id))
    checker = PageChecker(tmp_path)
    page = new_page()
    sign_in(page, village.maire.email)
    page.goto(f"{FORMATIONS}/equipe")
    checker.check(page, "formations-equipe")
    page.goto("/c/10145/admin/modules")
    page.get_by_role("link", name="Connexion à Chamilo").click()
    page.get_by_role("button", name="Tester la connexion").click()
    checker.check(page, "chamilo-connexion")
    author = new_page()
    sign_in(author, "auteur@viatic.test")
    for name, path in [
        ("lms-auteur", "/c/10145/lms/auteur/"),
        ("lms-formation", f"/c/10145/lms/auteur/{lms_course}"),
        ("lms-lecon", f"/c/10145/lms/auteur/{lms_course}/lecon/nouvelle"),
        ("lms-cours", f"/c/10145/lms/cours/{lms_course}"),
        ("lms-lecon-quiz", f"/c/10145/lms/cours/{lms_course}/lecon/2"),
        ("lms-lecon-video", f"/c/10145/lms/cours/{lms_course}/lecon/1"),
    ]:
        assert author.goto(path).status == 200, name
        checker.check(author, name)
    # The lesson's video, in the player of the host that holds it, with its captions track.
    video = author.get_by_label("Reprendre les concessions abandonnées", exact=True)
    expect(video).to_be_visible()
    expect(video.locator("track[kind=captions]")).to_have_count(1)
    author.goto(f"/c/10145/lms/cours/{lms_course}/lecon/2")
    author.get_by_role("button", name="J'ai terminé cette leçon").click()
    checker.check(author, "lms-lecon-erreur")
    assert checker.problems == [], "\n".join(checker.problems)
