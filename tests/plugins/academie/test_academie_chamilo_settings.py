"""When Chamilo refuses the commune's settings rather than being down: the enrolments wait and
say why, the commune admins are told once, and the enrolments go by themselves once the
settings work; « Tester la connexion » checks the admin-only web services enrolments need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from connectors.http import BREAKERS
from core.db import db
from core.models import EmailMessage, Notification
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
from tests.plugins.chamilo.fake_chamilo import Served

WAITS = "Votre inscription attend que la commune rétablisse la connexion"
TOLD = "Formations : les inscriptions attendent la connexion à Chamilo"
RETRY_JOB = "academie.waiting_enrolments"

Fix = Callable[[], Any]


def admin_password_changed_in_chamilo(app: Any, village: Any, chamilo: Served) -> Fix:
    """Chamilo's admin got a new password and key there; Viatic still has the old one."""
    chamilo.fake.user("admin").password = "nouveau-secret"
    chamilo.fake.rotate_key("admin")
    return lambda: configure_chamilo(app, village, chamilo, password="nouveau-secret")


def admin_only_web_services_off(app: Any, village: Any, chamilo: Served) -> Fix:
    chamilo.fake.adminonly_api = False
    return lambda: setattr(chamilo.fake, "adminonly_api", True)


def admin_only_web_services_off_in_a_french_chamilo(app: Any, village: Any, chamilo: Served) -> Fix:
    chamilo.fake.language = "french"  # NotAllowed said in French
    return admin_only_web_services_off(app, village, chamilo)


def admin_no_longer_platform_admin_in_a_french_chamilo(
    app: Any, village: Any, chamilo: Served
) -> Fix:
    """Chamilo's admin account was made a teacher: save_user is refused, in French."""
    chamilo.fake.language = "french"
    admin = chamilo.fake.user("admin")
    admin.is_admin = False
    return lambda: setattr(admin, "is_admin", True)


def address_mistyped(app: Any, village: Any, chamilo: Served) -> Fix:
    configure_chamilo(app, village, chamilo, url=f"{chamilo.url}/formation")
    return lambda: configure_chamilo(app, village, chamilo)


@pytest.mark.parametrize(
    ("break_settings", "reason"),
    [
        (admin_password_changed_in_chamilo, "Chamilo refuse les identifiants enregistrés"),
        (
            admin_only_web_services_off,
            "Chamilo refuse à « admin » ses services web réservés aux administrateurs",
        ),
        (
            admin_only_web_services_off_in_a_french_chamilo,
            "Chamilo refuse à « admin » ses services web réservés aux administrateurs",
        ),
        (
            admin_no_longer_platform_admin_in_a_french_chamilo,
            "Chamilo refuse à « admin » ses services web réservés aux administrateurs",
        ),
        (address_mistyped, "refuse l'appel au service web de Chamilo (HTTP 404)"),
    ],
)
def test_enrolments_wait_for_the_settings_then_go_by_themselves(
    app, client, village, on_chamilo, break_settings, reason
):
    fake = on_chamilo.fake
    fix = break_settings(app, village, on_chamilo)
    client.login(village.adjoint.email)
    budget, urba = course_id(app, "Le budget communal"), course_id(app, "Urbanisme et PLU")
    enrol(client, budget)
    assert "Inscription en cours" in page(client, f"{FORMATIONS}/formation/{budget}")
    enrol(client, urba)
    assert "Inscription en cours" in page(client, f"{FORMATIONS}/formation/{urba}")
    assert deliver(app) == 2  # handled: a refusal of the settings is not retried as an outage
    calls = sum(fake.requests.values())
    deliver(app)  # the admins' e-mails; Chamilo is not asked again
    assert sum(fake.requests.values()) == calls

    # The official reads why it waits, and that there is nothing to do again.
    course = page(client, f"{FORMATIONS}/formation/{budget}")
    assert "Inscription en attente" in course and says(course, WAITS)
    assert "Inscription en cours" not in course and "S&#39;inscrire" not in course
    mine = page(client, f"{FORMATIONS}/mes-formations")
    assert "Inscription en attente" in mine and says(mine, WAITS)
    assert says(mine, "vous n'avez rien à refaire")
    assert "Inscription en attente" in page(client, "/c/10145/")  # the dashboard's card

    # Another official enrols meanwhile: told at once, and nothing is sent to Chamilo.
    other = app.test_client()
    other.login(village.conseiller.email)
    asked = enrol(other, urba).headers["Location"]
    assert says(page(other, asked), WAITS)
    assert [e.status for e in enrolments(app)] == ["waiting"] * 3
    assert sum(fake.requests.values()) == calls
    assert [(m.status, m.attempts) for m in outbox_messages(app)] == [("delivered", 1)] * 2

    # The scheduled retry finds the settings still refused: one call, the module's last error.
    run_job(app, RETRY_JOB)
    run_job(app, RETRY_JOB)
    admin = app.test_client()
    admin.login(village.agent_admin.email)
    modules = page(admin, "/c/10145/admin/modules")
    assert says(modules, f"{RETRY_JOB} : 3 inscriptions attendent : ")
    assert says(modules, reason)

    # Each commune admin was told once, by the bell and by e-mail; the officials were not.
    for person in (village.maire, village.agent_admin):
        reader = app.test_client()
        reader.login(person.email)
        notices = page(reader, "/compte/notifications")
        assert notices.count(TOLD) == 1 and says(notices, reason)
        assert says(notices, "elles partiront d'elles-mêmes")
        assert 'href="/c/10145/admin/modules"' in notices
    with app.app_context():
        mailed = list(
            db.scalars(select(EmailMessage.recipient).where(EmailMessage.subject == TOLD))
        )
        told = list(db.scalars(select(Notification.user_id).where(Notification.title == TOLD)))
    assert sorted(mailed) == sorted([village.maire.email, village.agent_admin.email])
    assert sorted(told) == sorted([village.maire.id, village.agent_admin.id])

    # Fixed: the next retry sends the oldest, the others follow through the outbox.
    fix()
    run_job(app, RETRY_JOB)
    deliver(app)
    assert [e.status for e in enrolments(app)] == ["active"] * 3
    assert fake.requests["subscribe_user_to_course"] == 3
    assert len(fake.subscriptions) == 3
    course = page(client, f"{FORMATIONS}/formation/{budget}")
    assert "Continuer" in course and not says(course, WAITS)
    with app.app_context():
        confirmed = set(
            db.scalars(select(Notification.user_id).where(Notification.type == "academie.enrolled"))
        )
        told = list(db.scalars(select(Notification.user_id).where(Notification.title == TOLD)))
    assert confirmed == {village.adjoint.id, village.conseiller.id}
    assert len(told) == 2  # still once each
    run_job(app, RETRY_JOB)  # nothing waits any more: Chamilo is not called
    assert fake.requests["subscribe_user_to_course"] == 3


