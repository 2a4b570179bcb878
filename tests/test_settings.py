"""Per-commune module settings: generated form, French validation, encrypted secrets."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from core.db import db
from core.models import AuditEvent, CommuneModule

URL = "/c/10145/admin/modules/meteo/reglages"
VALID = {
    "station": "Romilly-sur-Seine",
    "api_key": "cle-tres-secrete-123",
    "seuil": "35",
    "source": "https://meteo.example.org/api",
    "contact": "meteo@exemple.fr",
    "unite": "c",
    "public": "y",
}


def _admin(client, commune, make_member):
    client.login(make_member(commune, role="maire", admin=True).email)


def test_form_is_generated_from_the_schema_with_labels(client, commune, make_member):
    _admin(client, commune, make_member)
    html = client.get(URL).get_data(as_text=True)
    assert '<label for="station">Station</label>' in html
    assert 'type="password"' in html and 'name="api_key"' in html
    assert 'type="url"' in html and 'type="email"' in html
    assert '<option selected value="c">Celsius</option>' in html
    assert "Troyes-Barberey" in html  # the default


def test_invalid_values_get_french_messages_tied_to_fields_and_save_nothing(
    app, client, commune, make_member
):
    _admin(client, commune, make_member)
    response = client.submit(
        URL,
        {
            "station": "",
            "api_key": "",
            "seuil": "beaucoup",
            "source": "pas une adresse",
            "contact": "non",
            "unite": "k",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ce champ est obligatoire." in html
    assert "Saisissez une adresse web complète" in html
    assert "Saisissez une adresse e-mail valide." in html
    assert 'aria-describedby="station-erreur"' in html and 'id="station-erreur"' in html
    assert "Not a valid" not in html
    with app.app_context():
        assert db.scalar(select(CommuneModule)) is None


def test_secret_is_encrypted_at_rest_never_rendered_and_never_audited(
    app, client, commune, make_member
):
    _admin(client, commune, make_member)
    assert client.submit(URL, VALID).status_code == 302
    with app.app_context():
        raw = db.execute(text("SELECT settings FROM commune_module")).scalar_one()
        stored = raw if isinstance(raw, str) else json.dumps(raw)
        audit = json.dumps([e.details for e in db.scalars(select(AuditEvent))])
    assert "cle-tres-secrete-123" not in stored and "enc:" in stored
    assert "cle-tres-secrete-123" not in audit
    assert "Romilly-sur-Seine" in audit  # ordinary values are audited with before/after
    html = client.get(URL).get_data(as_text=True)
    assert "cle-tres-secrete-123" not in html
    assert "Une valeur est enregistrée" in html


def test_an_empty_secret_keeps_the_stored_one(app, client, commune, make_member, enable_module):
    _admin(client, commune, make_member)
    client.submit(URL, VALID)
    client.submit(URL, {**VALID, "api_key": "", "station": "Nogent-sur-Seine"})
    enable_module(commune, "meteo")
    assert "Station : Nogent-sur-Seine" in client.get("/c/10145/meteo/").get_data(as_text=True)
    html = client.get("/c/10145/admin/modules").get_data(as_text=True)
    assert "Fonctionne" in html  # the health check still sees the key


def test_settings_of_a_plugin_without_schema_answer_404(client, commune, make_member):
    _admin(client, commune, make_member)
    assert client.get("/c/10145/admin/modules/fragile/reglages").status_code == 404
