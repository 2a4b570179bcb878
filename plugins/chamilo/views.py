"""The commune admin's page of the Chamilo module: « Tester la connexion » with the current
settings (the settings themselves are on the core's module settings page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, url_for

from core import toolkit
from plugins.chamilo.provider import ChamiloProvider

HERE = Path(__file__).parent
bp = Blueprint("chamilo", __name__, template_folder=str(HERE / "templates"))


class TestForm(toolkit.Form):
    """The « Tester la connexion » button: its CSRF token only."""


@bp.route("/connexion", methods=["GET", "POST"])
@toolkit.commune_admin_required
def connection() -> Any:
    commune = toolkit.current_commune()
    form = TestForm()
    health = None
    if form.validate_on_submit():
        settings = toolkit.module_settings(commune, "chamilo")
        try:
            health = ChamiloProvider(commune, settings).check()
        except ValueError:
            health = toolkit.Health(
                False, toolkit.gettext("Renseignez l'adresse et les identifiants.")
            )
        toolkit.db.commit()
    return toolkit.render(
        "chamilo/connection.html",
        form=form,
        health=health,
        settings_url=url_for("admin.module_settings", insee=commune.insee, plugin="chamilo"),
    )
