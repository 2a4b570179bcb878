"""The appointment pages, on the agenda's blueprint: the list, proposing one, answering it,
and, for its organiser, the answers, the confirmation of a slot or the cancellation."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from core import toolkit
from core.toolkit import gettext as _
from plugins.agenda import appointments, services
from plugins.agenda.views import bp

SLOT_ROWS = 3


@bp.get("/rendez-vous")
@toolkit.requires(appointments.ORGANISE)
def appointment_list() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return toolkit.render(
        "agenda/appointments.html",
        appointments=appointments.mine(commune, user),
        user=user,
    )


@bp.route("/rendez-vous/nouveau", methods=["GET", "POST"])
@toolkit.requires(appointments.ORGANISE)
def appointment_new() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    errors: dict[str, str] = {}
    if request.method == "POST":
        rows = [
            (
                request.form.get(f"slot{n}_date"),
                request.form.get(f"slot{n}_start"),
                request.form.get(f"slot{n}_end"),
            )
            for n in range(1, appointments.MAX_SLOTS + 1)
        ]
        raw = {**request.form, "invitees": request.form.getlist("invitees")}
        try:
            data = appointments.validate(commune, user, raw, rows)
        except services.EventError as error:
            errors = error.errors
        else:
            appointment = appointments.create(commune, user, data)
            toolkit.db.commit()
            flash(_("Proposition envoyée aux invités."), "success")
            return redirect(url_for(".appointment", appointment_id=appointment.id))
    return toolkit.render(
        "agenda/appointment_form.html",
        errors=errors,
        values=request.form,
        chosen=set(request.form.getlist("invitees")),
        people=appointments.invitable(commune, user),
        calendars=services.calendars(commune),
        rows=range(1, max(SLOT_ROWS, _filled_rows()) + 1),
    ), (400 if errors else 200)


def _filled_rows() -> int:
    return max(
        (n for n in range(1, appointments.MAX_SLOTS + 1) if request.form.get(f"slot{n}_date")),
        default=0,
    )


@bp.route("/rendez-vous/<int:appointment_id>", methods=["GET", "POST"])
@toolkit.requires(appointments.ORGANISE)
def appointment(appointment_id: int) -> Any:
    """The appointment; an invitee answers here (POST)."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = appointments.get(commune, user, appointment_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        proposal = (
            request.form.get("proposal_date"),
            request.form.get("proposal_start"),
            request.form.get("proposal_end"),
        )
        try:
            appointments.answer(
                commune,
                user,
                found,
                request.form.getlist("available"),
                proposal,
                request.form.get("comment", ""),
            )
        except services.EventError as error:
            errors = error.errors
        else:
            toolkit.db.commit()
            flash(_("Votre réponse est enregistrée."), "success")
            return redirect(url_for(".appointment", appointment_id=found.id))
    return toolkit.render(
        "agenda/appointment.html",
        appointment=found,
        mine=appointments.invitee_of(found, user),
        organiser=found.organiser_id == user.id,
        who_suits=appointments.who_suits,
        describe=services.describe_slot,
        errors=errors,
        values=request.form,
    ), (400 if errors else 200)


@bp.post("/rendez-vous/<int:appointment_id>/fixer")
@toolkit.requires(appointments.ORGANISE)
def appointment_confirm(appointment_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = appointments.get(commune, user, appointment_id)
    try:
        event = appointments.confirm(commune, user, found, request.values.get("slot"))
    except services.EventError as error:
        toolkit.refuse(error.message, 400)
    toolkit.db.commit()
    flash(_("Rendez-vous fixé et ajouté à l'agenda ; les invités sont prévenus."), "success")
    return redirect(url_for(".show", event_id=event.id))


@bp.post("/rendez-vous/<int:appointment_id>/annuler")
@toolkit.requires(appointments.ORGANISE)
def appointment_cancel(appointment_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = appointments.get(commune, user, appointment_id)
    try:
        appointments.cancel(commune, user, found)
    except services.EventError as error:
        toolkit.refuse(error.message, 400)
    toolkit.db.commit()
    flash(_("Rendez-vous annulé ; les invités sont prévenus."), "success")
    return redirect(url_for(".appointment_list"))
