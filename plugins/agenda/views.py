"""The agenda's HTML pages: the month, what is coming, an event, its forms, the calendars
and their subscription feeds.

Thin on purpose: parse the request, call ``services``, render. The core mounts this
blueprint under ``/c/<INSEE>/agenda/`` and answers 404 where the module is not enabled;
each view declares its access (the feed is public: its secret token is the credential).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import babel.dates
from flask import Blueprint, Response, flash, g, redirect, request, url_for
from flask_babel import format_date, get_locale
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    RadioField,
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
from plugins.agenda import attachments, ics, ics_import, recurrence, reminders, services
from plugins.agenda.models import (
    CATEGORIES,
    MEMBERS,
    PALETTE,
    PALETTE_LABELS,
    REMINDER_CHOICES,
    VISIBILITIES,
    VISIBILITY_LABELS,
    Calendar,
    Event,
)

HERE = Path(__file__).parent
PLANNING_DAYS = 28
# A day of the month shows its first few dates, then a link to the whole day in the week
# view: a cell stays readable, and a busy month does not weigh hundreds of links on a phone.
DATES_PER_DAY = 4
bp = Blueprint(
    "agenda",
    __name__,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
    static_url_path="/static",
)


# --- Forms ------------------------------------------------------------------------------------


class EventForm(toolkit.Form):
    # The services check every rule (and say which field is at fault): the JSON API will go
    # through them too. InputRequired is here so that the page marks the fields as required.
    calendar = SelectField(_l("Agenda"), validate_choice=False)
    title = StringField(
        _l("Titre"),
        [InputRequired(services.TITLE_REQUIRED)],
        description=_l("Par exemple « Conseil municipal » ou « Commission des travaux »."),
        render_kw={"maxlength": services.TITLE_MAX},
    )
    all_day = BooleanField(_l("Toute la journée"))
    start_date = StringField(
        _l("Date de début"),
        [InputRequired(services.START_DATE_REQUIRED)],
        description=_l("Au format jj/mm/aaaa."),
        render_kw={"type": "date"},
    )
    start_time = StringField(
        _l("Heure de début"),
        description=_l("Heure de Paris, au format hh:mm ; vide pour un événement d'une journée."),
        render_kw={"type": "time"},
    )
    end_date = StringField(
        _l("Date de fin"),
        description=_l("Vide : le même jour."),
        render_kw={"type": "date"},
    )
    end_time = StringField(
        _l("Heure de fin"),
        description=_l("Vide : une heure après le début."),
        render_kw={"type": "time"},
    )
    place = StringField(_l("Lieu"), render_kw={"maxlength": services.PLACE_MAX})
    description = TextAreaField(_l("Description"), render_kw={"rows": 5})
    category = SelectField(
        _l("Catégorie"),
        choices=[SelectChoice(k, v) for k, v in CATEGORIES.items()],
        validate_choice=False,
    )
    visibility = SelectField(
        _l("Qui peut voir l'événement"),
        choices=[SelectChoice(v, VISIBILITY_LABELS[v]) for v in VISIBILITIES],
        validate_choice=False,
    )
    repeat = SelectField(
        _l("Répétition"),
        choices=[SelectChoice(k, v) for k, v in recurrence.FREQUENCY_LABELS.items()],
        validate_choice=False,
    )
    interval = StringField(
        _l("Intervalle"),
        description=_l("1 : chaque fois ; 2 : une fois sur deux (toutes les deux semaines...)."),
        default="1",
        render_kw={
            "type": "number",
            "min": 1,
            "max": recurrence.MAX_INTERVAL,
            "inputmode": "numeric",
        },
    )
    weekdays = SelectMultipleField(
        _l("Jours de la semaine (répétition hebdomadaire)"),
        choices=[SelectChoice(k, v) for k, v in recurrence.WEEKDAY_LABELS.items()],
        validate_choice=False,
    )
    monthly_by = SelectField(
        _l("Chaque mois (répétition mensuelle)"),
        choices=[
            SelectChoice("date", _l("à la même date (le 6 de chaque mois...)")),
            SelectChoice("weekday", _l("le même jour de la semaine (le premier mardi...)")),
        ],
        validate_choice=False,
    )
    ends = SelectField(
        _l("Fin de la répétition"),
        choices=[
            SelectChoice("never", _l("Jamais")),
            SelectChoice("count", _l("Après un nombre de fois")),
            SelectChoice("until", _l("À une date")),
        ],
        validate_choice=False,
    )
    count = StringField(
        _l("Nombre de fois"),
        render_kw={"type": "number", "min": 1, "max": recurrence.MAX_COUNT, "inputmode": "numeric"},
    )
    until = StringField(_l("Date de la dernière fois"), render_kw={"type": "date"})
    attendees = SelectMultipleField(_l("Élus et agents attendus"), validate_choice=False)
    guests = TextAreaField(
        _l("Invités extérieurs"),
        description=_l(
            "Leurs adresses e-mail, une par ligne : chacun reçoit l'invitation par courriel."
        ),
        render_kw={"rows": 3, "autocomplete": "off"},
    )
    # Shown when one date of a series is edited: what the change applies to.
    scope = RadioField(
        _l("Appliquer la modification à"),
        choices=[
            SelectChoice("occurrence", _l("cette date seulement")),
            SelectChoice("following", _l("cette date et les suivantes")),
            SelectChoice("all", _l("toutes les dates de la série")),
        ],
        default="occurrence",
        validate_choice=False,
    )


class ImportForm(toolkit.Form):
    file = FileField(
        _l("Fichier iCalendar (.ics)"),
        [FileRequired(_l("Choisissez un fichier .ics."))],
        description=_l(
            "Exporté d'un autre agenda (Thunderbird, Nextcloud, Google, Outlook...). Un "
            "événement déjà importé est mis à jour, jamais ajouté deux fois."
        ),
        render_kw={"accept": ".ics,text/calendar"},
    )


class AttachmentForm(toolkit.Form):
    file = FileField(
        _l("Document ou photo"),
        [FileRequired(_l("Choisissez un fichier."))],
        description=_l(
            "PDF, document bureautique (OpenDocument, Word, Excel), texte ou photo (JPEG, "
            "PNG, WebP), 10 Mo au plus. Les photos perdent leurs métadonnées (position GPS)."
        ),
        render_kw={"accept": ".pdf,.odt,.ods,.odp,.docx,.xlsx,.pptx,.txt,.csv,image/*"},
    )


class CalendarForm(toolkit.Form):
    name = StringField(_l("Nom de l'agenda"), [InputRequired(_l("Donnez un nom à l'agenda."))])
    colour = SelectField(
        _l("Couleur"),
        choices=[SelectChoice(k, PALETTE_LABELS[k]) for k in PALETTE],
        validate_choice=False,
    )


class NewCalendarForm(CalendarForm):
    visibility = SelectField(
        _l("Qui voit ses événements, par défaut"),
        choices=[SelectChoice(v, VISIBILITY_LABELS[v]) for v in VISIBILITIES],
        default=MEMBERS,
        validate_choice=False,
    )


FIELDS = (
    "calendar",
    "title",
    "all_day",
    "start_date",
    "start_time",
    "end_date",
    "end_time",
    "place",
    "description",
    "category",
    "visibility",
    "repeat",
    "interval",
    "weekdays",
    "monthly_by",
    "ends",
    "count",
    "until",
    "attendees",
    "guests",
)


def _raw(form: EventForm) -> dict[str, Any]:
    return {name: form[name].data for name in FIELDS}


def _calendar_choices(
    form: EventForm, commune: toolkit.Commune, user: toolkit.User | None
) -> list[Calendar]:
    """The form's lists: the calendars one writes (returned; none is a 403), the members
    one may expect."""
    own = [
        c for c in services.offered_calendars(commune, user) if services.writes(commune, user, c)
    ]
    if not own:
        toolkit.refuse(_("Vous ne pouvez ajouter d'événement à aucun agenda de la commune."), 403)
    form.calendar.choices = [SelectChoice(str(c.id), c.name) for c in own]
    form.attendees.choices = [SelectChoice(str(p.id), p.name) for p in services.may_attend(commune)]
    return own


def _show_errors(form: toolkit.Form, error: services.EventError) -> None:
    for name, message in error.errors.items():
        if name in form:
            if message not in form[name].errors:
                form[name].errors = [*form[name].errors, message]
        else:
            flash(message, "error")


def _prefill(form: EventForm, event: Event, occurrence: services.Occurrence | None = None) -> None:
    """The form filled with the event (with one date's times, when opened from it)."""
    start, end = services.local_start(event), services.local_end(event)
    if occurrence is not None:
        start, end = occurrence.start, occurrence.end
    form.calendar.data = str(event.calendar_id)
    form.title.data = event.title
    form.all_day.data = event.all_day
    form.start_date.data = start.date().isoformat()
    form.place.data = event.place
    form.description.data = event.description
    form.category.data = event.category
    form.visibility.data = event.visibility
    form.attendees.data = [str(a.user_id) for a in event.attendees]
    form.guests.data = "\n".join(event.guests or ())
    if event.all_day:
        form.end_date.data = (end.date() - dt.timedelta(days=1)).isoformat()
    else:
        form.start_time.data = start.strftime("%H:%M")
        form.end_date.data = end.date().isoformat()
        form.end_time.data = end.strftime("%H:%M")
    controls = recurrence.controls_of(event.rrule, services.local_start(event))
    form.repeat.data = controls.repeat
    form.interval.data = str(controls.interval)
    form.weekdays.data = controls.weekdays
    form.monthly_by.data = controls.monthly_by
    form.ends.data = controls.ends
    form.count.data = str(controls.count) if controls.count else ""
    form.until.data = controls.until.isoformat() if controls.until else ""


def _event_form_page(
    form: EventForm,
    event: Event | None,
    status: int,
    occurrence: services.Occurrence | None = None,
) -> tuple[str, int]:
    return toolkit.render("agenda/form.html", form=form, event=event, occurrence=occurrence), status


def _submitted(form: EventForm, fixed: dict[str, Any] | None = None) -> services.EventInput | None:
    """Validate a posted event form: the field checks, then the services' rules.
    ``fixed`` replaces fields the page did not offer."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form.validate()
    try:
        data = services.validate(commune, user, {**_raw(form), **(fixed or {})})
    except services.EventError as error:
        _show_errors(form, error)
        return None
    return None if form.errors else data


# --- Display helpers (also used by the widget and the search results) -------------------------


@bp.app_template_filter("agenda_href")
def occurrence_href(occurrence: services.Occurrence, commune: toolkit.Commune | None = None) -> str:
    """The address of an occurrence's page (in ``commune``, by default the page's), from one
    ``url_for`` per commune and request: a month shows hundreds of dates, and building each
    address through the routing map was most of its time."""
    bases = g.setdefault("agenda_event_bases", {})
    insee = commune.insee if commune is not None else None
    base = bases.get(insee)
    if base is None:
        values = {"insee": insee} if insee else {}
        base = bases[insee] = url_for("agenda.show", event_id=0, **values).removesuffix("0")
    href = f"{base}{occurrence.event.id}"
    return f"{href}?date={occurrence.key}" if occurrence.event.rrule else href


@bp.app_template_global("agenda_chip")
def calendar_chip(calendar: Calendar) -> Markup:
    """The calendar's colour and name: the colour is never the only clue."""
    return Markup(
        f'<span class="agenda-chip agenda-colour--{escape(calendar.colour)}">'
        f"{escape(calendar.name)}</span>"
    )


