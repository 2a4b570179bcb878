"""The portal shell: public pages, commune URLs, the layout, deny by default."""

from __future__ import annotations

from core.rights import access_of


def test_home_page_is_in_french_with_skip_link_and_landmarks(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert 'href="#contenu"' in html and "Aller au contenu" in html
    for landmark in ('role="banner"', 'role="main"', 'role="contentinfo"'):
        assert landmark in html
    assert "<title>Accueil — Viatic</title>" in html


def test_unknown_commune_answers_a_french_404(client, make_member, commune):
    client.login(make_member(commune).email)
    response = client.get("/c/99999/")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_accessibility_page_states_the_rgaa_status(client):
    html = client.get("/accessibilite").get_data(as_text=True)
    assert "partiellement conforme" in html and "RGAA" in html


def test_every_endpoint_declares_its_access(app):
    """Deny by default: an endpoint must require a permission or say it is public."""
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if not rule.endpoint.endswith("static")
        and access_of(app.view_functions[rule.endpoint]) is None
    ]
    assert undeclared == []


def test_an_endpoint_without_declaration_is_refused(app, client, commune, make_member):
    @app.get("/oubli")
    def forgotten():
        return "secret"

    client.login(make_member(commune, role="maire", platform_admin=True).email)
    assert client.get("/oubli").status_code == 403


def test_security_headers_are_sent(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_commune_dashboard_requires_sign_in(client, commune):
    response = client.get("/c/10145/")
    assert response.status_code == 302
    assert "/connexion?next=/c/10145/" in response.headers["Location"]


def test_api_without_session_answers_401_as_a_problem(client, commune, enable_module):
    enable_module(commune, "meteo")
    response = client.get("/api/v1/c/10145/meteo/bulletin")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401 and response.json["title"] == "Connexion nécessaire"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="viatic"'


def test_commune_switcher_lists_each_commune_of_the_person(
    client, commune, other_commune, make_member
):
    user = make_member(commune, role="maire")
    make_member(other_commune, role="conseiller", email=user.email)
    client.login(user.email)
    html = client.get("/c/10145/").get_data(as_text=True)
    assert 'id="commune-switcher"' in html
    assert "Dierrey-Saint-Julien" in html
    response = client.get("/aller?insee=10124")
    assert response.headers["Location"].endswith("/c/10124/")
    assert client.get("/c/10124/").status_code == 200


def test_switcher_refuses_a_commune_of_which_one_is_not_member(
    client, commune, other_commune, make_member
):
    client.login(make_member(commune).email)
    assert client.get("/aller?insee=10124").status_code == 404


def test_english_is_available(client, commune, make_member):
    client.login(make_member(commune).email)
    token = client.csrf_token("/c/10145/")
    client.post("/langue", data={"csrf_token": token, "locale": "en", "next": "/c/10145/"})
    html = client.get("/c/10145/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Dashboard" in html


def test_the_wsgi_entry_point_serves_the_portal_with_start_up_frozen(app, tmp_path):
    """``gunicorn core.wsgi:app``, as the README says: the worker's app answers, and what
    start-up made is out of the garbage collector's way."""
    import os
    import subprocess
    import sys

    script = (
        "import gc, core.wsgi as w\n"
        "r = w.app.test_client().get('/')\n"
        "print(r.status_code, 'Viatic' in r.get_data(as_text=True), gc.get_freeze_count() > 0)\n"
    )
    env = {
        **os.environ,
        "VIATIC_DATABASE_URL": app.config["DATABASE_URL"],
        "VIATIC_SECRET_KEY": app.config["SECRET_KEY"],
        "VIATIC_INSTANCE_PATH": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["200", "True", "True"], done.stderr[-2000:]
