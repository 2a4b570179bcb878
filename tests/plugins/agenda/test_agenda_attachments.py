"""Documents and photos joined to an event: uploaded by a writer, recognised by their
content (a photo loses its GPS position), served only to those who see the event, removed
with their bytes; a date changed apart shows its series' documents."""

from __future__ import annotations

import io
import re

from PIL import Image

from tests.plugins.agenda.helpers import AGENDA, create, event_form, page, says
from tests.test_files import GPS_IFD, files_on_disk, jpeg_with_gps, stored_rows

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def upload(client, event_url: str, content: bytes, name: str):
    return client.post(
        f"{event_url}/documents",
        data={"csrf_token": client.csrf_token(event_url), "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def document_links(html: str) -> dict[str, str]:
    return {
        name: href
        for href, name in re.findall(r'<a href="([^"]+/documents/\d+)">([^<]+)</a>', html)
    }


def test_a_writer_joins_the_agenda_of_a_meeting_and_a_photo(app, village, client):
    client.login(village.maire.email)
    event_url = create(client, app, title="Conseil municipal").headers["Location"]
    assert upload(client, event_url, PDF, "ordre-du-jour.pdf").status_code == 302
    assert upload(client, event_url, jpeg_with_gps(), "salle.jpg").status_code == 302
    shown = page(client, event_url)
    links = document_links(shown)
    assert set(links) == {"ordre-du-jour.pdf", "salle.jpg"}
    pdf = client.get(links["ordre-du-jour.pdf"])
    assert pdf.status_code == 200 and pdf.data == PDF and pdf.mimetype == "application/pdf"
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    photo = Image.open(io.BytesIO(client.get(links["salle.jpg"]).data))
    assert not photo.getexif().get_ifd(GPS_IFD)  # the position is gone

    # A citizen sees the public meeting and its documents; nobody else's commune does.
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(village.habitant.email)
    assert client.get(links["ordre-du-jour.pdf"]).status_code == 200
    assert upload(client, event_url, PDF, "faux.pdf").status_code == 403  # may not add

    # Removed: the link answers 404 and the bytes leave the disk.
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(village.maire.email)
    before = len(files_on_disk(app))
    removed = client.submit(f"{links['ordre-du-jour.pdf']}/retirer", {}, page=event_url)
    assert removed.status_code == 302
    assert client.get(links["ordre-du-jour.pdf"]).status_code == 404
    assert len(files_on_disk(app)) == before - 1
    assert [r.original_name for r in stored_rows(app)] == ["salle.jpg"]

    # The event deleted, its photo goes too.
    client.submit(f"{event_url}/supprimer", {"scope": "all"}, page=f"{event_url}/supprimer")
    assert stored_rows(app) == [] and files_on_disk(app) == []


def test_a_members_event_keeps_its_documents_from_citizens_and_other_communes(
    app, village, client, other_commune, make_member
):
    client.login(village.maire.email)
    event_url = create(client, app, title="Commission des finances", visibility="members").headers[
        "Location"
    ]
    upload(client, event_url, PDF, "budget.pdf")
    link = document_links(page(client, event_url))["budget.pdf"]
    # A citizen of the commune is told it does not exist; a stranger may not even ask.
    for person, status in ((village.habitant, 404), (make_member(other_commune, "maire"), 403)):
        client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
        client.login(person.email)
        answer = client.get(link)
        assert answer.status_code == status and answer.data != PDF


def test_what_is_not_a_clean_document_is_refused_and_nothing_kept(app, village, client):
    client.login(village.maire.email)
    event_url = create(client, app, title="Réunion publique").headers["Location"]
    for content, name in (
        (b"<html><script>alert(1)</script></html>", "affiche.pdf"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "plan.svg"),
        (b"", "vide.pdf"),
    ):
        refused = upload(client, event_url, content, name)
        assert refused.status_code == 400
        html = refused.get_data(as_text=True)
        assert 'class="error' in html or says(html, "fichier")
    assert stored_rows(app) == [] and files_on_disk(app) == []


def test_a_date_changed_apart_shows_its_series_documents(app, village, client):
    client.login(village.maire.email)
    series = create(
        client, app, title="Permanence", repeat="weekly", count="3", ends="count"
    ).headers["Location"]
    upload(client, series, PDF, "planning.pdf")
    event_id = series.rsplit("/", 1)[1]
    changed = client.submit(
        f"{AGENDA}/evenement/{event_id}/modifier?date=20261027T180000",
        {
            **event_form(app, title="Permanence déplacée", start_date="2026-10-28"),
            "scope": "occurrence",
        },
    )
    assert changed.status_code == 302
    assert "planning.pdf" in document_links(page(client, changed.headers["Location"]))


def test_an_app_lists_an_event_s_documents_and_fetches_them_with_its_token(
    app, village, client, bearer
):
    client.login(village.maire.email)
    event_url = create(client, app, title="Conseil municipal", visibility="members").headers[
        "Location"
    ]
    assert upload(client, event_url, PDF, "ordre-du-jour.pdf").status_code == 302
    event_id = event_url.rstrip("/").rsplit("/", 1)[1]
    api = f"/api/v1/c/10145/agenda/evenements/{event_id}"
    councillor = bearer(village.conseiller, "agenda:read")
    [document] = client.get(api, headers=councillor).json["attachments"]
    assert (document["name"], document["media_type"], document["size"]) == (
        "ordre-du-jour.pdf",
        "application/pdf",
        len(PDF),
    )
    path = document["url"].split("viatic.test", 1)[1]
    fetched = client.get(path, headers=councillor)
    assert fetched.status_code == 200 and fetched.data == PDF
    # A citizen does not see this members' meeting, nor its documents.
    citizen = bearer(village.habitant, "agenda:read")
    assert client.get(path, headers=citizen).status_code == 404
    assert client.get(f"{path}9", headers=councillor).status_code == 404