@bp.app_template_global()
def occurrence_line(
    occurrence: services.Occurrence,
    day: dt.date | None = None,
    commune: toolkit.Commune | None = None,
) -> Markup:
    """One occurrence in a list of days: its time (« Toute la journée », or « suite » on the
    days after its first), its title and place, its calendar, and its commune if given.
    Written here rather than as a macro, with f-strings and ``escape`` rather than
    ``Markup.format``: a month lists hundreds of them."""
    event, start = occurrence.event, occurrence.start
    if event.all_day:
        when = escape(_("Toute la journée"))
    elif day is not None and start.date() != day:
        when = escape(_("suite"))
    else:
        when = f'<time datetime="{start.isoformat()}">{escape(format_time(start))}</time>'
    parts = [
        f'<span class="agenda-when">{when}</span> ',
        f'<a href="{escape(occurrence_href(occurrence, commune))}">{escape(event.title)}</a>',
    ]
    if event.place:
        parts.append(f' <span class="muted">· {escape(event.place)}</span>')
    parts.append(f" {calendar_chip(event.calendar)}")
    if commune is not None:
        parts.append(f' <span class="status">{escape(commune.name)}</span>')
    return Markup("".join(parts))


@bp.app_template_filter("agenda_time")
def format_time(moment: dt.datetime) -> str:
    """18:00 in French, 6:00 PM in English: the wall-clock time of the event's own zone."""
    return _short_time(moment.hour, moment.minute, str(get_locale()))


