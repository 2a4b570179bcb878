"""The chat's HTML pages: the channels, one channel's conversation and its live stream,
a message's actions, the forms to open a channel or a conversation, and moderation.

Thin on purpose: parse the request, call ``services``, render. Every page works without
JavaScript (forms post and redirect); ``static/chat.js`` adds the live stream, posting
without reload and the unread counts.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, flash, redirect, request, stream_with_context, url_for
from flask_babel import format_datetime, get_locale
from flask_wtf.csrf import generate_csrf
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.chat import bridge, live, markup, services
from plugins.chat.models import COMMISSION, GROUP, KIND_LABELS, REACTIONS, Channel

HERE = Path(__file__).parent
T = TypeVar("T")
bp = Blueprint(
    "chat",
    __name__,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static",
)


# --- Forms ------------------------------------------------------------------------------------


class MessageForm(toolkit.Form):
    body = TextAreaField(
        _l("Votre message"),
        [InputRequired(_l("Écrivez un message."))],
        description=_l(
            "**gras**, *italique*, [lien](https://…), listes ; mentionnez quelqu'un avec "
            "@prenom.nom."
        ),
        render_kw={"rows": 3, "maxlength": services.BODY_MAX},
    )
    photo = FileField(
        _l("Photo (facultatif)"),
        description=_l("JPEG, PNG ou WebP, 10 Mo au plus. Sa position GPS est retirée."),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    reply_to = HiddenField()


class EditForm(toolkit.Form):
    body = TextAreaField(
        _l("Texte du message"),
        [InputRequired(_l("Écrivez un message."))],
        render_kw={"rows": 4, "maxlength": services.BODY_MAX},
    )


class ReportForm(toolkit.Form):
    reason = StringField(
        _l("Ce qui ne va pas"),
        [InputRequired(_l("Dites en quelques mots ce qui ne va pas."))],
        render_kw={"maxlength": services.REASON_MAX},
    )


class HideForm(toolkit.Form):
    reason = StringField(
        _l("Raison (pour le journal)"), render_kw={"maxlength": services.REASON_MAX}
    )


class ChannelForm(toolkit.Form):
    name = StringField(
        _l("Nom du canal"),
        [InputRequired(_l("Donnez un nom au canal."))],
        description=_l("Par exemple « Commission des travaux » ou « Projet école »."),
        render_kw={"maxlength": services.NAME_MAX},
    )
    kind = SelectField(
        _l("Type"),
        choices=[SelectChoice(k, KIND_LABELS[k]) for k in (COMMISSION, GROUP)],
        validate_choice=False,
    )
    topic = StringField(_l("Sujet"), render_kw={"maxlength": services.TOPIC_MAX})
    everyone = BooleanField(
        _l("Toute l'équipe municipale en fait partie (commission ou projet seulement)")
    )
    open_to_citizens = BooleanField(_l("Ouvert aux habitants"))
    members = SelectMultipleField(_l("Membres"), validate_choice=False)


class BridgeForm(toolkit.Form):
    room = StringField(
        _l("Salon Matrix"),
        [InputRequired(_l("Écrivez l'adresse du salon."))],
        description=_l(
            "Son identifiant (!abc:serveur) ou son alias (#nom:serveur). Invitez "
            "d'abord le compte robot si le salon est privé."
        ),
    )


class DirectForm(toolkit.Form):
    members = SelectMultipleField(
        _l("Avec qui"),
        [InputRequired(_l("Choisissez au moins une personne."))],
        validate_choice=False,
    )


def _show_errors(form: toolkit.Form, error: services.ChatError) -> None:
    for name, message in error.errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            flash(message, "error")


def _carry_out(action: Callable[[], T]) -> T:
    """Run the action of a button (no form to show again) and save it; input it refuses
    answers 400 with its message, nothing saved."""
    try:
        result = action()
    except services.ChatError as error:
        services.rollback()
        toolkit.refuse(error.message, 400)
    services.commit()
    return result


def _people_choices(form_field: Any, exclude: int | None = None) -> None:
    people = services.commune_people(toolkit.current_commune())
    form_field.choices = [
        SelectChoice(str(user.id), f"{user.name} (@{markup.handle(user.name)})")
        for user, _role in people
        if user.id != exclude
    ]


@bp.app_template_filter("chat_time")
def format_time(moment: str) -> str:
    """« 22 nov. 2026, 14:03 » in the reader's language, Paris time."""
    return format_datetime(dt.datetime.fromisoformat(moment), "medium")


