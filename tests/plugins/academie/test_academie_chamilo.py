"""The Formations pages served by a (fake) Chamilo: catalogue, enrolment through the outbox,
progress, the team's view, and what happens when Chamilo is down, slow or answers garbage."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from connectors.http import BREAKERS
from core.db import db
from core.models import Membership, Notification, User
from plugins.academie.models import Enrolment
from plugins.chamilo.models import Account, Credential
from tests.plugins.academie.helpers import (
    FORMATIONS,
    configure_chamilo,
    course_id,
    deliver,
    enrol,
    enrolments,
    outbox_messages,
    page,
    run_job,
    says,
)


def test_the_catalogue_is_chamilos_copied_by_the_scheduled_job(app, client, village, on_chamilo):
    client.login(village.conseiller.email)
    html = page(client, f"{FORMATIONS}/")
    for title in ("Le budget communal", "Urbanisme et PLU", "La cantine scolaire"):
        assert title in html
    assert "Du DOB au compte administratif." in html  # Chamilo's HTML description, as text
    assert "&lt;p&gt;" not in html  # its tags dropped, not shown
    assert "Plateforme : Chamilo" in html  # the tool that serves it, by its name
    assert "Le budget communal" not in page(client, f"{FORMATIONS}/?theme=Urbanisme")
    found = page(client, f"{FORMATIONS}/?q=cantine")
    assert "La cantine scolaire" in found and "Urbanisme et PLU" not in found
    assert says(page(client, f"{FORMATIONS}/?q=inexistant"), "Aucune formation ne correspond")
    # The page reads the local copy: Chamilo is not called.
    on_chamilo.fake.requests.clear()
    page(client, f"{FORMATIONS}/")
    assert sum(on_chamilo.fake.requests.values()) == 0


def test_a_commune_admin_copies_the_catalogue_without_waiting_for_the_job(
    app, client, village, chamilo, enable_module
):
    enable_module(village.commune, "chamilo")
    configure_chamilo(app, village, chamilo)  # the hourly job has not run yet
    catalogue, refresh = f"{FORMATIONS}/", f"{FORMATIONS}/catalogue/actualiser"
    official = app.test_client()
    official.login(village.adjoint.email)
    html = page(official, catalogue)
    assert "0 formation" in html and "Actualiser le catalogue" not in html
    assert official.submit(refresh, {}, page=catalogue).status_code == 403
    client.login(village.maire.email)
    assert "Actualiser le catalogue" in page(client, catalogue)
    chamilo.fake.mode = "down"
    down = client.submit(refresh, {}, page=catalogue, follow_redirects=True)
    assert down.status_code == 200
    assert says(
        down.get_data(as_text=True),
        "Service momentanément indisponible : le catalogue affiché est la dernière copie.",
    )
    chamilo.fake.mode = "normal"
    BREAKERS.clear()
    done = client.submit(refresh, {}, page=catalogue, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Catalogue mis à jour : 3 formations." in html and "Le budget communal" in html
    assert "Le budget communal" in page(official, catalogue)


def test_an_enrolment_waits_in_the_outbox_then_chamilo_gets_the_account_once(
    app, client, village, on_chamilo
):
    fake = on_chamilo.fake
    client.login(village.adjoint.email)
    budget, urba = course_id(app, "Le budget communal"), course_id(app, "Urbanisme et PLU")
    response = enrol(client, budget)
    assert response.status_code == 303
    html = page(client, f"{FORMATIONS}/formation/{budget}")
    assert "Inscription en cours" in html and "Continuer" not in html
    assert fake.subscriptions == set()

    assert deliver(app) == 1
    account = fake.user(f"viatic-{village.adjoint.id}")
    assert (account.status, account.firstname, account.lastname) == (5, "Paul", "Girard")
    assert account.original_id == ("viatic_user_id", str(village.adjoint.id))
    assert account.extra == {"oauth2_id": str(village.adjoint.id)}  # Chamilo's SSO match
    assert fake.subscriptions == {(account.id, 1)}
    html = page(client, f"{FORMATIONS}/formation/{budget}")
    assert "Continuer" in html and "Inscription en cours" not in html
    resumed = client.get(f"{FORMATIONS}/formation/{budget}/continuer")
    assert resumed.headers["Location"] == f"{on_chamilo.url}/courses/CAMPUS_1_BUDGET/index.php"

    enrol(client, urba)
    deliver(app)
    assert fake.requests["save_user"] == 1  # found again, not made twice
    assert fake.subscriptions == {(account.id, 1), (account.id, 2)}
    with app.app_context():
        [notice, _second] = db.scalars(
            select(Notification).where(Notification.user_id == village.adjoint.id)
        ).all()
        assert notice.title == "Inscription confirmée : Le budget communal"


def test_the_scheduler_delivers_without_a_server_name(app, client, village, on_chamilo):
    """The scheduler has no request to build links from, and VIATIC_SERVER_NAME is optional:
    the confirmation links to the course by its path."""
    client.login(village.adjoint.email)
    budget = course_id(app, "Le budget communal")
    enrol(client, budget)
    app.config["SERVER_NAME"] = None
    try:
        deliver(app)
    finally:
        app.config["SERVER_NAME"] = "viatic.test"
    assert [e.status for e in enrolments(app)] == ["active"]
    notices = page(client, "/compte/notifications")
    assert "Inscription confirmée : Le budget communal" in notices
    assert f'href="{FORMATIONS}/formation/{budget}"' in notices


def test_a_double_click_makes_one_enrolment_and_one_message(app, client, village, on_chamilo):
    client.login(village.adjoint.email)
    budget = course_id(app, "Le budget communal")
    assert enrol(client, budget).status_code == 303
    assert enrol(client, budget).status_code == 303
    assert len(enrolments(app)) == 1
    assert len(outbox_messages(app)) == 1
    deliver(app)
    assert len(on_chamilo.fake.subscriptions) == 1


def test_two_clicks_at_the_same_instant_make_one_enrolment(app, village, on_chamilo):
    """Both requests pass the « already enrolled? » check before either writes: the unique
    constraint decides, and the second shows the first one's enrolment."""
    budget = course_id(app, "Le budget communal")
    barrier = threading.Barrier(2, timeout=10)

    def both_past_the_check(session, _context, _instances) -> None:
        if any(isinstance(row, Enrolment) for row in session.new):
            barrier.wait()

    clients = []
    for _ in range(2):
        clicker = app.test_client()
        clicker.login(village.adjoint.email)
        clients.append(clicker)
    statuses: list[int] = []
    event.listen(Session, "before_flush", both_past_the_check)
    try:
        threads = [
            threading.Thread(target=lambda c=c: statuses.append(enrol(c, budget).status_code))
            for c in clients
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(Session, "before_flush", both_past_the_check)
    assert statuses == [303, 303]
    assert len(enrolments(app)) == 1
    assert len(outbox_messages(app)) == 1
    assert "Inscription en cours" in page(clients[1], f"{FORMATIONS}/formation/{budget}")


@pytest.mark.parametrize("mode", ["down", "garbage"])
def test_chamilo_down_delays_the_enrolment_which_is_delivered_once_after(
    app, client, village, on_chamilo, mode
):
    fake = on_chamilo.fake
    client.login(village.adjoint.email)
    budget = course_id(app, "Le budget communal")
    fake.mode = mode
    enrol(client, budget)
    assert deliver(app) == 0
    html = page(client, f"{FORMATIONS}/formation/{budget}")
    assert "Inscription en cours" in html
    assert "Inscription en cours" in page(client, f"{FORMATIONS}/mes-formations")
    fake.mode = "normal"
    BREAKERS.clear()  # the breaker's cool-down, which the next scheduler run would wait out
    deliver(app)
    deliver(app)  # nothing left for Chamilo: the enrolment is not sent twice
    assert fake.requests["subscribe_user_to_course"] == 1
    assert len(fake.subscriptions) == 1
    assert [e.status for e in enrolments(app)] == ["active"]


def test_a_subscription_chamilo_made_after_our_timeout_is_not_made_twice(
    app, client, village, on_chamilo, monkeypatch
):
    fake = on_chamilo.fake
    client.login(village.adjoint.email)
    enrol(client, course_id(app, "Le budget communal"))
    deliver(app)  # the account is made; the next enrolment is one call
    from plugins.chamilo import provider

    monkeypatch.setattr(provider, "TIMEOUT", (1.0, 0.3))
    fake.mode, fake.delay = "slow", 1.0
    urba = course_id(app, "Urbanisme et PLU")
    enrol(client, urba)
    deliver(app)
    assert [e.status for e in enrolments(app)] == ["active", "pending"]  # we gave up waiting
    assert "Inscription en cours" in page(client, f"{FORMATIONS}/formation/{urba}")
    account = fake.user(f"viatic-{village.adjoint.id}")
    deadline = time.monotonic() + 10
    while (account.id, 2) not in fake.subscriptions and time.monotonic() < deadline:
        time.sleep(0.1)  # Chamilo finishes the subscription all the same
    assert (account.id, 2) in fake.subscriptions
    fake.mode = "normal"
    BREAKERS.clear()
    deliver(app)
    deliver(app)
    assert fake.subscriptions == {(account.id, 1), (account.id, 2)}
    assert [e.status for e in enrolments(app)] == ["active", "active"]
    assert "Continuer" in page(client, f"{FORMATIONS}/formation/{urba}")
    with app.app_context():
        titles = list(
            db.scalars(select(Notification.title).where(Notification.user_id == village.adjoint.id))
        )
    assert titles.count("Inscription confirmée : Urbanisme et PLU") == 1


def test_an_account_chamilo_already_has_is_found_again_not_made_twice(
    app, client, village, on_chamilo
):
    fake = on_chamilo.fake
    login = f"viatic-{village.adjoint.id}"
    # Made by an earlier delivery whose answer never came back, say.
    fake.add_user(login, "x", firstname="Paul", lastname="Ancien", email="ancien@example.fr")
    client.login(village.adjoint.email)
    enrol(client, course_id(app, "Le budget communal"))
    assert deliver(app) == 1
    account = fake.user(login)
    assert fake.requests["save_user"] == 0
    assert (account.lastname, account.email) == ("Girard", village.adjoint.email)
    assert fake.subscriptions == {(account.id, 1)}


@pytest.mark.parametrize("language", ["english", "french"])
def test_a_chamilo_too_old_for_an_action_says_so_and_is_not_retried(
    app, client, village, on_chamilo, language
):
    fake = on_chamilo.fake
    fake.language = language  # a French Chamilo says it in words of its own
    client.login(village.adjoint.email)
    budget = course_id(app, "Le budget communal")
    fake.unknown_actions = {"get_user_api_key"}  # older than the enrolments need
    enrol(client, budget)
    deliver(app)
    assert [e.status for e in enrolments(app)] == ["failed"]
    # A final answer, not an outage: the outbox does not try it again.
    assert [m.status for m in outbox_messages(app)] == ["delivered"]
    assert "Inscription impossible" in page(client, f"{FORMATIONS}/mes-formations")
    with app.app_context():
        assert enrolments(app)[0].error == "Ce Chamilo est trop ancien (version 1.11.20 au moins)."

    fake.unknown_actions = set()
    enrol(client, budget)  # asked again once the Chamilo is upgraded
    deliver(app)
    fake.unknown_actions = {"course_learnpaths"}
    run_job(app, "academie.progress")
    admin = app.test_client()
    admin.login(village.maire.email)
    assert "course_learnpaths" in page(admin, "/c/10145/admin/modules")  # the job's error


@pytest.mark.parametrize("mode", ["down", "slow", "garbage"])
def test_pages_render_from_local_data_whatever_chamilo_does(app, client, village, on_chamilo, mode):
    client.login(village.adjoint.email)
    budget = course_id(app, "Le budget communal")
    enrol(client, budget)
    deliver(app)
    on_chamilo.fake.mode, on_chamilo.fake.delay = mode, 25.0
    if mode == "slow":
        from plugins.chamilo import provider

        provider.TIMEOUT = (1.0, 0.3)  # restored below: the test need not wait 20 s
    try:
        assert "Le budget communal" in page(client, f"{FORMATIONS}/")
        assert "Le budget communal" in page(client, f"{FORMATIONS}/formation/{budget}")
        assert "Le budget communal" in page(client, "/c/10145/")  # the dashboard's widget
        refreshed = client.submit(
            f"{FORMATIONS}/mes-formations/actualiser", {}, page=f"{FORMATIONS}/mes-formations"
        )
        assert refreshed.status_code == 303
        html = page(client, f"{FORMATIONS}/mes-formations")
        assert says(html, "Service momentanément indisponible")
        run_job(app, "academie.progress")  # recorded as the module's error, nothing raises
        run_job(app, "academie.catalogue")
        assert "Le budget communal" in page(client, f"{FORMATIONS}/")
    finally:
        on_chamilo.fake.mode = "normal"
        if mode == "slow":
            provider.TIMEOUT = (5.0, 20.0)


def test_progress_is_read_as_each_learner_and_completion_is_announced(
    app, client, village, on_chamilo
):
    fake = on_chamilo.fake
    client.login(village.adjoint.email)
    budget = course_id(app, "Le budget communal")
    enrol(client, budget)
    deliver(app)
    login = f"viatic-{village.adjoint.id}"
    fake.set_progress(login, 1, 100)
    fake.set_progress(login, 2, 50)
    run_job(app, "academie.progress")
    assert "75 % effectués" in page(client, f"{FORMATIONS}/mes-formations")
    fake.set_progress(login, 2, 100)
    client.submit(
        f"{FORMATIONS}/mes-formations/actualiser", {}, page=f"{FORMATIONS}/mes-formations"
    )
    html = page(client, f"{FORMATIONS}/mes-formations")
    assert "100 % effectués" in html and "Terminée" in html
    with app.app_context():
        titles = set(
            db.scalars(select(Notification.title).where(Notification.user_id == village.adjoint.id))
        )
    assert "Formation terminée : Le budget communal" in titles


def test_a_profile_change_follows_to_chamilo(app, client, village, on_chamilo):
    client.login(village.adjoint.email)
    enrol(client, course_id(app, "Le budget communal"))
    deliver(app)
    with app.app_context():
        db.get(User, village.adjoint.id).name = "Paul Girard-Lemoine"
        db.commit()
    run_job(app, "academie.progress")
    assert on_chamilo.fake.user(f"viatic-{village.adjoint.id}").lastname == "Girard-Lemoine"


def test_the_team_view_is_for_the_maire_and_commune_admins_and_drops_former_members(
    app, client, village, on_chamilo
):
    learner = app.test_client()
    learner.login(village.conseiller.email)
    enrol(learner, course_id(app, "Urbanisme et PLU"))
    deliver(app)
    on_chamilo.fake.set_progress(f"viatic-{village.conseiller.id}", 3, 40)
    run_job(app, "academie.progress")

    page(learner, f"{FORMATIONS}/equipe", status=403)
    for boss in (village.maire, village.agent_admin):
        viewer = app.test_client()
        viewer.login(boss.email)
        html = page(viewer, f"{FORMATIONS}/equipe")
        assert "Nadia Benali" in html and "Urbanisme et PLU" in html and "40 % effectués" in html
    with app.app_context():
        db.execute(delete(Membership).where(Membership.user_id == village.conseiller.id))
        db.commit()
    client.login(village.maire.email)
    assert "Nadia Benali" not in page(client, f"{FORMATIONS}/equipe")
    # Their enrolments stay readable to them.
    assert "Urbanisme et PLU" in page(learner, f"{FORMATIONS}/mes-formations")
    urba = page(learner, f"{FORMATIONS}/formation/{course_id(app, 'Urbanisme et PLU')}")
    assert "40 % effectués" in urba
    page(learner, f"{FORMATIONS}/formation/{course_id(app, 'Le budget communal')}", status=403)
    page(learner, f"{FORMATIONS}/", status=403)


def test_another_communes_people_see_nothing_of_it(
    app, client, village, on_chamilo, other_commune, make_member, enable_module
):
    budget = course_id(app, "Le budget communal")
    stranger = make_member(other_commune, "maire", admin=True)
    enable_module(other_commune, "academie")
    client.login(stranger.email)
    page(client, f"{FORMATIONS}/", status=403)
    page(client, f"{FORMATIONS}/formation/{budget}", status=403)
    page(client, f"{FORMATIONS}/equipe", status=403)
    page(client, f"/c/10124/academie/formation/{budget}", status=404)
    assert "Le budget communal" not in page(client, "/c/10124/academie/")


def test_residents_have_no_training_pages(app, client, village, on_chamilo):
    client.login(village.habitant.email)
    page(client, f"{FORMATIONS}/", status=403)
    budget = course_id(app, "Le budget communal")
    page(client, f"{FORMATIONS}/formation/{budget}", status=403)
    assert enrol(client, budget).status_code == 403


def test_a_course_removed_on_chamilo_closes_its_enrolment(app, client, village, on_chamilo):
    fake = on_chamilo.fake
    client.login(village.adjoint.email)
    cantine = course_id(app, "La cantine scolaire")
    budget = course_id(app, "Le budget communal")
    enrol(client, budget)
    deliver(app)
    del fake.courses[3]
    del fake.courses[1]
    run_job(app, "academie.catalogue")
    assert "La cantine scolaire" not in page(client, f"{FORMATIONS}/")
    html = page(client, f"{FORMATIONS}/formation/{cantine}")
    assert says(html, "Cette formation n'est plus proposée.") and "S&#39;inscrire" not in html
    refused = client.submit(
        f"{FORMATIONS}/formation/{cantine}/inscription",
        {},
        page=f"{FORMATIONS}/formation/{budget}",
        follow_redirects=True,
    )
    assert says(refused.get_data(as_text=True), "Cette formation n'est plus proposée")
    assert len(enrolments(app)) == 1
    # The enrolment in the removed course stays readable; its progress sync skips it.
    run_job(app, "academie.progress")
    assert "Le budget communal" in page(client, f"{FORMATIONS}/mes-formations")


def test_an_enrolment_chamilo_refuses_is_shown_and_may_be_asked_again(
    app, client, village, on_chamilo
):
    client.login(village.adjoint.email)
    cantine = course_id(app, "La cantine scolaire")
    enrol(client, cantine)
    del on_chamilo.fake.courses[3]  # gone before the delivery
    assert deliver(app) == 1
    html = page(client, f"{FORMATIONS}/formation/{cantine}")
    assert "Inscription impossible" in page(client, f"{FORMATIONS}/mes-formations")
    assert says(html, "Votre inscription précédente n'a pas abouti.")


def test_the_admin_tests_the_connection_in_words_they_can_act_on(
    app, client, village, chamilo, enable_module
):
    enable_module(village.commune, "chamilo")
    client.login(village.maire.email)
    test_page = "/c/10145/chamilo/connexion"
    assert f'href="{test_page}"' in page(client, "/c/10145/admin/modules")  # its way in

    def tested() -> str:
        response = client.submit(test_page, {}, page=test_page)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert says(tested(), "Renseignez l'adresse et les identifiants.")
    configure_chamilo(app, village, chamilo, password="mauvais")
    assert says(tested(), "Chamilo refuse les identifiants enregistrés")
    configure_chamilo(app, village, chamilo, url=f"{chamilo.url}/pas-chamilo")
    assert says(tested(), "Cette adresse ne répond pas comme un Chamilo")
    for wrong in ("0", "100", "beaucoup"):  # the bound of concurrent calls: 1 to 16
        refused = configure_chamilo(app, village, chamilo, concurrency=wrong)
        assert refused.status_code == 400, wrong
    assert says(refused.get_data(as_text=True), "N'est pas un choix valide.")
    configure_chamilo(app, village, chamilo)
    html = tested()
    assert "Connexion réussie : 3 formations disponibles." in html
    assert "admin-secret" not in html
    assert "admin-secret" not in page(client, "/c/10145/admin/modules/chamilo/reglages")
    assert "Fonctionne" in page(client, "/c/10145/admin/modules")  # the health check
    chamilo.fake.mode = "garbage"
    assert says(tested(), "Cette adresse ne répond pas comme un Chamilo")
    modules = page(client, "/c/10145/admin/modules")
    assert says(modules, "En panne : Cette adresse ne répond pas comme un Chamilo")
    chamilo.fake.mode = "down"
    assert says(tested(), "Chamilo ne répond pas : service momentanément indisponible.")
    chamilo.fake.mode = "normal"
    BREAKERS.clear()  # the breaker the outage opened
    page(app.test_client(), test_page, status=302)  # signed out: to the login page
    other = app.test_client()
    other.login(village.adjoint.email)
    page(other, test_page, status=403)


def test_api_keys_are_kept_encrypted_and_never_logged(app, client, village, on_chamilo):
    client.login(village.adjoint.email)
    enrol(client, course_id(app, "Le budget communal"))
    deliver(app)
    admin_key = on_chamilo.fake.user("admin").api_key
    learner_key = on_chamilo.fake.user(f"viatic-{village.adjoint.id}").api_key
    with app.app_context():
        stored = db.get(Credential, village.commune.id).api_key
        account = db.scalar(select(Account))
        from core.models import ConnectorCall

        urls = " ".join(db.scalars(select(ConnectorCall.url)))
    assert admin_key not in stored and learner_key not in account.api_key
    assert admin_key not in urls and learner_key not in urls and "admin-secret" not in urls
    assert "v2.php" in urls


def test_the_key_chamilo_rotated_is_renewed_once(app, client, village, on_chamilo):
    fake = on_chamilo.fake
    fake.rotate_key("admin")
    fake.requests.clear()
    run_job(app, "academie.catalogue")
    assert fake.requests["authenticate"] == 1
    run_job(app, "academie.catalogue")
    assert fake.requests["authenticate"] == 1  # the new key was kept


@pytest.mark.parametrize("language", ["english", "french"])
def test_a_learner_key_chamilo_rotated_is_fetched_again_and_kept(
    app, client, village, on_chamilo, language
):
    fake = on_chamilo.fake
    fake.language = language  # a French Chamilo says it in words of its own
    client.login(village.adjoint.email)
    enrol(client, course_id(app, "Le budget communal"))
    deliver(app)
    login = f"viatic-{village.adjoint.id}"
    fake.rotate_key(login)  # regenerated on Chamilo's side
    fake.set_progress(login, 1, 100)
    fake.requests.clear()
    run_job(app, "academie.progress")
    assert "50 % effectués" in page(client, f"{FORMATIONS}/mes-formations")
    assert fake.requests["get_user_api_key"] == 1
    fake.requests.clear()
    run_job(app, "academie.progress")
    assert fake.requests == {"course_learnpaths": 1}  # the new key was kept


def test_the_portals_search_finds_courses_for_officials_only(app, client, village, on_chamilo):
    client.login(village.conseiller.email)
    found = page(client, "/c/10145/recherche?q=budget")
    assert "Le budget communal" in found and "Formation" in found
    assert "Urbanisme et PLU" not in found
    resident = app.test_client()
    resident.login(village.habitant.email)
    assert "Le budget communal" not in page(resident, "/c/10145/recherche?q=budget")


def test_no_connection_to_chamilo_is_left_open_by_the_pages_the_jobs_or_the_outbox(
    app, client, village, on_chamilo, http_sessions
):
    """The core builds a provider at each use and never closes it: a session it left open
    would hold its connections to Chamilo (kept alive by a real one, unlike the fake) until
    the garbage collector came by, one per page, job run and delivery."""
    fake = on_chamilo.fake
    catalogue = f"{FORMATIONS}/"
    client.login(village.maire.email)
    assert "Le budget communal" in page(client, catalogue)  # builds a provider for its label
    client.submit(f"{FORMATIONS}/catalogue/actualiser", {}, page=catalogue)
    run_job(app, "academie.catalogue")
    enrol(client, course_id(app, "Le budget communal"))
    deliver(app)
    run_job(app, "academie.progress")
    client.submit(
        f"{FORMATIONS}/mes-formations/actualiser", {}, page=f"{FORMATIONS}/mes-formations"
    )
    connection = "/c/10145/chamilo/connexion"
    assert "Connexion réussie" in client.submit(connection, {}, page=connection).get_data(
        as_text=True
    )
    assert "Fonctionne" in page(client, "/c/10145/admin/modules")  # the health check
    # Failures close their client too: an enrolment refused for the settings, then an outage.
    fake.adminonly_api = False
    official = app.test_client()
    official.login(village.adjoint.email)  # an account to make: its key is refused
    enrol(official, course_id(app, "Urbanisme et PLU"))
    deliver(app)
    run_job(app, "academie.waiting_enrolments")
    fake.adminonly_api = True
    fake.mode = "down"
    run_job(app, "academie.catalogue")
    fake.mode = "normal"
    BREAKERS.clear()
    assert [e.status for e in enrolments(app)] == ["active", "waiting"]
    assert len(http_sessions) >= 9  # each operation opened its own
    assert [session for session in http_sessions if not session.was_closed] == []