@functools.lru_cache(maxsize=4096)
def _short_time(hour: int, minute: int, locale: str) -> str:
    # A month shows hundreds of times, and Babel formats each one from its pattern.
    return babel.dates.format_time(dt.time(hour, minute), "short", locale=locale)


@bp.app_template_filter("agenda_day")
def format_day(day: dt.date, style: str = "full") -> str:
    """« mardi 27 octobre 2026 »."""
    return format_date(day, style)


@bp.app_template_filter("agenda_when")
def describe_when(occurrence: services.Occurrence) -> str:
    """« mardi 27 octobre 2026, 18:00 – 19:30 », or a range of days."""
    start, end = occurrence.start, occurrence.end
    if occurrence.all_day:
        last = occurrence.last_day
        if last == start.date():
            return _("%(day)s, toute la journée", day=format_day(start.date()))
        return _("du %(first)s au %(last)s", first=format_day(start.date()), last=format_day(last))
    if end.date() == start.date():
        return _(
            "%(day)s, %(start)s – %(end)s",
            day=format_day(start.date()),
            start=format_time(start),
            end=format_time(end),
        )
    return _(
        "du %(first)s, %(start)s, au %(last)s, %(end)s",
        first=format_day(start.date()),
        start=format_time(start),
        last=format_day(end.date()),
        end=format_time(end),
    )


