"""The chat's JSON API for the apps: list channels, read a channel's history, post, mark
read (and, in the portal, the live page posts and marks read through it too).

Mounted by the core under ``/api/v1/c/<INSEE>/chat/``, through the same services as the
pages. Errors are problems (RFC 9457): 400 naming the ``field`` at fault for bad input,
404 for a channel that does not exist or is not the person's. A POST with the session's
cookie carries its CSRF token in the ``X-CSRFToken`` header; a token needs the scopes
``chat:read`` / ``chat:write``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for

from core import toolkit
from core.toolkit import gettext as _
from plugins.chat import services
from plugins.chat.models import REACTIONS

bp = Blueprint("chat_api", __name__)


@bp.errorhandler(services.ChatError)
def _invalid(error: services.ChatError) -> Any:
    services.rollback()
    field = next(iter(error.errors), None)
    return toolkit.problem(400, _("Demande incorrecte"), error.message, field=field)


class ChannelOut(toolkit.ApiSchema):
    id: int
    kind: str
    name: str
    topic: str
    open_to_citizens: bool
    closed: bool
    last_seq: int
    unread: int
    url: str


class ReplyOut(toolkit.ApiSchema):
    id: int
    author_name: str
    excerpt: str


class PhotoOut(toolkit.ApiSchema):
    name: str
    width: int | None
    height: int | None
    url: str
    thumbnail_url: str


class MessageOut(toolkit.ApiSchema):
    id: int
    channel_id: int
    seq: int
    author_id: int | None
    author_name: str
    body: str
    html: str
    created_at: str
    edited: bool
    deleted: bool
    hidden: bool
    reply_to: ReplyOut | None
    photo: PhotoOut | None
    reactions: list[ReactionOut]


def _out(message: Any) -> dict[str, Any]:
    view = services.message_view(message)
    if view["photo"] is not None:
        url = url_for("chat.photo", message_id=message.id, _external=True)
        view["photo"] = {**view["photo"], "url": url, "thumbnail_url": f"{url}?miniature=1"}
    return view


class ReactionOut(toolkit.ApiSchema):
    emoji: str
    count: int
    ids: list[int]
    people: list[str]


class ReactedOut(toolkit.ApiSchema):
    emoji: str
    reacted: bool
    reactions: list[ReactionOut]


class ReadOut(toolkit.ApiSchema):
    last_read_seq: int


def _json_body(hint: str) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        toolkit.refuse(hint)
    return data


@bp.get("/channels")
@toolkit.requires("chat.view")
@toolkit.api_operation(
    "Les canaux de la personne, avec leurs messages non lus",
    response=ChannelOut,
    many=True,
    tags=["messagerie"],
    scopes=["chat:read"],
)
def list_channels() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    channels = services.list_channels(commune, user)
    unread = services.unread_counts(commune, user, channels)
    return [
        {
            "id": c.id,
            "kind": c.kind,
            "name": c.name,
            "topic": c.topic,
            "open_to_citizens": c.open_to_citizens,
            "closed": c.closed_at is not None,
            "last_seq": c.last_seq,
            "unread": unread.get(c.id, 0),
            "url": url_for("chat.channel", channel_id=c.id, _external=True),
        }
        for c in channels
    ]


@bp.get("/channels/<int:channel_id>/messages")
@toolkit.requires("chat.view")
@toolkit.api_operation(
    "L'historique d'un canal, par pages de 50 messages (les plus récents d'abord chargés)",
    response=MessageOut,
    many=True,
    tags=["messagerie"],
    scopes=["chat:read"],
    query={"before": {"type": "integer", "minimum": 1, "description": "avant ce message"}},
)
def history(channel_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    channel = services.get_channel(commune, user, channel_id)
    raw = request.args.get("before", "")
    before = services.parse_id(raw)
    if raw and before is None:
        return toolkit.problem(
            400,
            _("Demande incorrecte"),
            _("« before » doit être un numéro de message."),
            field="before",
        )
    messages = services.history(channel, before=before)
    return [_out(m) for m in messages]


@bp.post("/channels/<int:channel_id>/messages")
@toolkit.requires("chat.write")
@toolkit.api_operation(
    "Écrire dans un canal",
    response=MessageOut,
    status=201,
    tags=["messagerie"],
    scopes=["chat:write"],
)
def post_message(channel_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    channel = services.get_channel(commune, user, channel_id)
    data = _json_body(_("Envoyez un objet JSON avec le texte du message (« body »)."))
    reply_to = data.get("reply_to")
    if reply_to is not None and (isinstance(reply_to, bool) or not isinstance(reply_to, int)):
        raise services.ChatError({"reply_to": _("Le message auquel vous répondez n'est pas ici.")})
    body = data.get("body")
    if not isinstance(body, str):
        raise services.ChatError({"body": _("Écrivez un message.")})
    message = services.post_message(commune, user, channel, body, reply_to)
    services.commit()
    return _out(message), 201


@bp.post("/channels/<int:channel_id>/photos")
@toolkit.requires("chat.write")
@toolkit.api_operation(
    "Envoyer une photo dans un canal (formulaire multipart : « photo », et « body » facultatif)",
    response=MessageOut,
    status=201,
    tags=["messagerie"],
    scopes=["chat:write"],
)
def post_photo(channel_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    channel = services.get_channel(commune, user, channel_id)
    photo = request.files.get("photo")
    if photo is None or not photo.filename:
        raise services.ChatError({"photo": _("Joignez une photo (champ « photo »).")})
    message = services.post_message(
        commune, user, channel, request.form.get("body", ""), request.form.get("reply_to"), photo
    )
    services.commit()
    return _out(message), 201


@bp.post("/messages/<int:message_id>/reactions")
@toolkit.requires("chat.view")
@toolkit.api_operation(
    "Réagir à un message, ou retirer sa réaction : « emoji » est l'une de "
    + ", ".join(f"« {key} » ({symbol})" for key, (symbol, _label) in REACTIONS.items()),
    response=ReactedOut,
    tags=["messagerie"],
    scopes=["chat:write"],
)
def react(message_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    message = services.get_message(commune, user, message_id)
    data = _json_body(_("Envoyez un objet JSON avec la réaction choisie (« emoji »)."))
    emoji = data.get("emoji")
    reacted = services.toggle_reaction(commune, user, message, emoji)
    services.commit()
    return {
        "emoji": emoji,
        "reacted": reacted,
        "reactions": services.reactions_view(message.reactions),
    }


@bp.post("/channels/<int:channel_id>/read")
@toolkit.requires("chat.view")
@toolkit.api_operation(
    "Marquer un canal comme lu (jusqu'à « seq », ou jusqu'au bout)",
    response=ReadOut,
    tags=["messagerie"],
    scopes=["chat:read"],
)
def mark_read(channel_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    channel = services.get_channel(commune, user, channel_id)
    data = request.get_json(silent=True)
    seq = data.get("seq") if isinstance(data, dict) else None
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq > 2**31):
        raise services.ChatError({"seq": _("Le numéro de lecture doit être un nombre entier.")})
    marker = services.mark_read(channel, user, seq)
    services.commit()
    return {"last_read_seq": marker}
