"""Installed is not enabled: per-commune activation, the central gate, hook isolation."""

from __future__ import annotations

import re
import types

import pytest
from sqlalchemy import select

from core import toolkit
from core.db import db
from core.models import AuditEvent, Commune
from core.plugins import PluginError
from core.testing import make_app
from tests.conftest import FAKE_PLUGINS
from tests.fake_plugins import meteo


def _admin(client, commune, make_member):
    client.login(make_member(commune, role="maire", admin=True).email)


def test_a_module_not_enabled_answers_404_on_pages_and_api(client, commune, make_member):
    _admin(client, commune, make_member)
    assert client.get("/c/10145/meteo/").status_code == 404
    assert client.get("/api/v1/c/10145/meteo/bulletin").status_code == 404


def test_enabling_shows_nav_item_and_widget_and_disabling_hides_them(client, commune, make_member):
    _admin(client, commune, make_member)
    dashboard = client.get("/c/10145/").get_data(as_text=True)
    assert "Météo du jour" not in dashboard and ">Météo<" not in dashboard

    response = client.submit("/c/10145/admin/modules/meteo/activer", page="/c/10145/admin/modules")
    assert response.status_code == 302
    dashboard = client.get("/c/10145/").get_data(as_text=True)
    assert "Météo du jour" in dashboard and "Ciel dégagé sur Faux-Villecerf" in dashboard
    assert 'href="/c/10145/meteo/"' in dashboard
    assert client.get("/c/10145/meteo/").status_code == 200
    assert client.get("/api/v1/c/10145/meteo/bulletin").json == {
        "commune": "10145",
        "ciel": "dégagé",
    }

    client.submit("/c/10145/admin/modules/meteo/desactiver", page="/c/10145/admin/modules")
    dashboard = client.get("/c/10145/").get_data(as_text=True)
    assert "Météo du jour" not in dashboard and 'href="/c/10145/meteo/"' not in dashboard
    assert client.get("/c/10145/meteo/").status_code == 404


def test_activation_is_per_commune(client, commune, other_commune, make_member, enable_module):
    user = make_member(commune, role="maire")
    make_member(other_commune, role="maire", email=user.email)
    enable_module(commune, "meteo")
    client.login(user.email)
    assert client.get("/c/10145/meteo/").status_code == 200
    assert client.get("/c/10124/meteo/").status_code == 404
    assert "Météo du jour" not in client.get("/c/10124/").get_data(as_text=True)


def test_callbacks_are_called_and_changes_audited(app, client, commune, make_member):
    _admin(client, commune, make_member)
    client.submit("/c/10145/admin/modules/meteo/activer", page="/c/10145/admin/modules")
    client.submit("/c/10145/admin/modules/meteo/desactiver", page="/c/10145/admin/modules")
    assert meteo.CALLS == [("enabled", "10145"), ("disabled", "10145")]
    with app.app_context():
        actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.module == "meteo")))
    assert actions == ["module.enabled", "module.disabled"]


def test_another_worker_sees_an_activation_on_its_next_request(app, commune, make_member):
    """Each worker caches the enabled set; the commune's version number invalidates it."""
    other_worker = make_app(app.config["DATABASE_URL"], FAKE_PLUGINS)
    user = make_member(commune, role="maire", admin=True)
    first, second = app.test_client(), other_worker.test_client()
    first.login(user.email)
    second.login(user.email)
    assert second.get("/c/10145/meteo/").status_code == 404  # cached: not enabled
    first.submit("/c/10145/admin/modules/meteo/activer", page="/c/10145/admin/modules")
    assert second.get("/c/10145/meteo/").status_code == 200
    first.submit("/c/10145/admin/modules/meteo/desactiver", page="/c/10145/admin/modules")
    assert second.get("/c/10145/meteo/").status_code == 404