def _weekday_names() -> list[tuple[str, str]]:
    locale = get_locale()
    wide = babel.dates.get_day_names("wide", locale=locale)
    short = babel.dates.get_day_names("abbreviated", locale=locale)
    return [(short[i], wide[i]) for i in range(7)]


def month_title(first: dt.date) -> str:
    text = format_date(first, "LLLL y")
    return text[:1].upper() + text[1:]


# --- Pages ------------------------------------------------------------------------------------


@bp.get("/")
@toolkit.requires("agenda.view")
def month() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    first = services.parse_month(request.args.get("mois"))
    own = services.offered_calendars(commune, user)
    chosen = request.args.get("agenda", type=int)
    chosen = chosen if chosen in {c.id for c in own} else None
    view = services.month_view(commune, user, first, chosen)
    return toolkit.render(
        "agenda/month.html",
        view=view,
        title=month_title(first),
        weekdays=_weekday_names(),
        calendars=own,
        chosen=chosen,
        can_write=services.can_write(commune, user),
        today=services.today(),
        per_day=DATES_PER_DAY,
    )


@bp.get("/semaine")
@toolkit.requires("agenda.view")
def week() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    monday = services.parse_week(request.args.get("semaine"))
    own = services.offered_calendars(commune, user)
    chosen = request.args.get("agenda", type=int)
    chosen = chosen if chosen in {c.id for c in own} else None
    view = services.week_view(commune, user, monday, chosen)
    return toolkit.render(
        "agenda/week.html",
        view=view,
        title=week_title(monday),
        calendars=own,
        chosen=chosen,
        can_write=services.can_write(commune, user),
    )


def week_title(monday: dt.date) -> str:
    sunday = monday + dt.timedelta(days=6)
    return _(
        "Semaine du %(first)s au %(last)s",
        first=format_date(monday, "d MMMM" if monday.year == sunday.year else "d MMMM y"),
        last=format_date(sunday, "d MMMM y"),
    )


@bp.get("/mon-planning")
@toolkit.requires("agenda.view")
def planning() -> str:
    """What the person has in the coming weeks, in every commune of theirs with an agenda."""
    return _planning_page()


@bp.post("/mon-planning/abonnement")
@toolkit.requires("agenda.view")
def regenerate_planning_feed() -> str:
    token = services.regenerate_planning_token(toolkit.current_user())
    toolkit.db.commit()
    # Shown on this very answer, never put in the session: it is the feed's only key.
    return _planning_page(new_feed=url_for(".planning_feed", token=token, _external=True))


