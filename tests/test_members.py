"""The commune admin's member pages, and a person's own account pages."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.models import AuditEvent, Membership, Notification


def _membership_id(app, user):
    with app.app_context():
        return db.scalar(select(Membership.id).where(Membership.user_id == user.id))


def test_admin_changes_a_role_and_the_person_is_notified(app, client, commune, make_member):
    admin = make_member(commune, role="maire", admin=True)
    agent = make_member(commune, role="agent")
    client.login(admin.email)
    url = f"/c/10145/admin/membres/{_membership_id(app, agent)}"
    assert client.submit(url, {"role": "adjoint"}).status_code == 302
    with app.app_context():
        assert db.scalar(select(Membership.role).where(Membership.user_id == agent.id)) == "adjoint"
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "member.role_changed"))
        assert (
            event.details["before"]["role"] == "agent"
            and event.details["after"]["role"] == "adjoint"
        )
        note = db.scalar(select(Notification).where(Notification.user_id == agent.id))
        assert note.title == "Votre rôle à Faux-Villecerf : Adjoint·e"


def test_the_last_commune_admin_cannot_be_demoted_or_removed(app, client, commune, make_member):
    admin = make_member(commune, role="maire", admin=True)
    client.login(admin.email)
    url = f"/c/10145/admin/membres/{_membership_id(app, admin)}"
    response = client.submit(url, {"role": "maire"})  # admin box unchecked
    assert response.status_code == 400
    assert "La commune doit garder au moins un administrateur." in response.get_data(as_text=True)
    removed = client.submit(f"{url}/retirer", page=url, follow_redirects=True)
    assert "La commune doit garder au moins un administrateur." in removed.get_data(as_text=True)
    with app.app_context():
        assert (
            db.scalar(select(Membership.is_commune_admin).where(Membership.user_id == admin.id))
            is True
        )


def test_admin_removes_a_member_who_then_loses_access(app, client, commune, make_member):
    admin = make_member(commune, role="maire", admin=True)
    leaving = make_member(commune, role="conseiller")
    client.login(admin.email)
    url = f"/c/10145/admin/membres/{_membership_id(app, leaving)}"
    assert client.submit(f"{url}/retirer", page=url).status_code == 302
    other = app.test_client()
    other.login(leaving.email)
    assert other.get("/c/10145/").status_code == 403


def test_invitation_with_an_invalid_address_says_why(client, commune, make_member):
    client.login(make_member(commune, role="maire", admin=True).email)
    response = client.submit(
        "/c/10145/admin/membres/inviter",
        {"email": "pas-une-adresse", "role": "agent"},
        page="/c/10145/admin/membres",
    )
    assert response.status_code == 400
    assert "Saisissez une adresse e-mail valide." in response.get_data(as_text=True)


def test_inviting_a_member_twice_is_refused(client, commune, make_member):
    client.login(make_member(commune, role="maire", admin=True).email)
    member = make_member(commune, role="agent")
    response = client.submit(
        "/c/10145/admin/membres/inviter",
        {"email": member.email, "role": "agent"},
        page="/c/10145/admin/membres",
    )
    assert "Cette personne est déjà membre de la commune." in response.get_data(as_text=True)


def test_a_membership_of_another_commune_answers_404(
    app, client, commune, other_commune, make_member
):
    admin = make_member(commune, role="maire", admin=True)
    make_member(other_commune, role="maire", admin=True, email=admin.email)
    stranger = make_member(other_commune, role="agent")
    client.login(admin.email)
    # Admin of both communes, but the membership belongs to 10124: not reachable under 10145.
    assert client.get(f"/c/10145/admin/membres/{_membership_id(app, stranger)}").status_code == 404


def test_password_change_needs_the_current_password_and_ends_other_sessions(
    app, commune, make_member
):
    from core.testing import PASSWORD

    user = make_member(commune)
    phone, laptop = app.test_client(), app.test_client()
    phone.login(user.email)
    laptop.login(user.email)
    wrong = laptop.submit(
        "/compte/mot-de-passe",
        {"current": "faux", "password": "nouveau mot de passe", "confirm": "nouveau mot de passe"},
    )
    assert wrong.status_code == 400 and "Le mot de passe actuel est incorrect." in wrong.get_data(
        as_text=True
    )
    ok = laptop.submit(
        "/compte/mot-de-passe",
        {
            "current": PASSWORD,
            "password": "nouveau mot de passe",
            "confirm": "nouveau mot de passe",
        },
    )
    assert ok.status_code == 302
    assert laptop.get("/c/10145/").status_code == 200
    assert phone.get("/c/10145/").status_code == 302


def test_platform_admin_finds_communes_and_sees_plugins(client, commune, make_member):
    client.login(make_member(None, platform_admin=True).email)
    found = client.get("/admin/communes?q=faux").get_data(as_text=True)
    assert "Faux-Villecerf" in found and "10145" in found
    plugins = client.get("/admin/plugins").get_data(as_text=True)
    assert "Météo" in plugins and "deliver_outbox" in plugins
