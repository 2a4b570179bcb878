"""The platform's own courses (plugin ``lms``): authoring by the platform admins, lessons and
quizzes, local progress, and the swap from Chamilo that keeps the pages and the progress."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.db import db
from plugins.lms.models import LmsCourse
from tests.plugins.academie.helpers import (
    FORMATIONS,
    course_id,
    deliver,
    enrol,
    enrolments,
    outbox_messages,
    page,
    run_job,
    says,
)

AUTHOR = "/c/10145/lms/auteur"


def write_course(client, title="Les cimetières", published=True) -> int:
    response = client.submit(
        f"{AUTHOR}/nouvelle",
        {
            "title": title,
            "description": "Concessions, reprises, police des funérailles.",
            "duration_minutes": "75",
            "level": "decouverte",
            "themes": "Cimetières, Police du maire",
            "published": "y" if published else "",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def write_lesson(client, course, title, body="<p>Texte.</p>", quiz="", lesson="nouvelle", **video):
    """Submit the lesson form (a new lesson, or the lesson of id ``lesson``); ``video`` are
    the fields ``video_id`` (the list) and ``video_link`` (a pasted address)."""
    url = f"{AUTHOR}/{course}/lecon/{lesson}"
    return client.submit(url, {"title": title, "body": body, "quiz": quiz, **video}, page=url)


def in_house(app, village, make_member, enable_module, client) -> int:
    """Formations on the platform's courses: one published course of two lessons."""
    enable_module(village.commune, "lms")
    author = make_member(None, "maire", email="auteur@viatic.test")
    with app.app_context():
        from core.models import User

        db.get(User, author.id).is_platform_admin = True
        db.commit()
    client.login(author.email)
    course = write_course(client)
    write_lesson(
        client, course, "Les concessions", "<p>Une concession <script>x()</script>dure.</p>"
    )
    write_lesson(
        client,
        course,
        "La reprise",
        quiz="Délai avant la reprise d'une concession abandonnée ? | 3 ans | 1 an | 10 ans",
    )
    write_course(client, "Brouillon à ne pas montrer", published=False)
    return course


def test_platform_admins_author_courses_and_bad_input_is_refused(
    app, client, village, make_member, enable_module
):
    lms_id = in_house(app, village, make_member, enable_module, client)
    with app.app_context():
        course = db.get(LmsCourse, lms_id)
        [first, second] = course.lessons
        assert "<script>" not in first.body and "<p>" in first.body
        assert second.quiz == [
            {
                "question": "Délai avant la reprise d'une concession abandonnée ?",
                "choices": ["1 an", "10 ans", "3 ans"],
                "answer": 2,
            }
        ]
    edit = page(client, f"{AUTHOR}/{lms_id}/lecon/{second.id}")
    assert (
        "Délai avant la reprise d&#39;une concession abandonnée ? | 3 ans | 1 an | 10 ans" in edit
    )
    refused = write_lesson(client, lms_id, "", quiz="Une question sans réponses")
    assert refused.status_code == 400
    assert says(refused.get_data(as_text=True), "Donnez un titre à la leçon.")
    refused = write_lesson(client, lms_id, "Quiz bancal", quiz="Une question | une seule")
    assert refused.status_code == 400
    assert says(refused.get_data(as_text=True), "Ligne 1 du quiz")
    refused = write_lesson(client, lms_id, "Vidéo", video_link="javascript:alert(1)")
    assert refused.status_code == 400
    assert says(refused.get_data(as_text=True), "n'est pas celle d'une vidéo publiée")
    with app.app_context():
        assert len(db.get(LmsCourse, lms_id).lessons) == 2  # nothing half-written
    official = app.test_client()
    official.login(village.maire.email)
    page(official, f"{AUTHOR}/", status=403)
    assert (
        official.submit(f"{AUTHOR}/nouvelle", {"title": "x"}, page="/accessibilite").status_code
        == 403
    )


def test_an_official_follows_lessons_and_passes_the_quiz(
    app, client, village, make_member, enable_module
):
    in_house(app, village, make_member, enable_module, client)
    learner = app.test_client()
    learner.login(village.adjoint.email)
    catalogue = page(learner, f"{FORMATIONS}/")
    assert "Les cimetières" in catalogue and "Brouillon" not in catalogue
    assert "1 h 15" in catalogue and "Découverte" in catalogue
    assert "Plateforme : Viatic" in catalogue
    assert "Les cimetières" not in page(learner, f"{FORMATIONS}/?niveau=intermediaire")
    assert "Les cimetières" in page(learner, f"{FORMATIONS}/?niveau=decouverte&q=concessions")
    assert "Les cimetières" in page(learner, f"{FORMATIONS}/?niveau=inconnu")  # no such filter
    course = course_id(app, "Les cimetières")
    enrol(learner, course)
    assert [e.status for e in enrolments(app)] == ["active"]  # no outbox: a local provider
    assert outbox_messages(app) == []
    resumed = learner.get(f"{FORMATIONS}/formation/{course}/continuer")
    lms_course = resumed.headers["Location"]
    assert "/c/10145/lms/cours/" in lms_course
    first = learner.submit(f"{lms_course}/lecon/1", {}, page=f"{lms_course}/lecon/1")
    assert first.headers["Location"].endswith("/lecon/2")
    assert "50 % effectués" in page(learner, f"{FORMATIONS}/mes-formations")
    wrong = learner.submit(f"{lms_course}/lecon/2", {"q0": "0"}, page=f"{lms_course}/lecon/2")
    assert wrong.status_code == 400
    assert says(wrong.get_data(as_text=True), "Ce n'est pas la bonne réponse")
    unanswered = learner.submit(f"{lms_course}/lecon/2", {}, page=f"{lms_course}/lecon/2")
    assert says(unanswered.get_data(as_text=True), "Répondez à chaque question du quiz.")
    assert "50 % effectués" in page(learner, f"{FORMATIONS}/mes-formations")
    right = learner.submit(f"{lms_course}/lecon/2", {"q0": "2"}, page=f"{lms_course}/lecon/2")
    assert right.status_code == 303
    html = page(learner, f"{FORMATIONS}/mes-formations")
    assert "100 % effectués" in html and "Terminée" in html
    page(learner, f"{lms_course}/lecon/9", status=404)


