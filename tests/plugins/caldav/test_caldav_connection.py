"""Connecting a calendar to a real Radicale: « Tester la connexion », the sentences for a
wrong password, an address that is not a calendar, a server that does not answer or is too
slow; the password stored encrypted and never shown back; the page for commune admins of
that commune only, linked from the agenda's calendars page."""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import text

from core.db import db
from plugins.caldav import services
from tests.plugins.agenda.helpers import AGENDA, page, says
from tests.plugins.caldav.helpers import CALDAV, connect, connection
from tests.plugins.caldav.radicale import PASSWORD

pytestmark = pytest.mark.slow


def test_the_test_button_finds_the_calendar_and_saves_nothing(app, village, client, remote):
    client.login(village.maire.email)
    response = connect(client, app, str(remote.url), save=None, test="Tester la connexion")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert says(html, "Connexion réussie : agenda « Conseil » trouvé.")
    assert connection(app) is None


def test_a_connection_keeps_its_password_encrypted_and_never_shows_it(app, village, client, remote):
    client.login(village.maire.email)
    response = connect(client, app, str(remote.url))
    assert response.status_code == 302
    html = page(client, CALDAV)
    assert says(html, "Agendas connectés") and str(remote.url) in html
    assert PASSWORD not in html
    with app.app_context():
        stored = db.execute(text("SELECT password FROM caldav_connection")).scalar_one()
    assert PASSWORD not in stored and stored.startswith("enc:")
    assert says(page(client, f"{AGENDA}/agendas"), "Synchroniser un agenda avec un serveur CalDAV")


def test_a_wrong_password_is_named_on_the_page_and_nothing_is_saved(app, village, client, remote):
    client.login(village.maire.email)
    response = connect(client, app, str(remote.url), password="mauvais")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert says(html, "Le serveur a refusé l'identifiant ou le mot de passe : vérifiez-les.")
    assert 'id="password-erreur"' in html and "mauvais" not in html
    assert connection(app) is None


def test_an_address_that_is_not_a_calendar_is_named(app, village, client, radicale, remote):
    client.login(village.maire.email)
    for url in (f"{radicale.url}/mairie/", f"{radicale.url}/mairie/nulle-part/"):
        response = connect(client, app, url)
        assert response.status_code == 400
        assert says(
            response.get_data(as_text=True), "Cette adresse ne mène pas à un agenda CalDAV."
        ), url
    # Someone else's space on the server.
    response = connect(client, app, f"{radicale.url}/quelquun/agenda/")
    assert says(response.get_data(as_text=True), "Le serveur refuse l'accès de ce compte")
    assert connection(app) is None


def test_an_unreachable_server_and_a_silent_one_are_named(app, village, client, monkeypatch):
    client.login(village.maire.email)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    response = connect(client, app, f"http://127.0.0.1:{port}/cal/")
    assert response.status_code == 400
    assert says(response.get_data(as_text=True), "Le serveur est injoignable")

    # A server that accepts the connection and never answers.
    monkeypatch.setattr(services, "TEST_TIMEOUT", (1.0, 0.5))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    try:
        response = connect(client, app, f"http://127.0.0.1:{silent.getsockname()[1]}/cal/")
    finally:
        silent.close()
    assert response.status_code == 400
    assert says(response.get_data(as_text=True), "Le serveur n'a pas répondu à temps")
    assert connection(app) is None


def test_bad_input_is_refused_on_the_form(app, village, client):
    client.login(village.maire.email)
    response = connect(client, app, "pas une adresse", password="")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert says(html, "Indiquez une adresse commençant par https://.")
    response = connect(client, app, "http://127.0.0.1:9/cal/", calendar="999999")
    assert response.status_code == 400


def test_only_the_communes_admins_reach_the_page(
    app, village, client, other_commune, make_member, enable_module
):
    client.login(village.adjoint.email)
    assert client.get(CALDAV).status_code == 403
    assert not says(page(client, f"{AGENDA}/agendas"), "serveur CalDAV")
    client.get("/deconnexion")
    enable_module(other_commune, "agenda")
    enable_module(other_commune, "caldav")
    stranger = make_member(other_commune, "maire", admin=True)
    client.login(stranger.email)
    assert client.get(CALDAV).status_code in (403, 404)
    assert client.get("/c/10124/caldav/").status_code == 200
