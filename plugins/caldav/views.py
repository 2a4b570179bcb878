"""The CalDAV page of a commune: connect a calendar to a remote one, test the connection,
synchronise now, disconnect. For commune admins only; the password is never shown back.

Thin on purpose: parse the form, call ``services``, render. The core mounts this blueprint
under ``/c/<INSEE>/caldav/`` and answers 404 where the module is not enabled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, flash, redirect, url_for
from wtforms import PasswordField, SelectField, StringField, SubmitField, URLField
from wtforms.validators import URL, InputRequired, Length

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.agenda import services as agenda
from plugins.caldav import services

HERE = Path(__file__).parent
bp = Blueprint("caldav", __name__, template_folder=str(HERE / "templates"))


class ConnectionForm(toolkit.Form):
    calendar = SelectField(_l("Agenda de la commune"), coerce=int)
    url = URLField(
        _l("Adresse de l'agenda CalDAV"),
        [
            InputRequired(_l("Indiquez l'adresse de l'agenda.")),
            URL(require_tld=False, message=_l("Indiquez une adresse commençant par https://.")),
            Length(max=500),
        ],
        description=_l(
            "L'adresse de l'agenda lui-même, par exemple "
            "https://exemple.fr/remote.php/dav/calendars/mairie/conseil/"
        ),
    )
    username = StringField(
        _l("Nom d’utilisateur"),
        [InputRequired(_l("Indiquez l'identifiant du compte.")), Length(max=200)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Mot de passe"),
        [Length(max=500)],
        description=_l(
            "Enregistré chiffré et jamais réaffiché. Laissez vide pour garder celui enregistré."
        ),
        render_kw={"autocomplete": "current-password"},
    )
    test = SubmitField(_l("Tester la connexion"))
    save = SubmitField(_l("Enregistrer"))


def _page(form: ConnectionForm | None = None, status: int = 200, tested: str | None = None):
    commune = toolkit.current_commune()
    calendars = agenda.calendars(commune)
    form = form or ConnectionForm()
    form.calendar.choices = [(c.id, c.name) for c in calendars]
    return (
        toolkit.render(
            "caldav/connections.html",
            form=form,
            connections=services.connections(commune),
            tested=tested,
        ),
        status,
    )


@bp.get("/")
@toolkit.commune_admin_required
def connections() -> Any:
    return _page()


@bp.post("/")
@toolkit.commune_admin_required
def save() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form = ConnectionForm()
    form.calendar.choices = [(c.id, c.name) for c in agenda.calendars(commune)]
    if not form.validate():
        return _page(form, 400)
    calendar = agenda.get_calendar(commune, None, form.calendar.data)  # a shared one
    url, username = form.url.data.strip(), form.username.data.strip()
    try:
        if form.test.data:
            password = form.password.data
            if not password:
                existing = services.connection_of(calendar)
                password = toolkit.decrypt_secret(existing.password) if existing else ""
            name = services.test(commune, url, username, password or "")
            return _page(
                form, tested=_("Connexion réussie : agenda « %(name)s » trouvé.", name=name)
            )
        connection = services.connect(commune, user, calendar, url, username, form.password.data)
    except services.ConnectError as error:
        toolkit.db.rollback()
        getattr(form, error.field).errors.append(error.message)
        return _page(form, 400)
    toolkit.db.commit()
    result = services.sync_now(commune, connection)
    if result is None:
        flash(_("Agenda connecté, mais la première synchronisation a échoué."), "error")
    else:
        flash(
            _(
                "Agenda « %(name)s » connecté : %(count)d événement(s) reçu(s) ; les siens "
                "partent vers le serveur.",
                name=calendar.name,
                count=result.changed,
            ),
            "success",
        )
    return redirect(url_for(".connections"))


@bp.post("/<int:connection_id>/synchroniser")
@toolkit.commune_admin_required
def sync(connection_id: int) -> Any:
    commune = toolkit.current_commune()
    connection = services.get_connection(commune, connection_id)
    result = services.sync_now(commune, connection)
    if result is None:
        connection = services.get_connection(commune, connection_id)
        flash(_("La synchronisation a échoué : %(reason)s", reason=connection.last_error), "error")
    else:
        flash(
            _(
                "Synchronisé : %(changed)d événement(s) reçu(s), %(removed)d supprimé(s).",
                changed=result.changed,
                removed=result.removed,
            ),
            "success",
        )
    return redirect(url_for(".connections"))


@bp.post("/<int:connection_id>/deconnecter")
@toolkit.commune_admin_required
def disconnect(connection_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    connection = services.get_connection(commune, connection_id)
    name = connection.calendar.name
    services.disconnect(commune, user, connection)
    toolkit.db.commit()
    flash(
        _("L'agenda « %(name)s » n'est plus synchronisé. Ses événements restent.", name=name),
        "success",
    )
    return redirect(url_for(".connections"))
