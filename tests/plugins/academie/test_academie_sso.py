"""Single sign-on into Chamilo, Viatic's half: Chamilo's ``oauth2`` plugin, configured as the
Chamilo README says, signs in the account the provisioning made. The plugin's requests are
replayed here as league/oauth2-client sends them (authorization code, secret in the POST
body, no PKCE); Chamilo itself cannot run on this machine."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from core import oauth2
from core.db import db
from tests.plugins.academie.helpers import course_id, deliver, enrol

CALLBACK = "https://formation.exemple.fr/plugin/oauth2/src/callback.php"


def test_chamilos_oauth2_plugin_signs_in_the_provisioned_account(app, client, village, on_chamilo):
    client.login(village.adjoint.email)
    enrol(client, course_id(app, "Le budget communal"))
    deliver(app)
    oauth2_id = on_chamilo.fake.user(f"viatic-{village.adjoint.id}").extra["oauth2_id"]
    with app.test_request_context():
        row, secret = oauth2.create_client(
            "Chamilo", True, [CALLBACK], ["openid", "profile", "email"]
        )
        db.commit()
        client_id = row.client_id
    discovery = client.get("/.well-known/openid-configuration").json
    authorize = urlsplit(discovery["authorization_endpoint"]).path
    url = (
        authorize
        + "?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "scope": "openid profile email",
                "state": "etat-chamilo",
            }
        )
    )
    consent = client.get(url)
    assert consent.status_code == 200 and "Chamilo" in consent.get_data(as_text=True)
    back = client.submit(url, {"decision": "autoriser"}, page=url)
    assert back.status_code == 302 and back.headers["Location"].startswith(CALLBACK)
    answer = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["Location"]).query).items()}
    assert answer["state"] == "etat-chamilo"
    tokens = client.post(
        urlsplit(discovery["token_endpoint"]).path,
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": CALLBACK,
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    assert tokens.status_code == 200
    userinfo = client.get(
        urlsplit(discovery["userinfo_endpoint"]).path,
        headers={"Authorization": f"Bearer {tokens.json['access_token']}"},
    ).json
    assert userinfo["sub"] == oauth2_id  # Chamilo finds the account by its oauth2_id
    assert userinfo["email"] == village.adjoint.email
    # Next time, no consent screen: « Continuer » lands in the course.
    again = client.get(url)
    assert again.status_code == 302 and again.headers["Location"].startswith(CALLBACK)
