"""Signing in through FranceConnect and ProConnect (a fake that enforces their contract)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from core.db import db
from core.models import AuditEvent, EmailMessage, FederatedIdentity, User
from core.testing import PASSWORD, make_app
from tests.conftest import FAKE_PLUGINS
from tests.fake_oidc_provider import FakeProvider, running_fake_provider

CALLBACK = "http://viatic.test/connexion/avec/{slug}/retour"
LOGGED_OUT = "http://viatic.test/deconnexion/retour"
IDENTITIES = {
    "franceconnect": {
        "given_name": "Angela Claire Louise",
        "family_name": "DUBOIS",
        "email": "angela.dubois@example.fr",
        "birthdate": "1962-08-24",
        "gender": "female",
    },
    "proconnect": {
        "given_name": "Jean",
        "usual_name": "Martin",
        "email": "jean.martin@mairie-faux-villecerf.fr",
        "siret": "21100145000017",
        "organization_label": "Commune de Faux-Villecerf",
        "uid": "jmartin",
        "idp_id": "fia1",
        "roles": ["agent_public_territorial"],
    },
}


@pytest.fixture(params=["franceconnect", "proconnect"])
def provider(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    kind = request.param
    with running_fake_provider(
        kind,
        client_id=f"viatic-{kind}",
        client_secret="s3cret-of-the-test",
        redirect_uris=[CALLBACK.format(slug=kind)],
        post_logout_redirect_uris=[LOGGED_OUT],
    ) as fake:
        fake.next_identity = dict(IDENTITIES[kind])
        fake.slug = kind  # the portal registers each provider under its kind's name
        yield fake


def _settings(fake: FakeProvider, slug: str, **extra: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "kind": slug,
        "discovery_url": fake.discovery_url,
        "client_id": f"viatic-{slug}",
        "client_secret": "s3cret-of-the-test",
        **extra,
    }


@pytest.fixture
def fed_app(database_backend, tmp_path, provider):
    slug = provider.slug
    application = make_app(
        database_backend.fresh_url(tmp_path),
        FAKE_PLUGINS,
        OIDC_PROVIDERS=[_settings(provider, slug)],
    )
    application.config["TEST_SLUG"] = slug
    yield application
    application.extensions["viatic.db"].engine.dispose()


def _at_provider(authorize_url: str) -> str:
    """What the person's browser does at the provider: it answers with a redirect back."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def _sign_in(client: Any, slug: str, next_url: str | None = None) -> Any:
    start = client.get(f"/connexion/avec/{slug}" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.get_data(as_text=True)[:500]
    back = urlsplit(_at_provider(start.headers["Location"]))
    return client.get(f"{back.path}?{back.query}")


def _signed_in_name(client: Any) -> str | None:
    page = client.get("/compte/identites")
    if page.status_code != 200:
        return None
    return page.get_data(as_text=True)


def test_login_page_offers_one_button_per_provider(fed_app):
    page = fed_app.test_client().get("/connexion").get_data(as_text=True)
    label = "ProConnect" if fed_app.config["TEST_SLUG"] == "proconnect" else "FranceConnect"
    assert f"S&#39;identifier avec {label}" in page or f"S'identifier avec {label}" in page
    assert 'name="password"' in page  # the local form stays


def test_first_login_creates_a_citizen_account_with_no_commune(fed_app, provider):
    slug = fed_app.config["TEST_SLUG"]
    client = fed_app.test_client()
    answer = _sign_in(client, slug)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    with fed_app.app_context():
        user = db.scalar(select(User).where(User.email == IDENTITIES[slug]["email"]))
        assert user is not None and user.password_hash is None and user.memberships == []
        expected = "Jean Martin" if slug == "proconnect" else "Angela Claire Louise DUBOIS"
        assert user.name == expected
        identity = db.scalar(select(FederatedIdentity).where(FederatedIdentity.user_id == user.id))
        assert identity.provider == slug
        assert identity.sub == provider.pairwise_sub(f"viatic-{slug}")
        if slug == "proconnect":
            assert identity.details["siret"] == "21100145000017"
            assert identity.details["organization_label"] == "Commune de Faux-Villecerf"
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == user.id))
        assert {"user.created", "identity.linked", "login.federated"} <= set(actions)
    page = _signed_in_name(client)  # signed in: their identities page lists the provider
    label = "ProConnect" if slug == "proconnect" else "FranceConnect"
    assert page is not None and f"<strong>{label}</strong>" in page


