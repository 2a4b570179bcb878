"""Photos in the chat, through the core's file support: recognised by their content,
cleaned of their metadata, served only to the people who may read the channel."""

from __future__ import annotations

import io

from PIL import Image

from tests.plugins.chat.helpers import API, CHAT, channels, general_id, messages, new_channel
from tests.test_files import GPS_IFD, jpeg_with_gps, png_bytes


def send(
    client, channel_id: int, content: bytes, name: str, declared: str = "image/jpeg", body: str = ""
):
    url = f"{CHAT}/salon/{channel_id}"
    return client.post(
        url,
        data={
            "csrf_token": client.csrf_token(url),
            "body": body,
            "photo": (io.BytesIO(content), name, declared),
        },
        content_type="multipart/form-data",
    )


def test_a_photo_is_shown_to_the_channel_without_its_gps_position(app, village, client):
    general = general_id(app)
    client.login(village.adjoint.email)
    original = jpeg_with_gps(size=(1200, 900))
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    sent = send(client, general, original, "IMG_0001.JPG", body="Le trou dans la chaussée")
    assert sent.status_code == 302
    [message] = messages(app)
    reader = app.test_client()
    reader.login(village.agent.email)
    html = reader.get(f"{CHAT}/salon/{general}").get_data(as_text=True)
    assert f'src="/c/10145/chat/message/{message.id}/photo?miniature=1"' in html
    served = reader.get(f"{CHAT}/message/{message.id}/photo")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    cleaned = Image.open(io.BytesIO(served.data))
    assert cleaned.size == (1200, 900)
    assert not cleaned.getexif().get_ifd(GPS_IFD) and "exif" not in cleaned.info
    thumbnail = reader.get(f"{CHAT}/message/{message.id}/photo?miniature=1")
    assert max(Image.open(io.BytesIO(thumbnail.data)).size) <= 480


def test_a_png_named_jpg_is_taken_for_the_png_it_is(app, village, client):
    client.login(village.maire.email)
    assert send(client, general_id(app), png_bytes(), "plan.jpg").status_code == 302
    [message] = messages(app)
    served = client.get(f"{CHAT}/message/{message.id}/photo")
    assert served.mimetype == "image/png"


def test_what_is_not_a_photo_is_refused_and_nothing_is_stored(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    whole = jpeg_with_gps()
    truncated = whole[: len(whole) // 2]
    for content, name, declared in [
        (svg, "dessin.svg", "image/svg+xml"),
        (html, "photo.png", "image/png"),
        (truncated, "coupee.jpg", "image/jpeg"),
        (b"", "vide.jpg", "image/jpeg"),
    ]:
        refused = send(client, general, content, name, declared)
        assert refused.status_code == 400, name
        assert 'id="photo-erreur"' in refused.get_data(as_text=True), name
    oversized = b"\xff\xd8\xff" + b"0" * (10 * 2**20 + 1)
    refused = send(client, general, oversized, "enorme.jpg")
    assert refused.status_code in (400, 413)
    assert messages(app) == []
    with app.app_context():
        from sqlalchemy import select

        from core.db import db
        from core.files import StoredFile

        assert list(db.scalars(select(StoredFile))) == []


def test_a_photo_is_served_only_to_the_channels_readers(
    app, village, client, other_commune, make_member, enable_module
):
    client.login(village.maire.email)
    new_channel(client, name="Bureau municipal", kind="group", members=[str(village.adjoint.id)])
    bureau = next(c for c in channels(app) if c.name == "Bureau municipal")
    send(client, bureau.id, jpeg_with_gps(), "devis.jpg")
    [message] = messages(app)
    url = f"{CHAT}/message/{message.id}/photo"
    assert client.get(url).status_code == 200
    for person in (village.agent, village.habitant):
        other = app.test_client()
        other.login(person.email)
        assert other.get(url).status_code == 404, person.email
    enable_module(other_commune, "chat")
    stranger = app.test_client()
    stranger.login(make_member(other_commune, "maire").email)
    assert stranger.get(url).status_code == 403
    assert stranger.get(f"/c/10124/chat/message/{message.id}/photo").status_code == 404
    # Deleted, the photo is gone for everyone.
    client.submit(f"{CHAT}/message/{message.id}/supprimer", page=f"{CHAT}/message/{message.id}")
    assert client.get(url).status_code == 404


def test_an_app_uploads_a_photo_through_the_api(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    token = client.csrf_token(f"{CHAT}/")
    sent = client.post(
        f"{API}/channels/{general}/photos",
        data={"photo": (io.BytesIO(png_bytes()), "plan.png", "image/png"), "body": "Le plan"},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201
    photo = sent.get_json()["photo"]
    assert photo["name"] == "plan.png" and photo["url"].endswith("/photo")
    refused = client.post(
        f"{API}/channels/{general}/photos",
        data={"photo": (io.BytesIO(b"<svg/>"), "x.png", "image/png")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and refused.get_json()["field"] == "photo"
    missing = client.post(
        f"{API}/channels/{general}/photos", data={}, headers={"X-CSRFToken": token}
    )
    assert missing.status_code == 400
    assert len(messages(app)) == 1
