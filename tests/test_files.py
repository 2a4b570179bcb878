"""Uploads (core/files.py): recognised by content, cleaned of metadata, stored, served only
through the plugin that owns them. Driven through the album test plugin's pages, as a person
would use them, and through ``files.save`` for the document types."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from core import files
from core.db import db

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
def album(app, commune, make_member, enable_module, client):
    enable_module(commune, "album")
    maire = make_member(commune, role="maire")
    client.login(maire.email)
    return f"/c/{commune.insee}/album/"


def jpeg_with_gps(size=(640, 480), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 15.0, 30.0), "E", (4.0, 3.0, 10.0)
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bytes(size=(32, 16), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def post(client, url, content: bytes, name: str, declared: str = "image/jpeg"):
    return client.post(
        url,
        data={
            "csrf_token": client.csrf_token(url),
            "photo": (io.BytesIO(content), name, declared),
        },
        content_type="multipart/form-data",
    )


def stored_rows(app) -> list[files.StoredFile]:
    with app.app_context():
        return list(db.scalars(select(files.StoredFile).order_by(files.StoredFile.id)))


def files_on_disk(app) -> list[Path]:
    root = Path(app.config["FILES_PATH"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- Images ---------------------------------------------------------------------------------


def test_a_photo_loses_its_gps_position_and_gets_a_thumbnail(app, client, album):
    original = jpeg_with_gps(size=(1200, 900))
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the input has one

    response = post(client, album, original, "IMG_0001.JPG")
    assert response.status_code == 201
    (row,) = stored_rows(app)
    assert "IMG_0001.JPG" in response.text

    served = client.get(f"{album}{row.id}")
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "JPEG" and image.size == (1200, 900)
    assert dict(image.getexif()) == {}
    assert b"PhoneMaker" not in served.data

    thumbnail = Image.open(io.BytesIO(client.get(f"{album}{row.id}/miniature").data))
    assert thumbnail.size == (480, 360)
    assert dict(thumbnail.getexif()) == {}


def test_the_photo_is_turned_upright_as_the_camera_said(app, client, album):
    # Orientation 6: the camera was held sideways, the picture must be turned by 90°.
    assert post(client, album, jpeg_with_gps((400, 300), orientation=6), "a.jpg").status_code == 201
    (row,) = stored_rows(app)
    assert (row.width, row.height) == (300, 400)


def test_a_png_named_jpg_is_taken_for_what_it_is(app, client, album):
    response = post(client, album, png_bytes(), "photo.jpg", declared="image/jpeg")
    assert response.status_code == 201
    (row,) = stored_rows(app)
    assert row.media_type == "image/png"
    assert client.get(f"{album}{row.id}").mimetype == "image/png"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "n&#39;est pas accepté",
        ),
        (b"<html><script>alert(1)</script></html>", "photo.png", "n&#39;est pas accepté"),
        (jpeg_with_gps()[:2000], "coupee.jpg", "abîmée ou incomplète"),
        (b"\x00\x01\x02binary" * 10, "data.bin", "n&#39;est pas accepté"),
        (b"", "vide.jpg", "Le fichier est vide"),
    ],
    ids=["svg", "html-named-png", "truncated-jpeg", "binary", "empty"],
)
def test_what_is_not_a_clean_file_is_refused_and_nothing_is_kept(
    app, client, album, content, name, message
):
    response = post(client, album, content, name)
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-describedby="photo-errors"' in response.text
    assert stored_rows(app) == []
    assert files_on_disk(app) == []


def test_an_oversized_file_is_refused_with_its_limit(app, client, album):
    response = post(client, album, os.urandom(2 * 1024 * 1024 + 1), "grand.jpg")
    assert response.status_code == 422
    assert "dépasse la taille maximale de 2 Mo" in response.text
    assert stored_rows(app) == [] and files_on_disk(app) == []


def test_a_small_file_announcing_a_huge_image_is_refused(app, client, album):
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # 100 megapixels in a few kilobytes
    assert bomb.tell() < 100_000
    response = post(client, album, bomb.getvalue(), "bombe.png")
    assert response.status_code == 422
    assert "trop de pixels" in response.text
    assert stored_rows(app) == []


# --- Serving --------------------------------------------------------------------------------


def test_a_file_is_served_with_headers_that_keep_it_inert(app, client, album):
    post(client, album, png_bytes(), "a.png")
    (row,) = stored_rows(app)
    served = client.get(f"{album}{row.id}")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "private" in served.headers["Cache-Control"]
    assert "inline" in served.headers["Content-Disposition"]
    again = client.get(f"{album}{row.id}", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


def test_another_communes_member_never_gets_the_photo(
    app, client, album, commune, other_commune, make_member, enable_module
):
    post(client, album, png_bytes(), "a.png")
    (row,) = stored_rows(app)
    enable_module(other_commune, "album")
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    stranger = make_member(other_commune, role="maire")
    client.login(stranger.email)
    refused = client.get(f"/c/{commune.insee}/album/{row.id}")
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    # Nor through the album of their own commune, by number.
    assert client.get(f"/c/{other_commune.insee}/album/{row.id}").status_code == 404
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    assert client.get(f"/c/{commune.insee}/album/{row.id}").status_code in (302, 404)


def test_a_citizen_may_look_but_not_post(app, client, commune, make_member, enable_module):
    enable_module(commune, "album")
    client.login(make_member(commune, role="citoyen").email)
    url = f"/c/{commune.insee}/album/"
    assert client.get(url).status_code == 200
    assert post(client, url, png_bytes(), "a.png").status_code == 403
    assert stored_rows(app) == []


# --- Documents and the transaction ----------------------------------------------------------


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


class Upload(io.BytesIO):
    def __init__(self, content: bytes, filename: str) -> None:
        super().__init__(content)
        self.filename = filename


ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF", "deliberation.pdf", "application/pdf"),
        (zipped({"mimetype": ODT.encode(), "content.xml": b"<x/>"}), "cr.odt", ODT),
        (zipped({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"}), "a.docx", DOCX),
        ("Ordre du jour : budget, écoles\n".encode(), "odj.txt", "text/plain"),
        (b"nom;montant\nvoirie;1200\n", "budget.csv", "text/csv"),
        (png_bytes(), "plan.png", "image/png"),
    ],
)
def test_documents_are_recognised_by_their_content(app, commune, content, name, expected):
    with app.test_request_context():
        stored = files.save(
            Upload(content, name), commune=commune, plugin="album", kinds={"image", "document"}
        )
        db.commit()
        assert stored.media_type == expected
        assert stored.original_name == name
        kept = files.path_of(stored.storage_key).read_bytes()
        if stored.is_image:  # written again from its pixels
            assert Image.open(io.BytesIO(kept)).size == Image.open(io.BytesIO(content)).size
        else:  # documents are kept as they came
            assert kept == content


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (zipped({"evil.exe": b"MZ"}), "archive.docx"),
        (zipped({"mimetype": b"application/x-evil", "x": b""}), "faux.odt"),
        (b"<!DOCTYPE html><p>hello</p>", "page.txt"),
        (b"%PDF-1.7", "x.pdf"),  # a PDF, but only images are asked for
    ],
)
def test_other_files_are_refused_as_documents(app, commune, content, name):
    kinds = {"image"} if name == "x.pdf" else {"document"}
    with app.test_request_context(), pytest.raises(files.Refused):
        files.save(Upload(content, name), commune=commune, plugin="album", kinds=kinds)


def test_the_bytes_follow_the_transaction(app, commune):
    with app.test_request_context():
        kept = files.save(Upload(png_bytes(), "a.png"), commune=commune, plugin="album")
        db.commit()
        dropped = files.save(Upload(png_bytes(), "b.png"), commune=commune, plugin="album")
        assert files.path_of(dropped.storage_key).exists()
        db.rollback()
        assert not files.path_of(dropped.storage_key).exists()
        assert not files.path_of(dropped.storage_key, thumbnail=True).exists()

        path = files.path_of(kept.storage_key)
        files.delete(kept)
        assert path.exists()  # until the deletion is committed
        db.commit()
        assert not path.exists()
        assert db.scalar(select(func.count()).select_from(files.StoredFile)) == 0


def test_a_request_that_fails_after_saving_leaves_no_file_behind(app, commune):
    with app.test_request_context():
        stored = files.save(Upload(png_bytes(), "a.png"), commune=commune, plugin="album")
        path = files.path_of(stored.storage_key)
        assert path.exists()
    # The request ended without a commit: its session closed, the file went with it.
    assert not path.exists()


def test_names_lose_folders_and_control_characters():
    assert files.clean_name("C:\\Users\\moi\\Photo été.JPG") == "Photo été.JPG"
    assert files.clean_name("../../etc/passwd") == "passwd"
    assert files.clean_name("a\x00b\u202ec.png") == "abc.png"