def test_the_request_follows_each_providers_rules(fed_app, provider):
    slug = fed_app.config["TEST_SLUG"]
    _sign_in(fed_app.test_client(), slug)
    sent = provider.authorize_requests[-1]
    assert len(sent["state"]) >= 32 and len(sent["nonce"]) >= 32
    assert sent["code_challenge_method"] == "S256"
    assert sent["redirect_uri"] == CALLBACK.format(slug=slug)
    if slug == "franceconnect":
        assert sent["acr_values"] == "eidas1"
    else:
        assert "acr_values" not in sent and '"acr"' in sent["claims"]


def test_a_second_login_finds_the_same_account(fed_app):
    slug = fed_app.config["TEST_SLUG"]
    _sign_in(fed_app.test_client(), slug)
    second = fed_app.test_client()
    assert _sign_in(second, slug).status_code == 302
    with fed_app.app_context():
        assert db.scalar(select(User).where(User.email == IDENTITIES[slug]["email"])) is not None
        assert len(db.scalars(select(User)).all()) == 1
    assert _signed_in_name(second) is not None


def test_an_existing_accounts_email_is_not_signed_in_silently(fed_app, make_member_for):
    slug = fed_app.config["TEST_SLUG"]
    make_member_for(fed_app, IDENTITIES[slug]["email"])
    client = fed_app.test_client()
    answer = _sign_in(client, slug)
    assert answer.headers["Location"] == "/connexion/lier"
    assert _signed_in_name(client) is None  # not signed in yet
    page = client.get("/connexion/lier").get_data(as_text=True)
    assert "Lier votre compte" in page
    wrong = client.submit("/connexion/lier", {"password": "pas le bon"})
    assert wrong.status_code == 401 and "Mot de passe incorrect" in wrong.get_data(as_text=True)
    right = client.submit("/connexion/lier", {"password": PASSWORD})
    assert right.status_code == 302
    assert _signed_in_name(client) is not None
    with fed_app.app_context():
        user = db.scalar(select(User).where(User.email == IDENTITIES[slug]["email"]))
        assert [i.provider for i in db.scalars(select(FederatedIdentity))] == [slug]
        assert db.scalar(select(FederatedIdentity.user_id)) == user.id
    # Next time, straight in.
    again = fed_app.test_client()
    assert _sign_in(again, slug).headers["Location"] == "/"


def test_an_existing_account_can_be_proven_by_an_emailed_link(fed_app, make_member_for):
    slug = fed_app.config["TEST_SLUG"]
    make_member_for(fed_app, IDENTITIES[slug]["email"])
    client = fed_app.test_client()
    _sign_in(client, slug)
    sent = client.submit("/connexion/lier", {"send_link": "1"})
    assert sent.status_code == 302
    with fed_app.app_context():
        body = db.scalar(select(EmailMessage.body).order_by(EmailMessage.id.desc()))
    link = next(word for word in body.split() if "/connexion/lier/" in word)
    path = urlsplit(link).path
    other_browser = fed_app.test_client()
    assert other_browser.get(path).status_code == 200  # a GET links nothing
    with fed_app.app_context():
        assert db.scalar(select(FederatedIdentity)) is None
    done = other_browser.submit(path, {})
    assert done.status_code == 302
    assert _signed_in_name(other_browser) is not None
    assert other_browser.submit(path, {}).status_code == 400  # single use


def test_a_replayed_state_is_refused_with_a_clear_page(fed_app):
    slug = fed_app.config["TEST_SLUG"]
    client = fed_app.test_client()
    start = client.get(f"/connexion/avec/{slug}")
    back = urlsplit(_at_provider(start.headers["Location"]))
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    replay = client.get(f"{back.path}?{back.query}")
    assert replay.status_code == 400
    assert "n&#39;a pas abouti" in replay.get_data(as_text=True)
    with fed_app.app_context():
        refused = db.scalar(
            select(AuditEvent).where(AuditEvent.action == "login.federated_refused")
        )
        assert refused.details == {"provider": slug, "reason": "state_unknown"}


