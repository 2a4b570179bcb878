"""The second factor: enrolment, the code after the password, recovery codes, turning it off,
and the rule that admins must have one."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pyotp
import pytest
from sqlalchemy import select

from core import totp
from core.db import db
from core.models import AuditEvent, RecoveryCode, User

SECURITY = "/compte/securite"
START = "/compte/securite/double-authentification"
CONFIRM = "/compte/securite/double-authentification/confirmer"
DISABLE = "/compte/securite/double-authentification/desactiver"
RENEW = "/compte/securite/codes-de-secours"
CODE = "/connexion/code"
RECOVERY = re.compile(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>")


def page_text(response) -> str:
    """What the person reads: the page with its HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


@dataclass
class Clock:
    now: float = 1_800_000_000.0  # the first second of a 30-second step

    def tick(self, steps: int = 1) -> None:
        self.now += 30 * steps


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock of the codes, moved by the test rather than by sleeping."""
    fixed = Clock()
    monkeypatch.setattr(totp, "now", lambda: fixed.now)
    return fixed


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


def enrol(client, clock: Clock) -> tuple[str, list[str]]:
    """Enrol the signed-in person as they would: the key read on the page, a code typed."""
    client.submit(START, page=SECURITY)
    page = page_text(client.get(SECURITY))
    secret = re.search(r'id="cle-secrete">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    confirmed = client.submit(CONFIRM, {"code": code_at(secret, clock.now)}, page=SECURITY)
    assert confirmed.status_code == 200, confirmed.status_code
    clock.tick()  # the code just typed cannot serve again
    return secret, RECOVERY.findall(page_text(confirmed))


def actions(app) -> list[tuple[str, dict]]:
    with app.app_context():
        return [
            (e.action, e.details) for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def sign_out(client) -> None:
    client.submit("/deconnexion", page="/compte/preferences")


def test_enrolment_shows_the_key_and_is_confirmed_by_a_current_code(
    app, client, commune, make_member, clock
):
    user = make_member(commune)
    client.login(user.email)
    page = page_text(client.get(SECURITY))
    assert "Désactivée" in page and "Configurer la double authentification" in page

    client.submit(START, page=SECURITY)
    page = page_text(client.get(SECURITY))
    secret = re.search(r'id="cle-secrete">([A-Z2-7 ]+)<', page).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", secret), secret  # grouped by four
    secret = secret.replace(" ", "")
    email = user.email.replace("@", "%40")
    assert f"otpauth://totp/Viatic:{email}?secret={secret}&issuer=Viatic" in page
    assert '<svg role="img"' in page and "<title>QR code de la double" in page
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    with app.app_context():
        stored = db.scalar(select(User).where(User.id == user.id)).totp_secret
    assert stored.startswith("enc:") and secret not in stored

    wrong = client.submit(CONFIRM, {"code": "000000"}, page=SECURITY)
    assert wrong.status_code == 400
    text = page_text(wrong)
    assert "Ce code ne correspond pas" in text and 'role="alert"' in text
    assert 'aria-invalid="true"' in text
    assert "Configurer" not in text and "Activée" not in text  # still waiting for a good code

    right = client.submit(CONFIRM, {"code": code_at(secret, clock.now)}, page=SECURITY)
    assert right.status_code == 200
    assert right.headers["Cache-Control"] == "no-store"
    text = page_text(right)
    assert "La double authentification est activée." in text
    codes = RECOVERY.findall(text)
    assert len(codes) == 10 == len(set(codes))
    page = page_text(client.get(SECURITY))
    assert "Activée" in page and "Il vous reste 10 codes de secours inutilisés." in page
    assert all(code not in page for code in codes)  # shown once
    with app.app_context():
        hashes = db.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not {c.replace("-", "") for c in codes} & set(hashes)
    assert ("totp.enabled", {}) in actions(app)


def test_the_login_asks_for_the_code_after_the_password(app, client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    secret, _codes = enrol(client, clock)
    sign_out(client)

    response = client.submit(
        "/connexion", {"email": user.email, "password": "mot-de-passe-de-test"}
    )
    assert response.headers["Location"] == CODE
    assert client.get("/c/10145/").status_code == 302  # not signed in yet
    page = page_text(client.get(CODE))
    assert "Code de vérification" in page and 'autocomplete="one-time-code"' in page
    done = client.submit(CODE, {"code": code_at(secret, clock.now)})
    assert done.status_code == 302
    assert client.get("/c/10145/").status_code == 200
    assert client.get(CODE).headers["Location"] == "/connexion"  # the half-login is spent
    events = actions(app)
    assert ("login.password_accepted", {}) in events
    assert ("login.success", {"second_factor": "totp"}) in events


def test_the_second_step_leads_where_the_person_was_going(client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    secret, _codes = enrol(client, clock)
    sign_out(client)
    client.submit(
        "/connexion?next=/compte/preferences",
        {"email": user.email, "password": "mot-de-passe-de-test", "next": "/compte/preferences"},
        page="/connexion?next=/compte/preferences",
    )
    done = client.submit(CODE, {"code": code_at(secret, clock.now)})
    assert done.headers["Location"] == "/compte/preferences"


def test_a_wrong_code_is_refused_and_audited(app, client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    enrol(client, clock)
    sign_out(client)
    client.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    wrong = client.submit(CODE, {"code": "123456"})
    assert wrong.status_code == 401
    text = page_text(wrong)
    assert 'role="alert"' in text and "Code incorrect ou déjà utilisé." in text
    assert client.get("/c/10145/").status_code == 302
    assert ("login.second_factor_failure", {"method": "totp"}) in actions(app)


def test_wrong_codes_are_throttled_like_passwords(client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    secret, _codes = enrol(client, clock)
    sign_out(client)
    client.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    for _ in range(5):
        assert client.submit(CODE, {"code": "000000"}).status_code == 401
    blocked = client.submit(CODE, {"code": code_at(secret, clock.now)})
    assert blocked.status_code == 429
    assert "Trop de tentatives de connexion" in page_text(blocked)
    assert client.get("/c/10145/").status_code == 302


def test_a_code_serves_once_and_a_step_early_or_late(app, commune, make_member, clock):
    user = make_member(commune)
    laptop, phone = app.test_client(), app.test_client()
    laptop.login(user.email)
    secret, _codes = enrol(laptop, clock)

    phone.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    code = code_at(secret, clock.now)
    assert phone.submit(CODE, {"code": code}).status_code == 302
    sign_out(phone)
    phone.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    assert phone.submit(CODE, {"code": code}).status_code == 401  # replayed in its step
    # A code of the next step is accepted (the phone's clock runs ahead)...
    assert phone.submit(CODE, {"code": code_at(secret, clock.now + 30)}).status_code == 302
    sign_out(phone)
    # ...after which the current step's codes are spent too; one two steps away never served.
    clock.tick()
    phone.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    assert phone.submit(CODE, {"code": code_at(secret, clock.now)}).status_code == 401
    assert phone.submit(CODE, {"code": code_at(secret, clock.now + 60)}).status_code == 401
    clock.tick(2)
    # A step late (the phone's clock runs behind) is fine.
    assert phone.submit(CODE, {"code": code_at(secret, clock.now - 30)}).status_code == 302


def test_a_recovery_code_works_once(app, client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    _secret, codes = enrol(client, clock)
    sign_out(client)

    client.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    used = client.submit(CODE, {"recovery_code": codes[3].upper()}, follow_redirects=True)
    assert "Code de secours accepté ; il ne servira plus. Il vous en reste 9" in page_text(used)
    assert client.get("/c/10145/").status_code == 200
    assert ("login.success", {"second_factor": "recovery"}) in actions(app)
    sign_out(client)

    client.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    again = client.submit(CODE, {"recovery_code": codes[3]})
    assert again.status_code == 401
    assert "Ce code de secours n'est pas valable ou a déjà servi." in page_text(again)
    assert ("login.second_factor_failure", {"method": "recovery"}) in actions(app)
    assert client.submit(CODE, {"recovery_code": codes[4]}).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(app, client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    _secret, old = enrol(client, clock)
    renewed = client.submit(RENEW, page=SECURITY)
    text = page_text(renewed)
    assert "les anciens ne fonctionnent plus" in text
    new = RECOVERY.findall(text)
    assert len(new) == 10 and not set(new) & set(old)
    sign_out(client)

    client.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    assert client.submit(CODE, {"recovery_code": old[0]}).status_code == 401
    assert client.submit(CODE, {"recovery_code": new[0]}).status_code == 302
    assert ("totp.recovery_codes_renewed", {}) in actions(app)


def test_turning_the_second_factor_off_takes_a_code(app, client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    secret, _codes = enrol(client, clock)

    refused = client.submit(DISABLE, {"code": "999999"}, page=SECURITY)
    assert refused.status_code == 400
    text = page_text(refused)
    assert "Ce code n'est pas valable ou a déjà servi." in text and 'role="alert"' in text
    assert "Activée" in text
    assert any(action == "totp.disable_failure" for action, _ in actions(app))

    done = client.submit(DISABLE, {"code": code_at(secret, clock.now)}, page=SECURITY)
    assert done.status_code == 302
    page = page_text(client.get(SECURITY))
    assert "Double authentification désactivée." in page and "Configurer" in page
    assert ("totp.disabled", {"with": "totp"}) in actions(app)
    with app.app_context():
        stored = db.get(User, user.id)
        assert stored.totp_secret is None and stored.totp_enabled_at is None
        assert db.scalar(select(RecoveryCode)) is None
    sign_out(client)
    client.login(user.email)  # the password alone again
    assert client.get("/c/10145/").status_code == 200


def test_a_recovery_code_can_turn_the_second_factor_off(app, client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    _secret, codes = enrol(client, clock)
    assert client.submit(DISABLE, {"code": codes[0]}, page=SECURITY).status_code == 302
    assert ("totp.disabled", {"with": "recovery"}) in actions(app)


def test_an_expired_half_login_starts_over(client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    secret, _codes = enrol(client, clock)
    sign_out(client)
    client.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    with client.session_transaction() as session:
        session["half_login"] = {**session["half_login"], "exp": 0}
    late = client.submit(CODE, {"code": code_at(secret, clock.now)}, page="/connexion")
    assert late.headers["Location"] == "/connexion"
    page = page_text(client.get("/connexion"))
    assert "Votre connexion a expiré" in page
    assert client.get("/c/10145/").status_code == 302


def test_a_password_reset_ends_a_half_login(app, client, commune, make_member, clock):
    user = make_member(commune)
    client.login(user.email)
    enrol(client, clock)
    sign_out(client)
    client.submit("/connexion", {"email": user.email, "password": "mot-de-passe-de-test"})
    with app.app_context():
        from core import auth

        auth.set_password(db.get(User, user.id), "un tout autre mot de passe")
        db.commit()
    assert client.get(CODE).headers["Location"] == "/connexion"
    assert client.get("/c/10145/").status_code == 302


# --- Admins must have a second factor ---------------------------------------------------------


def test_a_commune_admin_without_a_second_factor_is_sent_to_enrol(
    app, client, commune, make_member, enable_module, clock
):
    app.config["ADMIN_TOTP_REQUIRED"] = True
    enable_module(commune, "meteo")
    admin = make_member(commune, role="maire", admin=True)
    client.login(admin.email)
    for path in ("/c/10145/", "/c/10145/admin/membres", "/compte/notifications"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == SECURITY, path
    page = page_text(client.get(SECURITY))
    assert "Votre rôle d'administrateur demande une double authentification." in page
    api = client.get("/api/v1/c/10145/meteo/bulletin")
    assert api.status_code == 403 and api.is_json
    assert "demande une double authentification" in str(api.json)
    assert client.get("/accessibilite").status_code == 200  # public pages stay open

    enrol(client, clock)
    assert client.get("/c/10145/").status_code == 200
    assert client.get("/api/v1/c/10145/meteo/bulletin").status_code == 200
    assert "demande une double" not in page_text(client.get(SECURITY))


def test_a_platform_admin_without_a_second_factor_is_sent_to_enrol(app, client, make_member, clock):
    app.config["ADMIN_TOTP_REQUIRED"] = True
    admin = make_member(None, platform_admin=True)
    client.login(admin.email)
    assert client.get("/admin/").headers["Location"] == SECURITY
    enrol(client, clock)
    assert client.get("/admin/").status_code == 200


def test_a_member_who_administers_nothing_is_not_asked(
    app, client, commune, make_member, enable_module
):
    app.config["ADMIN_TOTP_REQUIRED"] = True
    enable_module(commune, "meteo")
    client.login(make_member(commune, role="adjoint").email)
    assert client.get("/c/10145/").status_code == 200
    assert client.get("/api/v1/c/10145/meteo/bulletin").status_code == 200
    assert "demande une double" not in page_text(client.get(SECURITY))


def test_the_rule_is_on_outside_the_tests(app):
    from core.app import DEFAULTS

    assert DEFAULTS["ADMIN_TOTP_REQUIRED"] is True


def test_the_command_line_removes_a_lost_second_factor(
    app, client, commune, make_member, clock, monkeypatch, tmp_path
):
    from click.testing import CliRunner

    from core.cli import main

    user = make_member(commune)
    client.login(user.email)
    enrol(client, clock)
    sign_out(client)
    monkeypatch.setenv("VIATIC_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("VIATIC_SECRET_KEY", app.config["SECRET_KEY"])
    monkeypatch.setenv("VIATIC_INSTANCE_PATH", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["users", "remove-second-factor", user.email])
    assert result.exit_code == 0, result.output
    assert "Double authentification retirée" in result.output
    client.login(user.email)  # the password alone
    assert client.get("/c/10145/").status_code == 200
    assert ("totp.disabled", {"with": "cli"}) in actions(app)
