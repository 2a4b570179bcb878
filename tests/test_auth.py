"""Signing in and out, throttling, password reset, invitations, CSRF."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from core import outbox
from core.db import db
from core.models import AuditEvent, EmailMessage, Invitation, Membership, PasswordReset, User
from core.testing import PASSWORD


def _link(app, recipient: str, pattern: str) -> str:
    with app.app_context():
        email = db.scalars(
            select(EmailMessage)
            .where(EmailMessage.recipient == recipient)
            .order_by(EmailMessage.id.desc())
        ).first()
        assert email is not None, f"no e-mail to {recipient}"
        found = re.search(pattern, email.body)
        assert found, email.body
        return found.group(0).replace("http://viatic.test", "")


def test_login_rotates_the_session_and_sets_safe_cookie_flags(client, commune, make_member):
    user = make_member(commune)
    client.get("/connexion")
    before = client.get_cookie("viatic_session", domain="viatic.test").value
    response = client.submit("/connexion", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get_cookie("viatic_session", domain="viatic.test").value != before
    assert client.get("/").headers["Location"].endswith("/c/10145/")


def test_secure_cookie_outside_development(app):
    from core.testing import make_app

    production = make_app(app.config["DATABASE_URL"], [], TESTING=False, ENV="production")
    assert production.config["SESSION_COOKIE_SECURE"] is True


def test_wrong_password_and_unknown_account_get_the_same_401(client, commune, make_member):
    user = make_member(commune)
    wrong = client.submit("/connexion", {"email": user.email, "password": "pas le bon"})
    unknown = client.submit(
        "/connexion", {"email": "personne@exemple.fr", "password": "peu importe"}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Adresse e-mail ou mot de passe incorrect." in response.get_data(as_text=True)


def test_login_failures_and_successes_are_audited(app, client, commune, make_member):
    user = make_member(commune)
    client.submit("/connexion", {"email": user.email, "password": "pas le bon"})
    client.login(user.email)
    with app.app_context():
        actions = [
            (e.action, e.actor) for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert ("login.failure", user.email) in actions
    assert ("login.success", user.email) in actions


def test_login_is_throttled_per_account_with_a_clear_message(client, commune, make_member):
    user = make_member(commune)
    for _ in range(5):
        assert (
            client.submit("/connexion", {"email": user.email, "password": "mauvais"}).status_code
            == 401
        )
    response = client.submit("/connexion", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in response.get_data(as_text=True)


def test_login_is_throttled_per_address(client, commune, make_member):
    user = make_member(commune)
    for n in range(20):
        client.submit("/connexion", {"email": f"inconnu{n}@exemple.fr", "password": "x"})
    assert (
        client.submit("/connexion", {"email": user.email, "password": PASSWORD}).status_code == 429
    )


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(
    app, client, commune, make_member
):
    user = make_member(commune)
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Formulaire expiré" in response.get_data(as_text=True)
    assert client.get("/c/10145/").status_code == 302  # still signed out


def test_logout_ends_the_session(client, commune, make_member):
    client.login(make_member(commune).email)
    client.submit("/deconnexion", page="/c/10145/")
    assert client.get("/c/10145/").status_code == 302


def test_password_reset_by_email_link_is_single_use(app, client, commune, make_member):
    user = make_member(commune)
    response = client.submit("/mot-de-passe/oublie", {"email": user.email})
    assert response.status_code == 302
    link = _link(app, user.email, r"http://viatic\.test/mot-de-passe/nouveau/\S+")
    new = "un nouveau mot de passe solide"
    assert client.submit(link, {"password": new, "confirm": new}).status_code == 302
    client.login(user.email, new)
    again = client.submit(
        link, {"password": "encore un autre", "confirm": "encore un autre"}, page="/connexion"
    )
    assert again.status_code == 400
    assert "plus valable" in again.get_data(as_text=True)


def test_password_reset_token_expires(app, client, commune, make_member):
    user = make_member(commune)
    client.submit("/mot-de-passe/oublie", {"email": user.email})
    link = _link(app, user.email, r"http://viatic\.test/mot-de-passe/nouveau/\S+")
    with app.app_context():
        reset = db.scalar(select(PasswordReset))
        reset.expires_at = reset.created_at - dt.timedelta(minutes=1)
        db.commit()
    assert client.get(link).status_code == 400


def test_reset_request_for_unknown_address_says_the_same_and_sends_nothing(app, client):
    response = client.submit(
        "/mot-de-passe/oublie", {"email": "inconnu@exemple.fr"}, follow_redirects=True
    )
    assert "Si un compte existe pour cette adresse" in response.get_data(as_text=True)
    with app.app_context():
        assert db.scalar(select(EmailMessage)) is None


def test_password_reset_signs_out_other_sessions(app, commune, make_member):
    user = make_member(commune)
    laptop, phone = app.test_client(), app.test_client()
    laptop.login(user.email)
    phone.submit("/mot-de-passe/oublie", {"email": user.email})
    link = _link(app, user.email, r"http://viatic\.test/mot-de-passe/nouveau/\S+")
    phone.submit(link, {"password": "un autre mot de passe", "confirm": "un autre mot de passe"})
    assert laptop.get("/c/10145/").status_code == 302


def test_new_password_must_be_long_enough_and_confirmed(app, client, commune, make_member):
    user = make_member(commune)
    client.submit("/mot-de-passe/oublie", {"email": user.email})
    link = _link(app, user.email, r"http://viatic\.test/mot-de-passe/nouveau/\S+")
    short = client.submit(link, {"password": "court", "confirm": "court"})
    assert short.status_code == 400 and "Au moins 10 caractères" in short.get_data(as_text=True)
    differ = client.submit(link, {"password": "assez long mot", "confirm": "autre long mot"})
    assert "Les deux mots de passe diffèrent." in differ.get_data(as_text=True)


def test_invitation_lets_a_new_person_set_a_password_and_join(app, client, commune, make_member):
    admin = make_member(commune, role="maire", admin=True)
    client.login(admin.email)
    response = client.submit(
        "/c/10145/admin/membres/inviter",
        {"email": "Nouvelle.Agente@Exemple.fr", "role": "agent"},
        page="/c/10145/admin/membres",
    )
    assert response.status_code == 302
    link = _link(app, "nouvelle.agente@exemple.fr", r"http://viatic\.test/invitation/\S+")
    newcomer = app.test_client()
    page = newcomer.get(link).get_data(as_text=True)
    assert "Rejoindre Faux-Villecerf" in page
    joined = newcomer.submit(
        link,
        {"name": "Inès Agente", "password": "une phrase secrète", "confirm": "une phrase secrète"},
    )
    assert joined.headers["Location"].endswith("/c/10145/")
    assert newcomer.get("/c/10145/").status_code == 200
    with app.app_context():
        user = db.scalar(select(User).where(User.email == "nouvelle.agente@exemple.fr"))
        membership = db.scalar(select(Membership).where(Membership.user_id == user.id))
        assert membership.role == "agent"
    # The link served once.
    assert app.test_client().get(link).status_code == 400


def test_invitation_of_an_existing_account_asks_to_sign_in_first(
    app, client, commune, other_commune, make_member
):
    admin = make_member(commune, role="maire", admin=True)
    neighbour = make_member(other_commune, role="maire")
    client.login(admin.email)
    client.submit(
        "/c/10145/admin/membres/inviter",
        {"email": neighbour.email, "role": "conseiller"},
        page="/c/10145/admin/membres",
    )
    link = _link(app, neighbour.email, r"http://viatic\.test/invitation/\S+")
    other = app.test_client()
    assert "/connexion" in other.get(link).headers["Location"]
    other.login(neighbour.email)
    assert other.submit(link, {}).headers["Location"].endswith("/c/10145/")
    assert other.get("/c/10145/").status_code == 200


def test_expired_invitation_is_refused(app, client, commune, make_member):
    admin = make_member(commune, role="maire", admin=True)
    client.login(admin.email)
    client.submit(
        "/c/10145/admin/membres/inviter",
        {"email": "tard@exemple.fr", "role": "agent"},
        page="/c/10145/admin/membres",
    )
    link = _link(app, "tard@exemple.fr", r"http://viatic\.test/invitation/\S+")
    with app.app_context():
        invitation = db.scalar(select(Invitation))
        invitation.expires_at = invitation.created_at - dt.timedelta(seconds=1)
        db.commit()
    assert app.test_client().get(link).status_code == 400


def test_emails_are_delivered_by_the_outbox_to_the_dev_mailbox(app, client, commune, make_member):
    user = make_member(commune)
    client.submit("/mot-de-passe/oublie", {"email": user.email})
    with app.app_context():
        assert outbox.deliver_due() == 1
        email = db.scalar(select(EmailMessage))
        assert email.sent_at is not None
    admin = make_member(None, platform_admin=True)
    client.login(admin.email)
    assert "Réinitialisation de votre mot de passe" in client.get("/admin/courriels").get_data(
        as_text=True
    )


@pytest.mark.redis
def test_throttling_counters_in_redis_are_shared_by_workers(database_backend, tmp_path):
    """Two workers on one Redis: failures counted by one throttle the other."""
    import os
    import uuid

    import redis

    from core.testing import make_app, unavailable

    url = os.environ.get("VIATIC_TEST_REDIS_URL")
    if not url:
        unavailable("Redis tests need VIATIC_TEST_REDIS_URL")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable: {type(exc).__name__}")
    prefix = f"viatic-test-{uuid.uuid4().hex[:8]}:"
    database = database_backend.fresh_url(tmp_path)
    first, second = (make_app(database, [], REDIS_URL=url, REDIS_PREFIX=prefix) for _ in range(2))
    client = redis.Redis.from_url(url)
    try:
        for _ in range(5):
            first.test_client().submit("/connexion", {"email": "maire@exemple.fr", "password": "x"})
        response = second.test_client().submit(
            "/connexion", {"email": "maire@exemple.fr", "password": "x"}
        )
        assert response.status_code == 429
        keys = client.keys(f"{prefix}*")
        assert len(keys) == 2 and all(0 < client.ttl(k) <= 15 * 60 for k in keys)
    finally:
        for key in client.keys(f"{prefix}*"):
            client.delete(key)


def test_throttling_falls_back_to_the_database_when_redis_is_down(database_backend, tmp_path):
    from core.testing import make_app

    app = make_app(database_backend.fresh_url(tmp_path), [], REDIS_URL="redis://127.0.0.1:1/0")
    for _ in range(5):
        app.test_client().submit("/connexion", {"email": "maire@exemple.fr", "password": "x"})
    response = app.test_client().submit(
        "/connexion", {"email": "maire@exemple.fr", "password": "x"}
    )
    assert response.status_code == 429


def test_reset_links_are_limited_to_three_an_hour(app, client, commune, make_member):
    user = make_member(commune)
    for _ in range(5):
        response = client.submit(
            "/mot-de-passe/oublie", {"email": user.email}, follow_redirects=True
        )
        assert "Si un compte existe pour cette adresse" in response.get_data(as_text=True)
    with app.app_context():
        sent = db.scalars(select(EmailMessage).where(EmailMessage.recipient == user.email)).all()
    assert len(sent) == 3