def message_url(message: Any) -> str:
    """Where a message is read: its channel's page around it."""
    return url_for(
        "chat.channel",
        channel_id=message.channel_id,
        avant=message.id + 1,
        _anchor=f"m{message.id}",
    )


# --- Channels ---------------------------------------------------------------------------------


@bp.get("/")
@toolkit.requires("chat.view")
def index() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    channels = services.list_channels(commune, user)
    return toolkit.render(
        "chat/index.html",
        channels=channels,
        counts=services.unread_counts(commune, user, channels),
        can_create=services.can_create(commune, user),
        can_moderate=services.can_moderate(commune, user),
    )


def _channel_page(channel: Channel, form: MessageForm, status: int = 200) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    before = services.parse_id(request.args.get("avant"))
    messages = services.history(channel, before=before)
    channels = services.list_channels(commune, user)
    reply_to = None
    if form.reply_to.data:
        reply_to = next((m for m in messages if str(m.id) == str(form.reply_to.data)), None)
    # Where the person stopped reading, shown once above the first message they have not
    # read, before the page moves their marker to the end.
    first_unread = None
    if before is None:
        stopped_at = services.read_to_end(channel, user)
        first_unread = next(
            (
                index
                for index, m in enumerate(messages)
                if m.seq > stopped_at and m.author_id != user.id and not m.gone
            ),
            None,
        )
        services.commit()
    return (
        toolkit.render(
            "chat/channel.html",
            channel=channel,
            messages=messages_html([services.message_view(m) for m in messages], user.id),
            older=messages[0].id if len(messages) == services.PAGE_SIZE else None,
            paged=before is not None,
            first_unread=first_unread,
            channels=channels,
            counts=services.unread_counts(commune, user, channels),
            form=form,
            reply_to=reply_to,
            can_write=services.can_write(commune, user, channel),
            can_moderate=services.can_moderate(commune, user),
            me=user.id,
        ),
        status,
    )


@bp.get("/salon/<int:channel_id>")
@toolkit.requires("chat.view")
def channel(channel_id: int) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_channel(commune, user, channel_id)
    form = MessageForm(reply_to=request.args.get("reponse", ""))
    return _channel_page(found, form)


