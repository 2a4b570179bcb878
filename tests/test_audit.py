"""The audit log: who did what, when, where; readable with filters; impossible to edit."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from core import audit
from core.db import db
from core.models import AuditEvent, AuditLogIsAppendOnly


def test_admin_reads_the_log_with_filters(client, commune, make_member, enable_module):
    admin = make_member(commune, role="maire", admin=True, email="maire@faux-villecerf.fr")
    client.login(admin.email)
    client.submit("/c/10145/admin/modules/meteo/activer", page="/c/10145/admin/modules")
    client.submit(
        "/c/10145/admin/membres/inviter",
        {"email": "agent@exemple.fr", "role": "agent"},
        page="/c/10145/admin/membres",
    )

    everything = client.get("/c/10145/admin/journal").get_data(as_text=True)
    assert "module.enabled" in everything and "member.invited" in everything
    assert "maire@faux-villecerf.fr" in everything

    only_meteo = client.get("/c/10145/admin/journal?module=meteo").get_data(as_text=True)
    assert "module.enabled" in only_meteo and "member.invited" not in only_meteo

    nobody = client.get("/c/10145/admin/journal?personne=quelquun-dautre").get_data(as_text=True)
    assert "Aucune action ne correspond à ces filtres." in nobody

    future = client.get("/c/10145/admin/journal?du=2999-01-01").get_data(as_text=True)
    assert "Aucune action" in future
    bad_date = client.get("/c/10145/admin/journal?du=hier")
    assert bad_date.status_code == 200  # an unreadable date is ignored, not a 500


def test_the_log_of_one_commune_does_not_show_another(
    client, commune, other_commune, make_member, enable_module
):
    enable_module(other_commune, "meteo")
    client.login(make_member(commune, role="maire", admin=True).email)
    assert "module.enabled" not in client.get("/c/10145/admin/journal").get_data(as_text=True)


def test_plugins_record_through_the_toolkit(app, client, commune, make_member, enable_module):
    enable_module(commune, "meteo")
    client.login(make_member(commune, role="maire").email)
    assert client.submit("/c/10145/meteo/alerte", page="/c/10145/meteo/").status_code == 201
    with app.app_context():
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "meteo.alert_sent"))
    assert (event.module, event.commune_id, event.object_type) == ("meteo", commune.id, "alert")


def test_the_orm_refuses_to_change_or_delete_an_event(app):
    with app.app_context():
        audit.record("essai")
        db.commit()
        event = db.scalar(select(AuditEvent))
        event.action = "falsifié"
        with pytest.raises(AuditLogIsAppendOnly):
            db.commit()
        db.rollback()
        db.delete(db.scalar(select(AuditEvent)))
        with pytest.raises(AuditLogIsAppendOnly):
            db.commit()


def test_the_database_refuses_to_change_or_delete_an_event(app):
    with app.app_context():
        audit.record("essai")
        db.commit()
        for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(DatabaseError, match="append-only"):
                db.execute(text(statement))
            db.rollback()
        assert db.scalar(select(AuditEvent.action)) == "essai"


def test_no_route_can_edit_the_log(app):
    """Nothing in the app changes the log: its only page is read-only."""
    rules = [r for r in app.url_map.iter_rules() if "journal" in r.rule]
    assert len(rules) == 2  # the commune admin's and the platform admin's
    assert all(r.methods - {"HEAD", "OPTIONS"} == {"GET"} for r in rules)


def test_platform_admin_reads_sign_ins_and_other_events_of_no_commune(client, commune, make_member):
    member = make_member(commune, email="elu@exemple.fr")
    client.submit("/connexion", {"email": member.email, "password": "mauvais"})
    client.login(make_member(None, platform_admin=True, email="admin@exemple.fr").email)
    page = client.get("/admin/journal").get_data(as_text=True)
    assert "login.failure" in page and "elu@exemple.fr" in page
    filtered = client.get("/admin/journal?personne=admin@").get_data(as_text=True)
    assert "login.success" in filtered and "login.failure" not in filtered


def test_the_log_pages_by_fifty(app, client, commune, make_member):
    with app.app_context():
        for n in range(60):
            audit.record(f"essai.{n}", commune=db.merge(commune))
        db.commit()
    client.login(make_member(commune, role="maire", admin=True).email)
    first = client.get("/c/10145/admin/journal").get_data(as_text=True)
    assert "essai.59" in first and "essai.9<" not in first and "Plus anciens" in first
    second = client.get("/c/10145/admin/journal?page=2").get_data(as_text=True)
    assert "essai.9<" in second and "essai.59" not in second
    assert client.get("/c/10145/admin/journal?page=abc").status_code == 200
    # A page past the end, however far, is an empty page; a NUL in a filter is dropped.
    for query in ("page=99999999999999999999", "page=2000000"):
        answer = client.get(f"/c/10145/admin/journal?{query}")
        assert answer.status_code == 200 and "essai.59" not in answer.get_data(as_text=True)
    for query in ("personne=%00", "module=%00"):
        answer = client.get(f"/c/10145/admin/journal?{query}")
        assert answer.status_code == 200 and "essai.59" in answer.get_data(as_text=True)
