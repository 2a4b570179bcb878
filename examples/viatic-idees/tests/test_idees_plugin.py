"""The ideas box as a plugin: loading, declarations, migration, health and demo content."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from core.db import Base, db
from core.models import Commune
from core.rights import access_of
from markupsafe import escape
from sqlalchemy import select, text

from idees_testing import IDEES, ideas
from viatic_idees import services
from viatic_idees.models import Idea


def registry(app):
    return app.extensions["viatic.plugins"]


def test_the_plugin_is_loaded_from_its_entry_point_with_its_declarations(app):
    plugin = registry(app).plugins["idees"]
    assert plugin.info.label == "Boîte à idées"
    assert plugin.info.migrations is not None and plugin.info.migrations.is_dir()
    assert plugin.blueprint.name == "idees"
    assert plugin.api_blueprint.name == "idees_api"
    roles = {p.name: set(p.default_roles) for p in plugin.permissions}
    every_role = {"maire", "adjoint", "conseiller", "agent", "citoyen", "partenaire"}
    assert roles == {
        "idees.view": every_role,
        "idees.propose": every_role,
        "idees.answer": {"maire", "adjoint", "conseiller"},
        "idees.moderate": {"maire", "adjoint"},
    }
    assert {t.name for t in plugin.notification_types} == {"idees.new_idea", "idees.answered"}
    assert [s.name for s in plugin.settings] == ["intro", "visible_before_answer", "max_length"]


def test_every_view_declares_its_access(app):
    views = {
        rule.endpoint: app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("idees", "idees_api")
        and not rule.endpoint.endswith(".static")
    }
    assert len(views) >= 9
    undeclared = [name for name, view in views.items() if access_of(view) is None]
    assert undeclared == []


def test_the_migrated_schema_matches_the_models(app):
    with app.app_context():
        engine = app.extensions["viatic.db"].engine
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            heads = set(
                connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            )
    ours = [d for d in differences if "idees_" in repr(d)]
    assert ours == []
    assert "57f344a0b0db" in heads


def test_the_modules_page_shows_the_module_healthy(app, village, client):
    client.login(village.maire.email)
    page = client.get("/c/10145/admin/modules").get_data(as_text=True)
    card = page.split('data-module="idees"', 1)[1].split("</li>", 1)[0]
    assert "Boîte à idées" in card
    assert "Fonctionne" in card
    with app.app_context():
        commune = db.get(Commune, village.commune.id)
        health = registry(app).call_on("idees", "viatic_health_check", commune=commune, settings={})
    assert health.ok


def test_the_demo_content_is_realistic_and_idempotent(app, village, client):
    for _ in range(2):
        with app.app_context():
            commune = db.get(Commune, village.commune.id)
            registry(app).call_on("idees", "viatic_demo_content", commune=commune)
            db.commit()
    demo = ideas(app)
    assert len(demo) == len(services.DEMO_IDEAS) == 4
    assert {i.title for i in demo} >= {
        "Un banc près de l'église",
        "Un jardin partagé derrière la mairie",
        "Sécuriser l'arrêt du car scolaire",
    }
    [answered] = [i for i in demo if i.answer]
    assert (answered.status, answered.answered_by_id) == ("accepted", village.maire.id)
    assert {i.author_id for i in demo} == {village.habitant.id}

    client.login(village.voisine.email)
    listing = client.get(f"{IDEES}/").get_data(as_text=True)
    for idea in demo:
        assert escape(idea.title) in listing
    assert "Retenue" in client.get(f"{IDEES}/{answered.id}").get_data(as_text=True)


def test_the_demo_content_needs_no_member(app, commune, enable_module):
    enable_module(commune, "idees")
    with app.app_context():
        added = services.add_demo_content(db.get(Commune, commune.id))
        db.commit()
        again = services.add_demo_content(db.get(Commune, commune.id))
        authors = set(db.scalars(select(Idea.author_id)))
    assert (added, again, authors) == (4, 0, {None})