def test_a_french_chamilo_down_retries_and_its_refusal_of_save_user_waits(
    app, client, village, on_chamilo
):
    """A French Chamilo words its refusals in French: an outage is still retried without a
    word to the admins, and its refusal of save_user still makes the enrolment wait."""
    fake = on_chamilo.fake
    fake.language = "french"
    client.login(village.adjoint.email)
    budget = course_id(app, "Le budget communal")
    fake.mode = "down"
    enrol(client, budget)
    assert deliver(app) == 0
    assert deliver(app) == 0
    assert [(m.status, m.attempts) for m in outbox_messages(app)] == [("pending", 2)]
    assert "Inscription en cours" in page(client, f"{FORMATIONS}/formation/{budget}")
    with app.app_context():
        assert db.scalar(select(Notification).where(Notification.title == TOLD)) is None

    # Back, but the account Viatic uses is no platform admin any more.
    fake.mode = "normal"
    BREAKERS.clear()  # the breaker the outage opened
    fake.user("admin").is_admin = False
    assert deliver(app) == 1
    assert fake.requests["save_user"] == 1
    assert f"viatic-{village.adjoint.id}" not in fake.by_name  # refused, in French
    course = page(client, f"{FORMATIONS}/formation/{budget}")
    assert "Inscription en attente" in course and says(course, WAITS)
    with app.app_context():
        told = list(db.scalars(select(Notification.user_id).where(Notification.title == TOLD)))
    assert sorted(told) == sorted([village.maire.id, village.agent_admin.id])
    assert [(m.status, m.attempts) for m in outbox_messages(app)] == [("delivered", 3)]


def test_a_later_refusal_tells_the_admins_again(app, client, village, on_chamilo):
    """Told once per breakdown, not once for ever."""
    fake = on_chamilo.fake
    client.login(village.adjoint.email)
    fake.adminonly_api = False
    enrol(client, course_id(app, "Le budget communal"))
    deliver(app)
    fake.adminonly_api = True
    run_job(app, RETRY_JOB)
    fake.adminonly_api = False
    other = app.test_client()
    other.login(village.conseiller.email)
    enrol(other, course_id(app, "Urbanisme et PLU"))
    deliver(app)
    assert [e.status for e in enrolments(app)] == ["active", "waiting"]
    with app.app_context():
        told = list(db.scalars(select(Notification.user_id).where(Notification.title == TOLD)))
    assert sorted(told) == sorted([village.maire.id, village.agent_admin.id] * 2)


CONNECTION = "/c/10145/chamilo/connexion"


def test_testing_the_connection_checks_the_admin_only_web_services(
    app, client, village, chamilo, enable_module
):
    enable_module(village.commune, "chamilo")
    configure_chamilo(app, village, chamilo)
    client.login(village.maire.email)

    def tested() -> str:
        response = client.submit(CONNECTION, {}, page=CONNECTION)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    chamilo.fake.adminonly_api = False
    html = tested()
    assert says(
        html,
        "Identifiants acceptés et catalogue lu, mais Chamilo refuse à « admin » ses services "
        "web réservés aux administrateurs, dont les inscriptions ont besoin.",
    )
    assert "webservice_enable_adminonly_api" in html and "Connexion réussie" not in html
    modules = page(client, "/c/10145/admin/modules")
    assert says(modules, "En panne : Identifiants acceptés et catalogue lu, mais Chamilo refuse")

    chamilo.fake.adminonly_api = True
    assert "Connexion réussie : 3 formations disponibles." in tested()

    # A Chamilo user who is not a platform admin gets as far, and no further.
    chamilo.fake.add_user("formateur", "formateur-secret", status=1)
    configure_chamilo(app, village, chamilo, username="formateur", password="formateur-secret")
    assert says(tested(), "mais Chamilo refuse à « formateur » ses services web réservés")
