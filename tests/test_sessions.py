"""A person's sessions: listed on the security page, closed one by one or all but this one;
and the signed-in page still costs one SQL statement."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pyotp
from sqlalchemy import event, select

from core import auth, totp
from core.db import db, utcnow
from core.models import AuditEvent, Notification, User, UserSession
from core.settings import encrypt

SECURITY = "/compte/securite"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)


def page_text(response) -> str:
    """What the person reads: the page with its HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def browser(app, user_agent: str, ip: str):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": ip})
    return client


def revoke_buttons(page: str) -> list[str]:
    return re.findall(r'action="(/compte/securite/sessions/\d+/fermer)"', page)


def test_the_sessions_are_listed_with_device_address_and_dates(app, commune, make_member):
    user = make_member(commune)
    laptop = browser(app, FIREFOX_LINUX, "192.0.2.10")
    phone = browser(app, SAFARI_IPHONE, "198.51.100.7")
    laptop.login(user.email)
    phone.login(user.email)
    page = page_text(laptop.get(SECURITY))
    assert "Sessions ouvertes" in page
    assert "Firefox sur Linux <strong>(cet appareil)</strong>" in page
    assert "Safari sur iPhone" in page
    assert "192.0.2.10" in page and "198.51.100.7" in page
    assert len(revoke_buttons(page)) == 1  # the other one; this one signs out from the menu
    assert 'href="/compte/securite"' in page  # the account menu's link


def test_closing_a_session_signs_that_browser_out_at_its_next_request(app, commune, make_member):
    user = make_member(commune)
    laptop = browser(app, FIREFOX_LINUX, "192.0.2.10")
    phone = browser(app, SAFARI_IPHONE, "198.51.100.7")
    laptop.login(user.email)
    phone.login(user.email)
    assert phone.get("/c/10145/").status_code == 200
    [close_phone] = revoke_buttons(page_text(laptop.get(SECURITY)))
    closed = laptop.submit(close_phone, page=SECURITY, follow_redirects=True)
    text = page_text(closed)
    assert "Session fermée : cet appareil est déconnecté." in text
    assert "Safari sur iPhone" not in text
    assert phone.get("/c/10145/").headers["Location"].startswith("/connexion")
    assert laptop.get("/c/10145/").status_code == 200
    with app.app_context():
        assert db.scalar(select(AuditEvent.action).where(AuditEvent.action == "session.revoked"))


def test_a_session_of_someone_else_cannot_be_closed(app, commune, make_member):
    mine, theirs = make_member(commune), make_member(commune)
    client, other = app.test_client(), app.test_client()
    client.login(mine.email)
    other.login(theirs.email)
    with app.app_context():
        their_session = db.scalar(select(UserSession.id).where(UserSession.user_id == theirs.id))
    url = f"/compte/securite/sessions/{their_session}/fermer"
    assert client.submit(url, page=SECURITY).status_code == 404
    assert other.get("/c/10145/").status_code == 200


def test_closing_all_other_sessions_keeps_this_one(app, commune, make_member):
    user = make_member(commune)
    laptop = browser(app, FIREFOX_LINUX, "192.0.2.10")
    phone = browser(app, SAFARI_IPHONE, "198.51.100.7")
    office = browser(app, EDGE_WINDOWS, "203.0.113.5")
    for client in (laptop, phone, office):
        client.login(user.email)
    page = page_text(laptop.get(SECURITY))
    assert "Edge sur Windows" in page and "Fermer toutes les autres sessions" in page
    done = laptop.submit(
        "/compte/securite/sessions/fermer-les-autres", page=SECURITY, follow_redirects=True
    )
    text = page_text(done)
    assert "2 autres sessions fermées." in text
    assert revoke_buttons(text) == [] and "Fermer toutes les autres" not in text
    assert laptop.get("/c/10145/").status_code == 200
    for client in (phone, office):
        assert client.get("/c/10145/").status_code == 302


def test_closing_this_session_from_the_list_signs_out(app, client, commune, make_member):
    user = make_member(commune)
    client.login(user.email)
    with app.app_context():
        mine = db.scalar(select(UserSession.id).where(UserSession.user_id == user.id))
    client.submit(f"/compte/securite/sessions/{mine}/fermer", page=SECURITY)
    assert client.get("/c/10145/").status_code == 302


def test_a_cookie_kept_after_logout_no_longer_signs_in(app, client, commune, make_member):
    user = make_member(commune)
    client.login(user.email)
    kept = client.get_cookie("viatic_session", domain="viatic.test").value
    client.submit("/deconnexion", page="/c/10145/")
    with app.app_context():
        row = db.scalar(select(UserSession).where(UserSession.user_id == user.id))
        assert row.revoked_at is not None
    thief = app.test_client()
    thief.set_cookie("viatic_session", kept, domain="viatic.test")
    assert thief.get("/c/10145/").status_code == 302


