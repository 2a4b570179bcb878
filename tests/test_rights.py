"""Rights: roles and permissions per commune, and tenant isolation over every route."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.app import create_app
from core.db import db
from core.models import AuditEvent, Commune, Membership, RolePermission
from core.rights import access_of
from tests.conftest import FAKE_PLUGINS


def _commune_routes() -> list[tuple[str, str]]:
    """Every (endpoint, method) under /c/<insee>/ or /api/v1/c/<insee>/, of the core and of
    every installed plugin (entry points included), known at collection time."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"}, plugins=FAKE_PLUGINS
    )
    routes = []
    for rule in app.url_map.iter_rules():
        if "<insee>" not in rule.rule or rule.endpoint.endswith("static"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method))
    return routes


def test_citizen_cannot_see_the_members_list_but_elected_can(client, commune, make_member):
    citizen = make_member(commune, role="citoyen")
    councillor = make_member(commune, role="conseiller")
    client.login(citizen.email)
    assert client.get("/c/10145/membres").status_code == 403
    client.login(councillor.email)
    assert client.get("/c/10145/membres").status_code == 200


def test_commune_admin_adjusts_the_role_permission_table(
    app, client, commune, other_commune, make_member, enable_module
):
    enable_module(commune, "meteo")
    enable_module(other_commune, "meteo")
    admin = make_member(commune, role="maire", admin=True)
    citizen = make_member(commune, role="citoyen")
    neighbour = make_member(other_commune, role="citoyen")
    client.login(admin.email)
    page = client.get("/c/10145/admin/droits").get_data(as_text=True)
    checked = dict(re.findall(r'name="([a-z]+:[a-z_.]+)" id="[^"]+" (checked)?', page))
    assert "citoyen:meteo.view" in checked
    form = {name: "on" for name, on in checked.items() if on and name != "citoyen:meteo.view"}
    form["maire:meteo.alert"] = "on"
    form["agent:meteo.alert"] = "on"  # granted beyond the defaults
    assert client.submit("/c/10145/admin/droits", form).status_code == 302

    citizen_client, neighbour_client = app.test_client(), app.test_client()
    citizen_client.login(citizen.email)
    assert citizen_client.get("/c/10145/meteo/").status_code == 403
    neighbour_client.login(neighbour.email)
    assert neighbour_client.get("/c/10124/meteo/").status_code == 200  # other commune untouched
    with app.app_context():
        changes = {(r.role, r.permission, r.granted) for r in db.scalars(select(RolePermission))}
        audited = set(
            db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "permission"))
        )
    assert changes == {("citoyen", "meteo.view", False), ("agent", "meteo.alert", True)}
    assert audited == {"permission.withdrawn", "permission.granted"}


def test_restoring_a_default_removes_the_override(app, client, commune, make_member, enable_module):
    enable_module(commune, "meteo")
    client.login(make_member(commune, role="maire", admin=True).email)
    page = client.get("/c/10145/admin/droits").get_data(as_text=True)
    defaults = {
        n: "on"
        for n, on in re.findall(r'name="([a-z]+:[a-z_.]+)" id="[^"]+" (checked)?', page)
        if on
    }
    client.submit(
        "/c/10145/admin/droits", {k: v for k, v in defaults.items() if k != "agent:meteo.view"}
    )
    client.submit("/c/10145/admin/droits", defaults)
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(RolePermission)) == 0


def test_platform_pages_are_for_platform_admins_only(client, commune, make_member):
    client.login(make_member(commune, role="maire", admin=True).email)
    for url in (
        "/admin/",
        "/admin/communes",
        "/admin/plugins",
        "/admin/outbox",
        "/admin/courriels",
    ):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize(("endpoint", "method"), _commune_routes())
def test_a_member_of_one_commune_cannot_touch_another(
    app, client, commune, other_commune, make_member, endpoint, method
):
    """Tenant isolation: a maire and commune admin of Faux-Villecerf, with every module
    enabled in both communes, gets 403 on every route of Dierrey-Saint-Julien, and nothing
    there changes. A route declared public under a commune (a calendar feed, whose secret
    token in the URL is the credential) answers 404 to a URL without a valid token."""
    from core import modules

    with app.app_context():
        for c in (commune, other_commune):
            for plugin in app.extensions["viatic.plugins"].modules:
                modules.enable(db.get(Commune, c.id), plugin.name)
        db.commit()
    victim = make_member(other_commune, role="maire", admin=True)
    attacker = make_member(commune, role="maire", admin=True)
    with app.app_context():
        victim_membership = db.scalar(select(Membership.id).where(Membership.user_id == victim.id))
        before = db.scalar(select(func.count()).select_from(AuditEvent))
    client.login(attacker.email)
    rule = next(r for r in app.url_map.iter_rules(endpoint))
    values = {"insee": "10124"}
    for argument in rule.arguments - {"insee"}:
        values[argument] = (
            victim_membership if rule._converters[argument].regex == r"\d+" else "meteo"
        )
    with app.test_request_context():
        url = app.url_for(endpoint, _external=False, **values)
    token = client.csrf_token("/c/10145/")
    if method == "GET":
        response = client.get(url)
    else:
        response = client.open(
            url,
            method=method,
            data={"csrf_token": token, "role": "citoyen", "email": "x@exemple.fr"},
        )
    expected = 404 if access_of(app.view_functions[endpoint]).kind == "public" else 403
    assert response.status_code == expected, f"{method} {url} answered {response.status_code}"
    with app.app_context():
        after = db.scalar(select(func.count()).select_from(AuditEvent))
        assert after == before + 1  # only the attacker's own login
        assert db.get(Membership, victim_membership).role == "maire"


def test_a_permission_declared_for_commune_admins_follows_the_admin_flag(
    app, client, commune, make_member, enable_module
):
    """``meteo.stations`` goes to the maire by role and to the commune's admins whatever
    their role: the agent who runs the commune's space has it, another agent has not, and
    both holders are the ones told."""
    from core import rights

    enable_module(commune, "meteo")
    maire = make_member(commune, role="maire", admin=True)
    admin_agent = make_member(commune, role="agent", admin=True)
    agent = make_member(commune, role="agent")
    with app.app_context():
        here = db.get(Commune, commune.id)
        holders = {u.id for u in rights.members_with_permission(here, "meteo.stations")}
        alerted = {u.id for u in rights.members_with_permission(here, "meteo.alert")}
        with app.test_request_context():
            has = {
                u.id: rights.has_permission(db.get(type(u), u.id), here, "meteo.stations")
                for u in (maire, admin_agent, agent)
            }
    assert holders == {maire.id, admin_agent.id}
    assert alerted == {maire.id}  # an ordinary permission stays with the roles
    with app.app_context():
        db.get(type(admin_agent), admin_agent.id).is_active = False
        db.commit()
        here = db.get(Commune, commune.id)
        assert [u.id for u in rights.commune_admins(here)] == [maire.id]  # the active ones
    assert has == {maire.id: True, admin_agent.id: True, agent.id: False}

    client.login(maire.email)
    page = client.get("/c/10145/admin/droits").get_data(as_text=True)
    row = page.split("Régler les stations météo", 1)[1].split("</tr>", 1)[0]
    assert "Toujours accordé aux administrateurs de la commune" in row
    checked = dict(re.findall(r'name="([a-z]+:meteo.stations)" id="[^"]+" (checked)?', page))
    assert checked["maire:meteo.stations"] == "checked" and checked["agent:meteo.stations"] == ""