@bp.post("/salon/<int:channel_id>")
@toolkit.requires("chat.write")
def post(channel_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_channel(commune, user, channel_id)
    form = MessageForm()
    form.validate()
    photo = form.photo.data if form.photo.data and form.photo.data.filename else None
    if photo is not None and "body" in form.errors:
        form.body.errors = []  # a photo may come without a word
    try:
        message = services.post_message(
            commune, user, found, form.body.data, form.reply_to.data or None, photo
        )
    except services.ChatError as error:
        services.rollback()
        _show_errors(form, error)
        return _channel_page(found, form, 400)
    services.commit()
    return redirect(url_for(".channel", channel_id=found.id, _anchor=f"m{message.id}"))


# A message's HTML depends only on its view (``services.message_view``), the commune, the
# reader's language and which of its reactions are the reader's: it is rendered once per
# process for each, and every page and stream that shows the message reuses it (a page of
# 50 messages then costs 50 dictionary lookups, not 50 renderings with their URLs and
# dates). Its forms carry the reader's own CSRF token, put in place of ``CSRF_SLOT``
# afterwards: an HTML comment, which no message text or name can hold once escaped.
CSRF_SLOT = "<!--csrf-->"
FRAGMENTS_KEPT = 4096
_render_lock = threading.Lock()


@functools.lru_cache(maxsize=FRAGMENTS_KEPT)
def _fragment(view: str, commune: str, locale: str, pressed: frozenset[str]) -> str:
    return toolkit.render(
        "chat/_message.html",
        m=json.loads(view),
        pressed=pressed,
        reactions=REACTIONS,
        csrf_slot=CSRF_SLOT,
    )


def messages_html(
    views: list[dict[str, Any]] | list[str], reader: int | None = None, token: str | None = None
) -> list[Markup]:
    """The HTML of messages given their views (or views as JSON), with the reactions of
    ``reader`` shown pressed, and ``token`` (the reader's CSRF token by default) in their
    forms."""
    commune, locale = toolkit.current_commune().insee, str(get_locale())
    token = generate_csrf() if token is None else token
    found = []
    # One thread renders what many want at the same moment (a new message for the 250
    # streams of a worker): the others wait for it, rather than render it again each.
    with _render_lock:
        for view in views:
            if isinstance(view, str):
                key, pressed = view, frozenset()
            else:
                key = json.dumps(view, separators=(",", ":"))
                pressed = frozenset(r["emoji"] for r in view["reactions"] if reader in r["ids"])
            html = _fragment(key, commune, locale, pressed)
            found.append(Markup(html.replace(CSRF_SLOT, token)))
    return found


def render_event(event: live.Event) -> str:
    """A live event as its stream sends it: the same text for every reader of a language,
    made once per process (``chat.js`` puts the page's CSRF token in its forms and marks
    the reader's own reactions)."""
    locale = str(get_locale())
    text = event.texts.get(locale)
    if text is None:
        [html] = messages_html([json.dumps(event.message, separators=(",", ":"))], token="")
        text = event.texts.setdefault(locale, live.sse(event.kind, str(html), event.seq))
    return text


TAB = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _tab(value: object) -> str | None:
    """The name a page gives its stream (``onglet``), so that it can end it when it goes
    out of view; 400 for one that cannot be such a name."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not TAB.match(value):
        toolkit.refuse(_("Le nom du flux doit faire de 8 à 64 lettres, chiffres, - ou _."))
    return value


@bp.get("/salon/<int:channel_id>/flux")
@toolkit.requires("chat.view")
def stream(channel_id: int) -> Response:
    """The channel's live stream (Server-Sent Events, see ``live``). Resumes after the
    ``Last-Event-ID`` the browser sends back, or the ``depuis`` the page was rendered at;
    named ``onglet`` by the page, which ends it with ``away`` when it goes out of view."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_channel(commune, user, channel_id)
    tab = _tab(request.args.get("onglet"))
    raw = request.headers.get("Last-Event-ID") or request.args.get("depuis") or ""
    # An id beyond the channel's last event (none such was ever sent) counts as its last.
    seen = min(int(raw), found.last_seq) if raw.isascii() and raw.isdigit() else found.last_seq
    readable = [c.id for c in services.list_channels(commune, user)]
    # Subscribe before reading the backlog: an event committed in between comes twice at
    # most (and the stream drops the second by its number), never zero times.
    subscription = live.hub().subscribe(readable)
    backlog = [
        live.Event(found.id, seq, kind, services.message_view(m))
        for seq, kind, m in services.events_since(found, seen)
    ]
    user_id = user.id
    toolkit.db.close()  # a stream waits without holding a database connection
    body = live.stream(
        subscription,
        found.id,
        user_id,
        backlog,
        render_event,
        seen,
        backlog_complete=len(backlog) < services.REPLAY_LIMIT,
        tab=tab,
    )
    response = Response(stream_with_context(body), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@bp.post("/salon/<int:channel_id>/flux/absent")
@toolkit.requires("chat.view")
def away(channel_id: int) -> tuple[str, int]:
    """The page went out of view and closed its stream (``{"onglet": ...}``): end it on
    the server at once, so that its reader counts as away (``live.away``)."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_channel(commune, user, channel_id)
    data = request.get_json(silent=True)
    tab = _tab(data.get("onglet") if isinstance(data, dict) else None)
    if tab is None:
        toolkit.refuse(_("Indiquez le flux qui s'arrête (onglet)."))
    live.away(found.id, user.id, tab)
    return "", 204


@bp.get("/message/<int:message_id>/photo")
@toolkit.requires("chat.view")
def photo(message_id: int) -> Response:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    stored = services.photo_of(commune, user, message_id)
    return toolkit.files.response(stored, thumbnail=request.args.get("miniature") == "1")


@bp.route("/nouveau-canal", methods=["GET", "POST"])
@toolkit.requires("chat.create")
def create_channel() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form = ChannelForm()
    _people_choices(form.members, exclude=user.id)
    if form.is_submitted():
        form.validate()
        try:
            data = services.validate_channel(
                commune,
                {
                    name: form[name].data
                    for name in ("kind", "name", "topic", "everyone", "open_to_citizens", "members")
                },
            )
        except services.ChatError as error:
            _show_errors(form, error)
        else:
            if not form.errors:
                created = services.create_channel(commune, user, data)
                services.commit()
                flash(_("Canal « %(name)s » créé.", name=created.name), "success")
                return redirect(url_for(".channel", channel_id=created.id))
        return toolkit.render("chat/new_channel.html", form=form), 400
    return toolkit.render("chat/new_channel.html", form=form)


@bp.route("/nouvelle-conversation", methods=["GET", "POST"])
@toolkit.requires("chat.create")
def create_direct() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form = DirectForm()
    _people_choices(form.members, exclude=user.id)
    if form.is_submitted():
        if form.validate():
            try:
                found = services.start_direct(commune, user, form.members.data)
            except services.ChatError as error:
                _show_errors(form, error)
            else:
                services.commit()
                return redirect(url_for(".channel", channel_id=found.id))
        return toolkit.render("chat/new_direct.html", form=form), 400
    return toolkit.render("chat/new_direct.html", form=form)


def _members_page(channel: Channel, form: BridgeForm | None = None, status: int = 200) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return toolkit.render(
        "chat/members.html",
        channel=channel,
        people=services.channel_members(commune, channel),
        handle=markup.handle,
        can_moderate=services.can_moderate(commune, user),
        link=bridge.link_of(channel),
        form=form or BridgeForm(),
        me=user.id,
    ), status


@bp.get("/salon/<int:channel_id>/membres")
@toolkit.requires("chat.view")
def members(channel_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return _members_page(services.get_channel(commune, user, channel_id))


@bp.post("/salon/<int:channel_id>/pont")
@toolkit.requires("chat.view")
def connect_bridge(channel_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.check_moderator(commune, user)
    found = services.get_channel(commune, user, channel_id)
    form = BridgeForm()
    if form.validate():
        try:
            link = bridge.connect(commune, user, found, form.room.data)
        except services.ChatError as error:
            services.rollback()
            _show_errors(form, error)
        else:
            services.commit()
            flash(_("Le canal est relié au salon %(room)s.", room=link.room_id), "success")
            return redirect(url_for(".members", channel_id=found.id))
    return _members_page(found, form, 400)


@bp.post("/salon/<int:channel_id>/membres/<int:person_id>/retirer")
@toolkit.requires("chat.view")
def remove_member(channel_id: int, person_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.check_moderator(commune, user)
    found = services.get_channel(commune, user, channel_id)
    person = _carry_out(lambda: services.remove_member(commune, user, found, person_id))
    flash(_("%(name)s a été retiré du canal.", name=person.name), "success")
    return redirect(url_for(".members", channel_id=found.id))


@bp.post("/salon/<int:channel_id>/fermer")
@toolkit.requires("chat.view")
def close(channel_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.check_moderator(commune, user)
    found = services.get_channel(commune, user, channel_id)
    _carry_out(lambda: services.close_channel(commune, user, found))
    flash(_("Le canal est fermé : il reste lisible, plus personne n'y écrit."), "success")
    return redirect(url_for(".channel", channel_id=found.id))


# --- One message ------------------------------------------------------------------------------


def _message_page(message: Any, status: int = 200, **forms: toolkit.Form) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    channel_row = toolkit.db.get(Channel, message.channel_id)
    own = message.author_id == user.id and not message.gone
    return (
        toolkit.render(
            "chat/message.html",
            message=message,
            m=services.message_view(message),
            fragment=messages_html([services.message_view(message)], user.id)[0],
            channel=channel_row,
            own=own and services.can_write(commune, user, channel_row),
            can_moderate=services.can_moderate(commune, user),
            edit_form=forms.get("edit_form") or EditForm(body=message.body),
            report_form=forms.get("report_form") or ReportForm(),
            hide_form=forms.get("hide_form") or HideForm(),
        ),
        status,
    )


@bp.get("/message/<int:message_id>")
@toolkit.requires("chat.view")
def message(message_id: int) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return _message_page(services.get_message(commune, user, message_id))


@bp.post("/message/<int:message_id>/modifier")
@toolkit.requires("chat.write")
def edit(message_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_message(commune, user, message_id)
    form = EditForm()
    form.validate()
    try:
        changed = services.edit_message(commune, user, found, form.body.data)
    except services.ChatError as error:
        services.rollback()
        _show_errors(form, error)
        return _message_page(found, 400, edit_form=form)
    services.commit()
    if changed:
        flash(_("Message modifié."), "success")
    return redirect(url_for(".channel", channel_id=found.channel_id, _anchor=f"m{found.id}"))


@bp.post("/message/<int:message_id>/supprimer")
@toolkit.requires("chat.write")
def delete(message_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_message(commune, user, message_id)
    _carry_out(lambda: services.delete_message(commune, user, found))
    flash(_("Message supprimé."), "success")
    return redirect(url_for(".channel", channel_id=found.channel_id))


@bp.post("/message/<int:message_id>/reaction")
@toolkit.requires("chat.view")
def react(message_id: int) -> Any:
    """Add a reaction to a message, or take it back (the form's ``emoji``)."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_message(commune, user, message_id)
    emoji = request.form.get("emoji")
    _carry_out(lambda: services.toggle_reaction(commune, user, found, emoji))
    return redirect(url_for(".channel", channel_id=found.channel_id, _anchor=f"m{found.id}"))


@bp.post("/message/<int:message_id>/signaler")
@toolkit.requires("chat.view")
def report(message_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.get_message(commune, user, message_id)
    form = ReportForm()
    form.validate()
    try:
        services.report_message(commune, user, found, form.reason.data)
    except services.ChatError as error:
        services.rollback()
        _show_errors(form, error)
        return _message_page(found, 400, report_form=form)
    services.commit()
    flash(_("Merci : le message est signalé aux modérateurs de la commune."), "success")
    return redirect(url_for(".channel", channel_id=found.channel_id, _anchor=f"m{found.id}"))


@bp.post("/message/<int:message_id>/masquer")
@toolkit.requires("chat.view")
def hide(message_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.check_moderator(commune, user)
    found = services.moderated_message(commune, user, message_id)
    form = HideForm()
    services.hide_message(commune, user, found, form.reason.data)
    services.commit()
    flash(_("Message masqué."), "success")
    return redirect(url_for(".channel", channel_id=found.channel_id, _anchor=f"m{found.id}"))


# --- Moderation and search --------------------------------------------------------------------


@bp.get("/signalements")
@toolkit.requires("chat.view")
def reports() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.check_moderator(commune, user)
    return toolkit.render(
        "chat/reports.html",
        reports=services.open_reports(commune, user),
        view=services.message_view,
    )


@bp.post("/signalements/<int:report_id>/classer")
@toolkit.requires("chat.view")
def dismiss(report_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    services.check_moderator(commune, user)
    services.dismiss_report(commune, user, report_id)
    services.commit()
    flash(_("Signalement classé sans suite."), "success")
    return redirect(url_for(".reports"))


@bp.get("/recherche")
@toolkit.requires("chat.view")
def search() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    query = request.args.get("q", "")[:200]
    found = services.search(commune, user, query, 50) if query.strip() else []
    return toolkit.render(
        "chat/search.html",
        query=query,
        found=found,
        excerpt=markup.excerpt,
        message_url=message_url,
    )