@pytest.mark.parametrize(
    ("knob", "value", "reason"),
    [
        ("tamper_id_token", True, "bad_signature"),
        ("id_token_nonce_override", "x" * 43, "bad_id_token"),
        ("code_ttl", -1, "code_refused"),
    ],
)
def test_a_bad_answer_is_refused_and_creates_nothing(fed_app, provider, knob, value, reason):
    setattr(provider, knob, value)
    slug = fed_app.config["TEST_SLUG"]
    client = fed_app.test_client()
    answer = _sign_in(client, slug)
    assert answer.status_code == 400
    assert "Rien n&#39;a été enregistré" in answer.get_data(as_text=True)
    with fed_app.app_context():
        assert db.scalars(select(User)).all() == []
        refused = db.scalar(
            select(AuditEvent).where(AuditEvent.action == "login.federated_refused")
        )
        assert refused.details["reason"] == reason


def test_a_provider_down_gets_a_clear_page(fed_app, provider):
    provider.fail_with_status = 503
    slug = fed_app.config["TEST_SLUG"]
    answer = fed_app.test_client().get(f"/connexion/avec/{slug}")
    assert answer.status_code == 503
    label = "ProConnect" if slug == "proconnect" else "FranceConnect"
    assert f"{label} est momentanément indisponible" in answer.get_data(as_text=True)


def test_a_wrong_client_secret_is_refused_without_a_500(database_backend, tmp_path, provider):
    slug = provider.slug
    application = make_app(
        database_backend.fresh_url(tmp_path),
        FAKE_PLUGINS,
        OIDC_PROVIDERS=[_settings(provider, slug, client_secret="not-the-secret")],
    )
    answer = _sign_in(application.test_client(), slug)
    assert answer.status_code == 400
    with application.app_context():
        assert db.scalars(select(User)).all() == []
        refused = db.scalar(
            select(AuditEvent).where(AuditEvent.action == "login.federated_refused")
        )
        assert refused.details["reason"] == "client"
    application.extensions["viatic.db"].engine.dispose()


def test_a_malformed_discovery_document_gets_a_clear_page(fed_app, provider):
    provider.discovery_override = {"token_endpoint": None}
    slug = fed_app.config["TEST_SLUG"]
    answer = fed_app.test_client().get(f"/connexion/avec/{slug}")
    assert answer.status_code == 503
    with fed_app.app_context():
        refused = db.scalar(
            select(AuditEvent).where(AuditEvent.action == "login.federated_refused")
        )
        assert refused.details["reason"] == "bad_discovery"


def test_an_unknown_provider_is_a_404(fed_app):
    assert fed_app.test_client().get("/connexion/avec/inconnu").status_code == 404


def test_logout_ends_the_provider_session_and_checks_the_state(fed_app, provider):
    slug = fed_app.config["TEST_SLUG"]
    client = fed_app.test_client()
    _sign_in(client, slug)
    # The pages let the logout form lead on to the provider (browsers check form-action).
    policy = client.get("/").headers["Content-Security-Policy"]
    origin = provider.issuer.split("/api/")[0]
    assert f"form-action 'self' {origin};" in policy
    out = client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    assert out.status_code == 302
    end_session = out.headers["Location"]
    assert end_session.startswith(provider.issuer)
    sent = parse_qs(urlsplit(end_session).query)
    assert sent["post_logout_redirect_uri"] == [LOGGED_OUT]
    assert len(sent["state"][0]) >= 32 and sent["id_token_hint"]
    back = requests.get(end_session, allow_redirects=False, timeout=5)
    assert back.status_code == 303
    assert provider.ended_sessions and provider.ended_sessions[-1]["state"] == sent["state"][0]
    returned = urlsplit(back.headers["Location"])
    home = client.get(f"{returned.path}?{returned.query}", follow_redirects=True)
    assert "Vous êtes déconnecté·e de Viatic et de" in home.get_data(as_text=True)
    assert _signed_in_name(client) is None


def test_a_forged_logout_state_is_reported(fed_app):
    slug = fed_app.config["TEST_SLUG"]
    client = fed_app.test_client()
    _sign_in(client, slug)
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    home = client.get("/deconnexion/retour?state=forged", follow_redirects=True)
    assert "n&#39;a pas pu être confirmée" in home.get_data(as_text=True)


