"""One test per hook of the contract, named test_hook_<hook> (test_docs checks they exist).

Most hooks are also exercised end to end elsewhere; these tests pin down what the core
does with each hook's result.
"""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.models import Commune
from tests.fake_plugins import meteo


def test_hook_viatic_plugin_info(app):
    info = app.extensions["viatic.plugins"].plugins["meteo"].info
    assert (info.name, info.label, info.version) == ("meteo", "Météo", "1.0")


def test_hook_viatic_blueprint(app):
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("meteo.")}
    assert "/c/<insee>/meteo/" in rules


def test_hook_viatic_api_blueprint(app):
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("meteo_api.")}
    assert rules == {"/api/v1/c/<insee>/meteo/bulletin"}


def test_hook_viatic_platform_blueprint(app, client, commune, make_member):
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("meteo_platform.")}
    assert rules == {"/admin/modules/meteo/stations"}
    assert client.get("/admin/modules/meteo/stations").status_code == 302  # signed out
    client.login(make_member(commune, role="maire", admin=True).email)
    assert client.get("/admin/modules/meteo/stations").status_code == 403
    client.login(make_member(None, platform_admin=True).email)
    page = client.get("/admin/modules/meteo/stations")
    assert page.status_code == 200 and "Romilly" in page.get_data(as_text=True)
    # The platform admin's menu leads there, from any platform page; the page marks itself.
    home = client.get("/admin/").get_data(as_text=True)
    assert '<a href="/admin/modules/meteo/stations" >Stations météo</a>' in home
    assert 'href="/admin/modules/meteo/stations" aria-current="page"' in page.get_data(as_text=True)


def test_hook_viatic_permissions(app):
    permissions = app.extensions["viatic.plugins"].permissions
    assert permissions["meteo.alert"].default_roles == ("maire",)


def test_hook_viatic_api_scopes(app):
    scopes = app.extensions["viatic.plugins"].api_scopes
    assert scopes["meteo:read"].label == "Lire le bulletin météo"
    assert {"openid", "profile", "communes:read"} <= set(scopes)


def test_hook_viatic_settings_schema(app):
    settings = app.extensions["viatic.plugins"].plugins["meteo"].settings
    assert [s.name for s in settings][:2] == ["station", "api_key"] and settings[1].secret


def test_hook_viatic_capabilities(app):
    # The built-in providers (vimeo, videointerne) are installed too.
    assert {"videoa", "videob"} <= set(app.extensions["viatic.plugins"].providers_of("video"))


def test_hook_viatic_scheduled_jobs(app):
    from core.scheduler import scheduled_jobs

    assert {"core.deliver_outbox", "core.forget_old_records"} <= set(scheduled_jobs(app))


def test_hook_viatic_notification_types(app):
    assert app.extensions["viatic.plugins"].notification_types["meteo.alerte"].email is True


def test_hook_viatic_outbox_handlers(app):
    assert "core.email" in app.extensions["viatic.plugins"].outbox_handlers


def test_hook_viatic_module_enabled(commune, enable_module):
    enable_module(commune, "meteo")
    assert meteo.CALLS == [("enabled", "10145")]


def test_hook_viatic_module_disabled(app, commune, enable_module):
    from core import modules

    enable_module(commune, "meteo")
    with app.app_context():
        modules.disable(db.get(Commune, commune.id), "meteo")
        db.commit()
    assert meteo.CALLS[-1] == ("disabled", "10145")


def test_hook_viatic_health_check(app, commune):
    with app.app_context():
        health = app.extensions["viatic.plugins"].call_on(
            "meteo", "viatic_health_check", commune=commune, settings={"api_key": ""}
        )
    assert (health.ok, health.message) == (False, "clé d'accès manquante")


def test_hook_viatic_demo_content(app, monkeypatch):
    from core import demo

    called = []
    registry = app.extensions["viatic.plugins"]
    original = registry.call_on
    monkeypatch.setattr(
        registry,
        "call_on",
        lambda name, hook, **kw: called.append((name, hook)) or original(name, hook, **kw),
    )
    with app.app_context():
        demo.run(echo=lambda _line: None)
    assert ("meteo", "viatic_demo_content") in called


def test_hook_viatic_referentiel_themes(app):
    from core import toolkit

    with app.app_context():
        themes = toolkit.referentiel_themes()  # the fragile plugin's failure is left out
    assert toolkit.ReferentielTheme("alertes-meteo", "Alertes météo", "Sécurité") in themes


def test_hook_viatic_nav_items(app, commune, enable_module):
    enable_module(commune, "meteo")
    with app.app_context():
        c = db.scalar(select(Commune))
        results = app.extensions["viatic.plugins"].call_for_commune(
            "viatic_nav_items", c, user=None
        )
    assert [item.label for name, items in results if name == "meteo" for item in items] == ["Météo"]


def test_hook_viatic_dashboard_widgets(app, commune, enable_module):
    enable_module(commune, "meteo")
    with app.app_context():
        c = db.scalar(select(Commune))
        results = dict(
            app.extensions["viatic.plugins"].call_for_commune(
                "viatic_dashboard_widgets", c, user=None
            )
        )
    assert results["meteo"][0].render() == "<p>Ciel dégagé sur Faux-Villecerf</p>"


def test_hook_viatic_search(app, commune, enable_module):
    enable_module(commune, "meteo")
    with app.app_context():
        c = db.scalar(select(Commune))
        results = dict(
            app.extensions["viatic.plugins"].call_for_commune(
                "viatic_search", c, user=None, query="pluie", limit=5
            )
        )
    assert results["meteo"][0].title == "Pluie attendue jeudi"
    assert "fragile" not in results  # not enabled: never called