def _planning_page(new_feed: str | None = None) -> str:
    user = toolkit.current_user()
    start = services.parse_date(request.args.get("du") or "") or services.today()
    after = services.midnight(start)
    found = services.planning(user, after, after + dt.timedelta(days=PLANNING_DAYS))
    days: dict[dt.date, list[tuple[toolkit.Commune, services.Occurrence]]] = {}
    for commune, occurrence in found:
        days.setdefault(occurrence.start.date(), []).append((commune, occurrence))
    return toolkit.render(
        "agenda/planning.html",
        days=list(days.items()),
        start=start,
        weeks=PLANNING_DAYS // 7,
        several=len({c.id for c, _o in found}) > 1 or len(user.memberships) > 1,
        following=start + dt.timedelta(days=PLANNING_DAYS),
        reminder=reminders.preference(user),
        reminder_choices=REMINDER_CHOICES,
        feed_created=services.planning_feed_created(user),
        new_feed=new_feed,
    )


@bp.post("/mon-planning/rappels")
@toolkit.requires("agenda.view")
def set_reminders() -> Any:
    try:
        minutes = reminders.set_preference(toolkit.current_user(), request.form.get("minutes"))
    except services.EventError as error:
        toolkit.refuse(error.message, 400)
    toolkit.db.commit()
    flash(_("Rappels : %(choice)s.", choice=str(REMINDER_CHOICES[minutes]).lower()), "success")
    return redirect(url_for(".planning"))


@bp.get("/a-venir")
@toolkit.requires("agenda.view")
def upcoming() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = services.upcoming(commune, user)
    return toolkit.render(
        "agenda/upcoming.html",
        days=services.by_day(found),
        limit=services.UPCOMING_LIMIT,
        truncated=len(found) >= services.UPCOMING_LIMIT,
        can_write=services.can_write(commune, user),
    )


@bp.get("/evenement/<int:event_id>")
@toolkit.requires("agenda.view")
def show(event_id: int) -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return _show_page(services.get_event(commune, user, event_id))


def _show_page(event: Event, attachment_form: AttachmentForm | None = None) -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    occurrence = services.find_occurrence(event, request.args.get("date"))
    start = services.local_start(event)
    return toolkit.render(
        "agenda/show.html",
        event=event,
        documents=attachments.holder(event).attachments,
        attachment_form=attachment_form or AttachmentForm(formdata=None),
        series=event.parent,
        occurrence=occurrence,
        first=services.first_occurrence(event),
        following=services.next_occurrence(event) if event.rrule else None,
        repeats=recurrence.describe(event.rrule, start),
        removed=len(event.exdates or ()),
        can_write=services.writes(commune, user, event.calendar),
    )