def test_switching_from_chamilo_keeps_the_pages_and_the_progress_earned(
    app, client, village, on_chamilo, make_member, enable_module
):
    learner = app.test_client()
    learner.login(village.adjoint.email)
    budget = course_id(app, "Le budget communal")
    enrol(learner, budget)
    deliver(app)
    on_chamilo.fake.set_progress(f"viatic-{village.adjoint.id}", 1, 80)
    run_job(app, "academie.progress")
    assert "40 % effectués" in page(learner, f"{FORMATIONS}/mes-formations")

    in_house(app, village, make_member, enable_module, client)
    admin = app.test_client()
    admin.login(village.maire.email)
    chosen = admin.submit(
        "/c/10145/admin/fournisseurs/lms",
        {"lms-provider": "lms"},
        page="/c/10145/admin/modules",
    )
    assert chosen.status_code == 302
    catalogue = page(learner, f"{FORMATIONS}/")
    assert "Les cimetières" in catalogue and "Le budget communal" not in catalogue
    mine = page(learner, f"{FORMATIONS}/mes-formations")
    assert "Le budget communal" in mine and "40 % effectués" in mine
    old = page(learner, f"{FORMATIONS}/formation/{budget}")
    assert says(old, "un outil que la commune n'utilise plus") and "Continuer" not in old
    assert "<dd>Chamilo</dd>" in old  # where it was followed
    run_job(app, "academie.progress")  # Chamilo is no longer asked
    assert "40 % effectués" in page(learner, f"{FORMATIONS}/mes-formations")
    with app.app_context():
        from plugins.academie.models import Course

        providers = set(db.scalars(select(Course.provider)))
    assert providers == {"chamilo", "lms"}


def test_a_course_tagged_with_the_referentiel_s_themes_is_found_by_them(
    app, client, village, make_member, enable_module
):
    from plugins.pilotage import referentiel

    with app.app_context():
        referentiel.load(referentiel.read_folder())
        db.commit()
    course = in_house(app, village, make_member, enable_module, client)
    form_url = f"{AUTHOR}/{course}"
    form = page(client, form_url)
    assert '<optgroup label="Finances et budget">' in form
    assert says(form, "Préparation et vote du budget")
    fields = {
        "title": "Les cimetières",
        "level": "decouverte",
        "referentiel": ["concessions", "police-funerailles"],
        "themes": "Reprise des tombes",
        "published": "y",
    }
    refused = client.submit(form_url, {**fields, "referentiel": ["pas-un-theme"]}, page=form_url)
    assert refused.status_code == 400
    assert says(
        refused.get_data(as_text=True), "Choisissez les thèmes dans la liste du référentiel."
    )
    assert client.submit(form_url, fields, page=form_url).status_code == 303
    with app.app_context():
        saved = db.get(LmsCourse, course).themes
    assert saved == ["concessions", "police-funerailles", "Reprise des tombes"]
    again = page(client, form_url)  # shown back where each was chosen
    assert re.search(r'<option (?=[^>]*selected)(?=[^>]*value="concessions")', again)
    assert 'value="Reprise des tombes"' in again

    learner = app.test_client()
    learner.login(village.adjoint.email)
    catalogue = page(learner, f"{FORMATIONS}/")
    assert re.search(r'<option value="concessions"\s*>Concessions funéraires</option>', catalogue)
    names = "Concessions funéraires, Police des funérailles, Reprise des tombes"
    assert says(catalogue, f"Thèmes : {names}")
    assert "Les cimetières" in page(learner, f"{FORMATIONS}/?theme=concessions")
    assert "Les cimetières" not in page(learner, f"{FORMATIONS}/?theme=budget-vote")
    assert "Les cimetières" in page(learner, f"{FORMATIONS}/?q=funéraires")
    assert says(page(learner, f"{FORMATIONS}/formation/{course_id(app, 'Les cimetières')}"), names)
    listed = learner.get("/api/v1/c/10145/academie/formations").json["courses"]
    [ours] = [c for c in listed if c["title"] == "Les cimetières"]
    assert ours["themes"][:2] == ["concessions", "police-funerailles"]
    assert ", ".join(ours["theme_names"]) == names