def test_a_failing_widget_and_nav_item_do_not_break_the_page(
    client, commune, make_member, enable_module, caplog
):
    enable_module(commune, "fragile")
    enable_module(commune, "meteo")
    client.login(make_member(commune).email)
    response = client.get("/c/10145/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Module momentanément indisponible." in html
    assert "Météo du jour" in html  # the healthy plugin still shows
    assert any("fragile" in r.getMessage() for r in caplog.records)
    client.login(make_member(commune, role="maire", admin=True).email)
    modules_page = client.get("/c/10145/admin/modules").get_data(as_text=True)
    assert "Dernière erreur" in modules_page and "exploded" in modules_page


def test_a_failing_search_provider_leaves_the_other_results(
    client, commune, make_member, enable_module
):
    enable_module(commune, "fragile")
    enable_module(commune, "meteo")
    client.login(make_member(commune).email)
    html = client.get("/c/10145/recherche?q=pluie").get_data(as_text=True)
    assert "Pluie attendue jeudi" in html
    assert "Module momentanément indisponible." in html


def test_the_admin_clears_a_module_s_error_and_the_journal_keeps_it(
    client, commune, make_member, enable_module
):
    enable_module(commune, "fragile")
    member = make_member(commune)
    client.login(member.email)
    client.get("/c/10145/")  # its widget fails: the error is recorded
    client.login(make_member(commune, role="maire", admin=True).email)
    page = client.get("/c/10145/admin/modules").get_data(as_text=True)
    assert "exploded" in page
    url = "/c/10145/admin/modules/fragile/erreur/effacer"
    assert client.post(url).status_code == 400  # no CSRF token
    response = client.submit(url, page="/c/10145/admin/modules", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "L&#39;erreur du module « Fragile » est effacée." in page
    assert "Dernière erreur" not in page and "exploded" not in page
    with client.application.app_context():
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "module.error_cleared"))
    assert event.module == "fragile" and "exploded" in event.details["error"]
    assert (
        client.submit(
            "/c/10145/admin/modules/inconnu/erreur/effacer", page="/c/10145/admin/modules"
        ).status_code
        == 404
    )

    client.login(member.email)
    assert client.submit(url, page="/c/10145/").status_code == 403


def test_search_without_match_says_so(client, commune, make_member, enable_module):
    enable_module(commune, "meteo")
    client.login(make_member(commune).email)
    html = client.get("/c/10145/recherche?q=neige").get_data(as_text=True)
    assert "Aucun résultat pour « neige »." in html


def test_modules_page_shows_health_and_essential_core_is_not_listed(
    client, commune, make_member, enable_module
):
    enable_module(commune, "meteo")
    _admin(client, commune, make_member)
    html = client.get("/c/10145/admin/modules").get_data(as_text=True)
    assert "En panne : clé d&#39;accès manquante" in html
    assert "Socle Viatic" not in html


def test_the_modules_page_links_to_an_enabled_module_s_own_admin_page(
    client, commune, make_member, enable_module
):
    _admin(client, commune, make_member)
    link = re.compile(r'<a class="[^"]*" href="([^"]+)">Station météo<')
    assert not link.search(client.get("/c/10145/admin/modules").get_data(as_text=True))
    enable_module(commune, "meteo")
    found = link.search(client.get("/c/10145/admin/modules").get_data(as_text=True))
    assert found and found.group(1) == "/c/10145/meteo/"
    assert client.get(found.group(1)).status_code == 200


def test_an_admin_page_outside_the_plugin_s_blueprint_stops_the_start_up(app):
    info = toolkit.PluginInfo(
        name="essai", label="Essai", version="1.0", admin_endpoint="meteo.index"
    )
    plugin = types.ModuleType("plugin_essai")
    plugin.viatic_plugin_info = toolkit.hookimpl(lambda: info)
    with pytest.raises(PluginError, match=re.escape("'essai': admin_endpoint 'meteo.index'")):
        make_app(app.config["DATABASE_URL"], [*FAKE_PLUGINS, plugin])


def test_unknown_module_toggle_answers_404(client, commune, make_member):
    _admin(client, commune, make_member)
    response = client.submit(
        "/c/10145/admin/modules/inconnu/activer", page="/c/10145/admin/modules"
    )
    assert response.status_code == 404


def test_non_admin_cannot_toggle_modules(client, commune, make_member):
    client.login(make_member(commune, role="conseiller").email)
    assert client.get("/c/10145/admin/modules").status_code == 403
    response = client.submit("/c/10145/admin/modules/meteo/activer", page="/c/10145/")
    assert response.status_code == 403


def test_enabled_set_counts_the_version(app, commune, enable_module):
    enable_module(commune, "meteo")
    with app.app_context():
        assert db.scalar(select(Commune.config_version).where(Commune.id == commune.id)) == 1
