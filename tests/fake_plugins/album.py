"""A photo album: the smallest plugin that stores uploads through ``toolkit.files``.

Members post photos (or documents) of their commune; a photo is served only to the members
of the commune it belongs to."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select

from core import toolkit

MAX_BYTES = 2 * 1024 * 1024

bp = Blueprint("album", __name__, template_folder=str(Path(__file__).parent / "templates"))


class PhotoForm(FlaskForm):
    photo = FileField("Photo", validators=[FileRequired("Choisissez un fichier.")])


@bp.route("/", methods=["GET", "POST"])
@toolkit.requires("album.view")
def index() -> tuple[str, int]:
    commune = toolkit.current_commune()
    form = PhotoForm()
    status = 200
    if form.validate_on_submit():
        toolkit.check("album.post")
        try:
            toolkit.files.save(
                form.photo.data,
                commune=commune,
                plugin="album",
                kinds={"image", "document"},
                max_bytes=MAX_BYTES,
                uploader=toolkit.current_user(),
            )
        except toolkit.files.Refused as refused:
            form.photo.errors.append(refused.message)
        else:
            toolkit.db.commit()
            return toolkit.render(
                "album/index.html", form=PhotoForm(formdata=None), **_album()
            ), 201
    if form.errors:
        status = 422
    return toolkit.render("album/index.html", form=form, **_album()), status


@bp.get("/<int:file_id>")
@toolkit.requires("album.view")
def photo(file_id: int):
    return toolkit.files.response(_stored(file_id))


@bp.get("/<int:file_id>/miniature")
@toolkit.requires("album.view")
def thumbnail(file_id: int):
    return toolkit.files.response(_stored(file_id), thumbnail=True)


def _stored(file_id: int) -> toolkit.files.StoredFile:
    stored = toolkit.db.get(toolkit.files.StoredFile, file_id)
    if (
        stored is None
        or stored.plugin != "album"
        or stored.commune_id != toolkit.current_commune().id
    ):
        abort(404)
    return stored


def _album() -> dict:
    files = toolkit.db.scalars(
        select(toolkit.files.StoredFile)
        .where(
            toolkit.files.StoredFile.plugin == "album",
            toolkit.files.StoredFile.commune_id == toolkit.current_commune().id,
        )
        .order_by(toolkit.files.StoredFile.id)
    )
    return {"files": list(files)}


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="album",
        label="Album",
        version="1.0",
        description="Les photos de la commune.",
        core_version=">=0.1",
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return bp


@toolkit.hookimpl
def viatic_permissions() -> list[toolkit.Permission]:
    return [
        toolkit.Permission("album.view", "Voir l'album", toolkit.ROLES),
        toolkit.Permission("album.post", "Ajouter une photo", ("maire", "agent")),
    ]