def test_a_password_change_closes_every_other_session(app, commune, make_member):
    user = make_member(commune)
    laptop = browser(app, FIREFOX_LINUX, "192.0.2.10")
    phone = browser(app, SAFARI_IPHONE, "198.51.100.7")
    laptop.login(user.email)
    phone.login(user.email)
    new = "une nouvelle phrase secrète"
    laptop.submit(
        "/compte/mot-de-passe",
        {"current": "mot-de-passe-de-test", "password": new, "confirm": new},
    )
    assert phone.get("/c/10145/").status_code == 302
    assert laptop.get("/c/10145/").status_code == 200
    page = page_text(laptop.get(SECURITY))
    assert "Firefox sur Linux <strong>(cet appareil)</strong>" in page
    assert "Safari sur iPhone" not in page


def test_last_seen_and_the_cookie_are_renewed_at_most_every_five_minutes(
    app, client, commune, make_member
):
    """The session's last activity is written, and its cookie signed again with 14 more days,
    only when five minutes have passed: not on every page."""
    user = make_member(commune)
    client.login(user.email)

    def set_last_seen(minutes_ago: int) -> dt.datetime:
        with app.app_context():
            row = db.scalar(select(UserSession).where(UserSession.user_id == user.id))
            row.last_seen_at = utcnow() - dt.timedelta(minutes=minutes_ago)
            db.commit()
            return row.last_seen_at

    def last_seen() -> dt.datetime:
        with app.app_context():
            return db.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user.id))

    client.get("/c/10145/")  # the first page puts the form token in the session
    recent = set_last_seen(4)
    response = client.get("/c/10145/")
    assert response.status_code == 200
    assert last_seen() == recent
    assert "Set-Cookie" not in response.headers
    set_last_seen(6)
    response = client.get("/c/10145/")
    assert utcnow() - last_seen() < dt.timedelta(minutes=1)
    cookie = response.headers["Set-Cookie"]
    expires = dt.datetime.strptime(
        re.search(r"Expires=([^;]+)", cookie).group(1), "%a, %d %b %Y %H:%M:%S GMT"
    ).replace(tzinfo=dt.UTC)
    assert abs(expires - (utcnow() + dt.timedelta(days=14))) < dt.timedelta(minutes=1)
    assert client.get("/c/10145/").status_code == 200  # the renewed cookie still signs in


def test_old_sessions_are_forgotten_by_a_daily_job(app, commune, make_member):
    from core.scheduler import run_job_in_context, scheduled_jobs

    user = make_member(commune)
    for _ in range(3):
        app.test_client().login(user.email)
    assert scheduled_jobs(app)["core.forget_old_sessions"].job.trigger_args == {"days": 1}
    with app.app_context():
        closed, expired, alive = db.scalars(select(UserSession).order_by(UserSession.id)).all()
        closed.revoked_at = utcnow()
        expired.last_seen_at = utcnow() - dt.timedelta(days=15)
        db.commit()
        assert run_job_in_context("core.forget_old_sessions")
        assert db.scalars(select(UserSession.id)).all() == [alive.id]


# --- The signed-in page in one statement --------------------------------------------------------


@contextmanager
def counting_statements(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()))

    engine = app.extensions["viatic.db"].engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_dashboard_of_a_signed_in_member_is_one_sql_statement(
    app, client, commune, other_commune, make_member
):
    user = make_member(commune, role="conseiller")
    make_member(other_commune, role="citoyen", email=user.email)
    with app.app_context():
        db.add(Notification(user_id=user.id, type="core.member_joined", title="Bienvenue"))
        db.commit()
    client.login(user.email)
    assert client.get("/c/10145/").status_code == 200  # fills the role table's cache
    with counting_statements(app) as statements:
        page = client.get("/c/10145/")
    assert page.status_code == 200 and "Dierrey-Saint-Julien" in page_text(page)
    assert len(statements) == 1, statements
    assert "user_session" in statements[0] and "membership" in statements[0]


def test_the_dashboard_of_an_enrolled_admin_is_one_sql_statement_too(
    app, client, commune, make_member
):
    """The rule that admins need a second factor reads what the one statement loaded."""
    app.config["ADMIN_TOTP_REQUIRED"] = True
    admin = make_member(commune, role="maire", admin=True)
    secret = pyotp.random_base32()
    with app.app_context():
        user = db.get(User, admin.id)
        user.totp_secret = encrypt(secret)
        user.totp_enabled_at = utcnow()
        db.commit()
    client.login(admin.email, code=pyotp.TOTP(secret).at(totp.now()))
    assert client.get("/c/10145/").status_code == 200
    with counting_statements(app) as statements:
        assert client.get("/c/10145/").status_code == 200
    assert len(statements) == 1, statements


def test_the_session_id_is_stored_hashed(app, client, commune, make_member):
    user = make_member(commune)
    client.login(user.email)
    with client.session_transaction() as session:
        sid = session["sid"]
    with app.app_context():
        row = db.scalar(select(UserSession).where(UserSession.user_id == user.id))
        assert row.sid_hash == auth.token_hash(sid) != sid
        assert row.revoked_at is None and row.ip == "127.0.0.1"
