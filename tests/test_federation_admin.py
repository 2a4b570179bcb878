"""The platform admin registers identity providers; an invitation accepted by a federated login."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from connectors.http import BREAKERS
from core.db import db
from core.models import AuditEvent, EmailMessage, IdentityProvider, Membership, User
from core.testing import make_app
from tests.conftest import FAKE_PLUGINS
from tests.fake_oidc_provider import FakeProvider, running_fake_provider

CALLBACK = "http://viatic.test/connexion/avec/fc-test/retour"
SECRET = "le-secret-du-client-fc"


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with running_fake_provider(
        "franceconnect",
        client_id="viatic-fc",
        client_secret=SECRET,
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=["http://viatic.test/deconnexion/retour"],
    ) as provider:
        provider.next_identity = {
            "given_name": "Paul",
            "family_name": "LEROY",
            "email": "paul.leroy@example.fr",
        }
        yield provider


def _form(fake: FakeProvider, **changes: Any) -> dict[str, Any]:
    data = {
        "kind": "franceconnect",
        "label": "FranceConnect (test)",
        "slug": "fc-test",
        "discovery_url": fake.discovery_url,
        "client_id": "viatic-fc",
        "client_secret": SECRET,
        "scopes": "",
        "enabled": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _sign_in(client: Any, slug: str) -> Any:
    start = client.get(f"/connexion/avec/{slug}")
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    answer = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


@pytest.fixture
def admin_client(app, make_member) -> Any:
    make_member(None, platform_admin=True, email="plateforme@viatic.fr")
    client = app.test_client()
    client.login("plateforme@viatic.fr")
    return client


def test_a_provider_added_on_the_admin_page_signs_people_in(app, admin_client, fake):
    saved = admin_client.submit("/admin/identite/nouveau", _form(fake))
    assert saved.status_code == 302
    listing = admin_client.get("/admin/identite").get_data(as_text=True)
    assert "FranceConnect (test)" in listing
    assert CALLBACK in listing  # the address to register at the provider
    assert SECRET not in listing
    with app.app_context():
        row = db.scalar(select(IdentityProvider))
        assert row.client_secret.startswith("enc:") and SECRET not in row.client_secret
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "identity_provider.saved"))
        assert SECRET not in str(event.details) and event.details["after"]["slug"] == "fc-test"
    visitor = app.test_client()
    assert "S'identifier avec FranceConnect (test)" in visitor.get("/connexion").get_data(
        as_text=True
    )
    assert _sign_in(visitor, "fc-test").status_code == 302
    with app.app_context():
        assert db.scalar(select(User.name).where(User.email == "paul.leroy@example.fr")) == (
            "Paul LEROY"
        )


def test_editing_keeps_the_secret_when_left_empty_and_hiding_removes_the_button(
    app, admin_client, fake
):
    admin_client.submit("/admin/identite/nouveau", _form(fake))
    with app.app_context():
        row_id = db.scalar(select(IdentityProvider.id))
    form = admin_client.get(f"/admin/identite/{row_id}").get_data(as_text=True)
    assert SECRET not in form
    saved = admin_client.submit(
        f"/admin/identite/{row_id}", _form(fake, client_secret="", enabled=None)
    )
    assert saved.status_code == 302
    visitor = app.test_client()
    assert "FranceConnect (test)" not in visitor.get("/connexion").get_data(as_text=True)
    assert visitor.get("/connexion/avec/fc-test").status_code == 404
    admin_client.submit(f"/admin/identite/{row_id}", _form(fake, client_secret=""))
    assert _sign_in(app.test_client(), "fc-test").status_code == 302  # the secret was kept


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slug": "FC Test"}, "lettres minuscules, chiffres et tirets"),
        ({"discovery_url": "pas une adresse"}, "adresse web complète"),
        ({"client_secret": ""}, "Ce champ est obligatoire"),
        ({"label": ""}, "Ce champ est obligatoire"),
    ],
)
def test_bad_values_are_refused_with_a_message(app, admin_client, fake, changes, message):
    answer = admin_client.submit("/admin/identite/nouveau", _form(fake, **changes))
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    with app.app_context():
        assert db.scalar(select(IdentityProvider)) is None


def test_a_slug_of_the_environment_is_taken(database_backend, tmp_path, make_member, fake):
    application = make_app(
        database_backend.fresh_url(tmp_path),
        FAKE_PLUGINS,
        OIDC_PROVIDERS=[
            {
                "slug": "fc-test",
                "kind": "franceconnect",
                "discovery_url": fake.discovery_url,
                "client_id": "viatic-fc",
                "client_secret": SECRET,
            }
        ],
    )
    with application.app_context():
        from core import auth

        admin = User(email="plateforme@viatic.fr", name="Admin", is_platform_admin=True)
        auth.set_password(admin, "mot-de-passe-de-test")
        db.add(admin)
        db.commit()
    client = application.test_client()
    client.login("plateforme@viatic.fr")
    listing = client.get("/admin/identite").get_data(as_text=True)
    assert "VIATIC_OIDC_PROVIDERS" in listing
    answer = client.submit("/admin/identite/nouveau", _form(fake))
    assert answer.status_code == 400 and "déjà pris" in answer.get_data(as_text=True)
    application.extensions["viatic.db"].engine.dispose()


def test_check_says_what_the_provider_answers(app, admin_client, fake):
    admin_client.submit("/admin/identite/nouveau", _form(fake))
    ok = admin_client.submit(
        "/admin/identite/fc-test/verifier", page="/admin/identite", follow_redirects=True
    )
    assert f"émetteur {fake.issuer}" in ok.get_data(as_text=True)
    fake.fail_with_status = 503
    BREAKERS.clear()
    down = admin_client.submit(
        "/admin/identite/fc-test/verifier", page="/admin/identite", follow_redirects=True
    )
    assert "ne répond pas comme prévu" in down.get_data(as_text=True)


def test_only_platform_admins_manage_providers(app, commune, make_member):
    make_member(commune, "maire", admin=True, email="maire@example.fr")
    client = app.test_client()
    client.login("maire@example.fr")
    assert client.get("/admin/identite").status_code == 403
    assert client.get("/admin/identite/nouveau").status_code == 403


def _invitation(app: Any, commune: Any, make_member: Any, email: str, role: str) -> str:
    """The maire invites ``email``; the path of the link in the e-mail."""
    maire = make_member(commune, role="maire", admin=True)
    inviter = app.test_client()
    inviter.login(maire.email)
    inviter.submit(
        "/c/10145/admin/membres/inviter",
        {"email": email, "role": role},
        page="/c/10145/admin/membres",
    )
    with app.app_context():
        body = db.scalar(select(EmailMessage.body).where(EmailMessage.recipient == email))
    return urlsplit(next(w for w in body.split() if "/invitation/" in w)).path


def test_an_invitation_is_accepted_by_a_federated_login(
    app, admin_client, fake, commune, make_member
):
    admin_client.submit("/admin/identite/nouveau", _form(fake))
    link = _invitation(app, commune, make_member, "paul.leroy@example.fr", "conseiller")
    client = app.test_client()
    page = client.get(link).get_data(as_text=True)
    assert "S'identifier avec FranceConnect (test)" in page
    start = client.get(f"/connexion/avec/fc-test?next={link}")
    answer = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(answer.headers["Location"])
    landed = client.get(f"{back.path}?{back.query}")
    assert landed.headers["Location"] == link
    assert "Rejoindre la commune" in client.get(link).get_data(as_text=True)
    joined = client.submit(link, {})
    assert joined.headers["Location"].endswith("/c/10145/")
    with app.app_context():
        user = db.scalar(select(User).where(User.email == "paul.leroy@example.fr"))
        membership = db.scalar(select(Membership).where(Membership.user_id == user.id))
        assert (membership.commune_id, membership.role) == (commune.id, "conseiller")


def test_an_invitation_to_another_address_joins_the_signed_in_person(
    app, admin_client, fake, commune, make_member
):
    """The link was sent to the invited address: whoever holds it may accept it with the
    account they sign in with (a ProConnect identity often has another address)."""
    admin_client.submit("/admin/identite/nouveau", _form(fake))
    link = _invitation(app, commune, make_member, "p.leroy@mairie.fr", "agent")
    client = app.test_client()
    _sign_in(client, "fc-test")
    assert "Rejoindre la commune" in client.get(link).get_data(as_text=True)
    client.submit(link, {})
    with app.app_context():
        user = db.scalar(select(User).where(User.email == "paul.leroy@example.fr"))
        assert db.scalar(select(Membership.role).where(Membership.user_id == user.id)) == "agent"