def test_identities_can_be_listed_and_unlinked_only_when_another_way_in_remains(fed_app):
    slug = fed_app.config["TEST_SLUG"]
    client = fed_app.test_client()
    _sign_in(client, slug)
    page = client.get("/compte/identites").get_data(as_text=True)
    assert "est votre seul moyen de connexion" in page
    with fed_app.app_context():
        identity_id = db.scalar(select(FederatedIdentity.id))
    refused = client.submit(f"/compte/identites/{identity_id}/retirer", page="/compte/identites")
    assert refused.status_code == 302
    with fed_app.app_context():
        assert db.scalar(select(FederatedIdentity.id)) == identity_id
        from core import auth

        user = db.scalar(select(User))
        auth.set_password(user, PASSWORD)
        db.commit()
        email = user.email
    client.login(email)  # the password change signed the session out
    done = client.submit(f"/compte/identites/{identity_id}/retirer", page="/compte/identites")
    assert done.status_code == 302
    with fed_app.app_context():
        assert db.scalar(select(FederatedIdentity)) is None
        assert (
            db.scalar(select(AuditEvent).where(AuditEvent.action == "identity.unlinked"))
            is not None
        )


@pytest.fixture
def make_member_for():
    def make(application: Any, email: str) -> None:
        from core import auth

        with application.app_context():
            user = User(email=email, name="Compte existant")
            auth.set_password(user, PASSWORD)
            db.add(user)
            db.commit()

    return make


def test_a_person_with_a_second_factor_gives_the_code_after_the_provider(
    fed_app, provider, monkeypatch
):
    """The provider is a first factor like a password: an enrolled person types the code,
    and the logout still reaches the provider afterwards."""
    from core import totp
    from tests.test_totp import Clock, code_at, enrol

    clock = Clock()
    monkeypatch.setattr(totp, "now", lambda: clock.now)
    slug = fed_app.config["TEST_SLUG"]
    client = fed_app.test_client()
    _sign_in(client, slug)
    secret, _codes = enrol(client, clock)
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})

    second = fed_app.test_client()
    answer = _sign_in(second, slug)
    assert answer.headers["Location"] == "/connexion/code"
    assert _signed_in_name(second) is None
    done = second.submit("/connexion/code", {"code": code_at(secret, clock.now)})
    assert done.status_code == 302
    assert _signed_in_name(second) is not None
    out = second.post("/deconnexion", data={"csrf_token": second.csrf_token()})
    assert out.headers["Location"].startswith(provider.issuer)


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        ({"slug": "x"}, "must be a JSON list"),
        (["texte"], "entry 1: not a JSON object"),
        ([{"slug": "pc", "kind": "proconnect"}], "entry 1: missing discovery_url"),
        (
            [
                {
                    "slug": "pc",
                    "kind": "agentconnect",
                    "discovery_url": "https://x/.well-known/openid-configuration",
                    "client_id": "a",
                    "client_secret": "b",
                }
            ],
            "kind must be one of proconnect, franceconnect, generic",
        ),
        (
            [
                {
                    "slug": "pc",
                    "kind": "generic",
                    "discovery_url": "ftp://x",
                    "client_id": "a",
                    "client_secret": "b",
                }
            ],
            "the discovery URL must be http(s)",
        ),
    ],
)
def test_a_malformed_provider_list_stops_the_start_with_its_entry_named(
    database_backend, tmp_path, providers, message
):
    from core.federation import ConfigurationError

    with pytest.raises(ConfigurationError, match=re.escape(message)):
        make_app(database_backend.fresh_url(tmp_path), FAKE_PLUGINS, OIDC_PROVIDERS=providers)


def test_the_link_is_mailed_once_per_sign_in(fed_app, make_member_for):
    slug = fed_app.config["TEST_SLUG"]
    make_member_for(fed_app, IDENTITIES[slug]["email"])
    client = fed_app.test_client()
    _sign_in(client, slug)
    for _ in range(3):
        assert client.submit("/connexion/lier", {"send_link": "1"}).status_code == 302
    with fed_app.app_context():
        sent = db.scalars(
            select(EmailMessage).where(EmailMessage.recipient == IDENTITIES[slug]["email"])
        ).all()
        assert len(sent) == 1