@bp.post("/evenement/<int:event_id>/documents")
@toolkit.requires("agenda.view")  # and the right to write its calendar (attachments)
def attach(event_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    event = services.get_event(commune, user, event_id)
    form = AttachmentForm()
    if form.validate():
        try:
            added = attachments.add(commune, user, event, form.file.data)
        except services.EventError as error:
            _show_errors(form, error)
        else:
            toolkit.db.commit()
            flash(
                _("« %(name)s » est joint à l'événement.", name=added.stored.original_name),
                "success",
            )
            return redirect(url_for(".show", event_id=event.id, date=request.args.get("date")))
    return _show_page(event, attachment_form=form), 400


@bp.get("/evenement/<int:event_id>/documents/<int:attachment_id>")
@toolkit.requires("agenda.view")
def attachment(event_id: int, attachment_id: int) -> Response:
    event = services.get_event(toolkit.current_commune(), toolkit.current_user(), event_id)
    found = attachments.get(event, attachment_id)
    return toolkit.files.response(found.stored, thumbnail=request.args.get("miniature") == "1")


@bp.post("/evenement/<int:event_id>/documents/<int:attachment_id>/retirer")
@toolkit.requires("agenda.view")  # and the right to write its calendar (attachments)
def detach(event_id: int, attachment_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    event = services.get_event(commune, user, event_id)
    found = attachments.get(event, attachment_id)
    name = found.stored.original_name
    attachments.remove(commune, user, event, found)
    toolkit.db.commit()
    flash(_("« %(name)s » est retiré de l'événement.", name=name), "success")
    return redirect(url_for(".show", event_id=event.id, date=request.args.get("date")))


@bp.get("/evenement/<int:event_id>.ics")
@toolkit.requires("agenda.view")
def event_ics(event_id: int) -> Response:
    event = services.get_event(toolkit.current_commune(), toolkit.current_user(), event_id)
    body = ics.event_ics(event, services.event_url(event, external=True))
    return _calendar_response(body, f"evenement-{event.id}.ics", attachment=True)


@bp.route("/nouvel-evenement", methods=["GET", "POST"])
@toolkit.requires("agenda.view")  # and a calendar one writes (_calendar_choices)
def create() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form = EventForm()
    own = _calendar_choices(form, commune, user)
    if form.is_submitted():
        data = _submitted(form)
        if data is not None:
            event = services.create_event(commune, user, data)
            toolkit.db.commit()
            flash(_("Événement « %(title)s » ajouté à l'agenda.", title=event.title), "success")
            return redirect(url_for(".show", event_id=event.id))
        return _event_form_page(form, None, 400)
    chosen = next(
        (c for c in own if str(c.id) == request.args.get("agenda")), own[0] if own else None
    )
    if chosen is not None:
        form.calendar.data = str(chosen.id)
        form.visibility.data = chosen.default_visibility
    day = services.parse_date(request.args.get("date") or "")
    form.start_date.data = (day or services.today()).isoformat()
    return _event_form_page(form, None, 200)


@bp.route("/evenement/<int:event_id>/modifier", methods=["GET", "POST"])
@toolkit.requires("agenda.view")  # and the right to write its calendar (services)
def edit(event_id: int) -> Any:
    """Edit an event. Opened from one date of a series (``?date=``), it asks whether the
    change is for that date, for it and the following ones, or for the whole series."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    event = services.get_event(commune, user, event_id)
    key = request.values.get("date", "")
    occurrence = services.find_occurrence(event, key) if event.rrule else None
    if key and event.rrule and occurrence is None:
        toolkit.refuse(_("Cette date n'est pas une occurrence de l'événement."), 404)
    services.check_write(commune, user, event)
    form = EventForm()
    _calendar_choices(form, commune, user)
    if form.is_submitted():
        fixed = _series_fields(event.parent) if event.parent else {}
        data = _submitted(form, fixed)
        if data is None:
            return _event_form_page(form, event, 400, occurrence)
        try:
            shown = services.change(
                commune,
                user,
                event,
                data,
                form.scope.data if occurrence else "all",
                occurrence.key if occurrence else None,
            )
        except services.EventError as error:
            _show_errors(form, error)
            return _event_form_page(form, event, 400, occurrence)
        if shown is None:
            flash(_("Rien n'a changé."), "info")
            shown = event
        else:
            toolkit.db.commit()
            flash(_("Événement modifié."), "success")
        return redirect(services.event_url(shown, occurrence if shown is event else None))
    _prefill(form, event, occurrence)
    return _event_form_page(form, event, 200, occurrence)


def _series_fields(series: Event) -> dict[str, Any]:
    """The fields an occurrence changed on its own takes from its series (not in its form)."""
    return {"calendar": str(series.calendar_id), "visibility": series.visibility}


@bp.route("/evenement/<int:event_id>/supprimer", methods=["GET", "POST"])
@toolkit.requires("agenda.view")  # and the right to write its calendar (services)
def delete(event_id: int) -> Any:
    # The CSRF token of the form is checked by the core for every POST.
    commune, user = toolkit.current_commune(), toolkit.current_user()
    event = services.get_event(commune, user, event_id)
    services.check_write(commune, user, event)
    key = request.values.get("date", "")
    occurrence = services.find_occurrence(event, key) if event.rrule else None
    if request.method == "GET":
        return toolkit.render("agenda/delete.html", event=event, occurrence=occurrence)
    scope = request.form.get("scope", "all")
    title, series = event.title, event.parent
    try:
        removed = services.remove(commune, user, event, scope, key or None)
    except services.EventError as error:
        toolkit.refuse(error.message, 400)
    toolkit.db.commit()
    if removed is None:
        flash(_("Événement « %(title)s » supprimé.", title=title), "success")
        shown = series
    else:
        if scope == "occurrence":
            message = _(
                "L'occurrence du %(when)s est supprimée ; les autres restent.",
                when=describe_when(removed),
            )
        else:
            message = _(
                "Les dates à partir du %(when)s sont supprimées ; les précédentes restent.",
                when=describe_when(removed),
            )
        flash(message, "success")
        shown = toolkit.db.get(Event, event.id)
    if shown is None:
        return redirect(url_for(".month"))
    return redirect(url_for(".show", event_id=shown.id))


# --- Calendars and their feeds ----------------------------------------------------------------


def _calendars_page(
    forms: dict[int, CalendarForm] | None = None,
    new_feed: tuple[Calendar, str] | None = None,
    status: int = 200,
    imports: dict[int, ImportForm] | None = None,
    new_calendar: NewCalendarForm | None = None,
) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    own = services.offered_calendars(commune, user)
    forms, imports = forms or {}, imports or {}
    for calendar in own:
        forms.setdefault(
            calendar.id,
            CalendarForm(prefix=f"c{calendar.id}", name=calendar.name, colour=calendar.colour),
        )
        imports.setdefault(calendar.id, ImportForm(prefix=f"i{calendar.id}", formdata=None))
    return (
        toolkit.render(
            "agenda/calendars.html",
            calendars=own,
            forms=forms,
            imports=imports,
            new_feed=new_feed,
            writable={c.id for c in own if services.writes(commune, user, c)},
            can_add=services.writes_shared(commune, user),
            sees_feeds=services.sees_members_events(commune, user),
            sync_link=_sync_link(commune, user),
            new_calendar=new_calendar or NewCalendarForm(prefix="nouveau", formdata=None),
            removable={c.id for c in own if services.removable(c)},
        ),
        status,
    )


def _sync_link(commune: toolkit.Commune, user: toolkit.User | None) -> tuple[str, str] | None:
    """The page of the calendar_sync provider (CalDAV), for those who may use it."""
    if not toolkit.is_commune_admin(user, commune):
        return None
    try:
        return toolkit.capability(commune, "calendar_sync").manage_link()
    except toolkit.CapabilityUnavailable:
        return None


@bp.get("/agendas")
@toolkit.requires("agenda.view")
def calendars() -> tuple[str, int]:
    return _calendars_page()


@bp.post("/agendas/nouveau")
@toolkit.requires("agenda.write")
def add_calendar() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form = NewCalendarForm(prefix="nouveau")
    if form.validate():
        try:
            added = services.add_calendar(
                commune, user, form.name.data, form.colour.data, form.visibility.data
            )
        except services.EventError as error:
            _show_errors(form, error)
        else:
            toolkit.db.commit()
            flash(_("Agenda « %(name)s » ajouté.", name=added.name), "success")
            return redirect(url_for(".calendars"))
    return _calendars_page(new_calendar=form, status=400)


@bp.post("/agendas/<int:calendar_id>/retirer")
@toolkit.requires("agenda.write")
def remove_calendar(calendar_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    calendar = services.get_calendar(commune, user, calendar_id)
    name = calendar.name
    try:
        services.remove_calendar(commune, user, calendar)
    except services.EventError as error:
        flash(error.message, "error")
        return _calendars_page(status=400)
    toolkit.db.commit()
    flash(_("Agenda « %(name)s » retiré.", name=name), "success")
    return redirect(url_for(".calendars"))


@bp.post("/agendas/<int:calendar_id>")
@toolkit.requires("agenda.view")  # and the right to write it (services)
def update_calendar(calendar_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    calendar = services.get_calendar(commune, user, calendar_id)
    form = CalendarForm(prefix=f"c{calendar.id}")
    if form.validate():
        try:
            changed = services.update_calendar(
                commune, user, calendar, form.name.data, form.colour.data
            )
        except services.EventError as error:
            _show_errors(form, error)
        else:
            if changed:
                toolkit.db.commit()
                flash(_("Agenda « %(name)s » enregistré.", name=calendar.name), "success")
            return redirect(url_for(".calendars"))
    return _calendars_page({calendar.id: form}, status=400)


@bp.post("/agendas/<int:calendar_id>/abonnement")
@toolkit.requires("agenda.view")  # and the right to write it (services)
def regenerate_feed(calendar_id: int) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    calendar = services.get_calendar(commune, user, calendar_id)
    token = services.regenerate_feed_token(commune, user, calendar)
    toolkit.db.commit()
    # Shown on this very answer, never put in the session: it is the feed's only key.
    address = url_for(".feed", token=token, _external=True)
    return _calendars_page(new_feed=(calendar, address))


@bp.post("/agendas/<int:calendar_id>/import")
@toolkit.requires("agenda.view")  # and the right to write it (services)
def import_ics(calendar_id: int) -> Any:
    """Import a .ics file into a calendar: all of it, or nothing and the reason."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    calendar = services.get_calendar(commune, user, calendar_id)
    services.check_calendar(commune, user, calendar)
    form = ImportForm(prefix=f"i{calendar.id}")
    if form.validate():
        upload = form.file.data
        try:
            incoming = ics_import.read(upload.stream.read(ics_import.MAX_BYTES + 1))
        except ics_import.IcsError as error:
            form.file.errors.append(_("Rien n'a été importé. %(reason)s", reason=error.message))
        else:
            result = services.import_events(commune, user, calendar, incoming, upload.filename)
            toolkit.db.commit()
            flash(_import_summary(calendar, result), "success")
            return redirect(url_for(".calendars"))
    return _calendars_page(imports={calendar.id: form}, status=400)


def _import_summary(calendar: Calendar, result: services.ImportResult) -> str:
    summary = _(
        "Import dans « %(name)s » : %(created)d ajouté(s), %(updated)d mis à jour, "
        "%(unchanged)d inchangé(s).",
        name=calendar.name,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    if result.elsewhere:
        summary += " " + _(
            "Déjà dans un autre agenda de la commune, laissés tels quels : %(titles)s.",
            titles=", ".join(result.elsewhere[:5]),
        )
    return summary


@bp.get("/abonnement/<token>.ics")
@toolkit.public
def feed(token: str) -> Response:
    commune = toolkit.current_commune()
    calendar = services.calendar_of_feed(commune, token)
    if calendar is None:
        toolkit.refuse(
            _(
                "Cette adresse d'abonnement n'est plus valable : elle a été remplacée ou "
                "n'a jamais existé. Demandez la nouvelle adresse à la mairie."
            ),
            404,
        )
    base = url_for(".show", event_id=0, _external=True).removesuffix("0")
    return _feed_response(
        services.feed_version(calendar, commune),
        lambda version: _written_feed(calendar.id, version, base),
        f"agenda-{calendar.kind}.ics",
    )


@bp.get("/mon-planning/<token>.ics")
@toolkit.public
def planning_feed(token: str) -> Response:
    """A person's planning, for their phone: the address works whichever of their communes
    it was made in, as long as they keep it secret and do not replace it."""
    user = services.planning_feed_owner(token)
    if user is None:
        toolkit.refuse(
            _(
                "Cette adresse d'abonnement n'est plus valable : elle a été remplacée ou "
                "n'a jamais existé. Créez-en une nouvelle dans « Mon planning »."
            ),
            404,
        )
    return _feed_response(
        services.planning_feed_version(user),
        lambda version: _written_planning(user.id, version),
        "mon-planning.ics",
    )


def _feed_response(version: str, write: Callable[[str], bytes], filename: str) -> Response:
    """A feed, or a 304 to a client that has this version. Phones poll their feeds, and a
    long one takes seconds to write: the version changes with every event it holds (and
    each day, as its window moves), and each worker writes a version once."""
    if version in request.if_none_match:
        response = Response(status=304)
    else:
        response = _calendar_response(write(version), filename, attachment=False)
    response.set_etag(version)
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@functools.lru_cache(maxsize=32)
def _written_feed(calendar_id: int, version: str, base: str) -> bytes:
    """A calendar's feed, written once per worker and version (``feed`` checked the token;
    the version covers the calendar's events and names)."""
    calendar = toolkit.db.get(Calendar, calendar_id)
    return ics.feed_ics(
        f"{calendar.name} — {toolkit.current_commune().name}",
        services.feed_events(calendar),
        lambda event: f"{base}{event.id}",
    )


@functools.lru_cache(maxsize=32)
def _written_planning(user_id: int, version: str) -> bytes:
    """A person's planning feed, written once per worker and version. Each event links to
    its page in its own commune."""
    user = toolkit.db.get(toolkit.User, user_id)
    found = services.planning_feed_events(user)
    bases = {
        commune.id: url_for(".show", insee=commune.insee, event_id=0, _external=True)[:-1]
        for commune in {c for c, _event in found}
    }
    commune_of = {event.id: commune for commune, event in found}
    return ics.feed_ics(
        _("Planning de %(name)s", name=user.name),
        [event for _commune, event in found],
        lambda event: f"{bases[commune_of[event.id].id]}{event.id}",
    )


def _calendar_response(body: bytes, filename: str, attachment: bool) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = ics.MEDIA_TYPE
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response
