"""A project's documents: uploads checked by content through the core, served only to the
commune's team, traced in the project's feed."""

from __future__ import annotations

import io

from PIL import Image

from plugins.pilotage.models import Document, Project
from tests.plugins.pilotage.helpers import OTHER, PILOTAGE, page, project_form, rows


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "#1d4f91").save(buffer, "PNG")
    return buffer.getvalue()


def upload(client, url, name, body):
    return client.post(
        f"{url}/documents",
        data={"file": (io.BytesIO(body), name), "csrf_token": client.csrf_token(url)},
        content_type="multipart/form-data",
    )


def test_the_team_adds_reads_and_removes_a_projects_documents(
    app, client, team, other_commune, make_member, enable_module
):
    client.login(team.maire.email)
    client.submit(f"{PILOTAGE}/projets/nouveau", project_form())
    [project] = rows(app, Project)
    url = f"{PILOTAGE}/projets/{project.id}"
    assert upload(client, url, "plan.png", png()).status_code == 302
    assert upload(client, url, "devis.txt", "Devis : 12 000 €\n".encode()).status_code == 302
    refused = upload(client, url, "virus.exe", b"MZ\x90\x00" + bytes(200))
    assert refused.status_code == 400
    assert 'id="file-erreur"' in refused.get_data(as_text=True)
    empty = client.post(f"{url}/documents", data={"csrf_token": client.csrf_token(url)})
    assert empty.status_code == 400 and "Choisissez un fichier." in empty.get_data(as_text=True)
    plan, quote = rows(app, Document)
    shown = page(client, url)
    assert "plan.png" in shown and "a ajouté un document « devis.txt »" in shown
    served = client.get(f"{url}/documents/{plan.id}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    # The team reads it; a citizen, another commune's maire, and another project's URL: no.
    agent = app.test_client()
    agent.login(team.agent.email)
    assert agent.get(f"{url}/documents/{quote.id}").status_code == 200
    assert upload(agent, url, "autre.txt", b"texte").status_code == 403
    citizen = app.test_client()
    citizen.login(team.habitant.email)
    assert citizen.get(f"{url}/documents/{quote.id}").status_code == 403
    enable_module(other_commune, "pilotage")
    outsider = app.test_client()
    outsider.login(make_member(other_commune, "maire").email)
    assert outsider.get(f"{OTHER}/projets/{project.id}/documents/{quote.id}").status_code == 404
    client.submit(f"{PILOTAGE}/projets/nouveau", project_form(title="Autre"))
    other_project = rows(app, Project)[-1]
    assert (
        client.get(f"{PILOTAGE}/projets/{other_project.id}/documents/{quote.id}").status_code == 404
    )
    removed = client.submit(f"{url}/documents/{quote.id}/retirer", page=url)
    assert removed.status_code == 302
    assert [d.id for d in rows(app, Document)] == [plan.id]
    assert "a retiré un document « devis.txt »" in page(client, url)
