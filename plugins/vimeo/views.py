"""The commune admin's page of the Vimeo module: « Tester la connexion » with the token being
entered, or the one in the settings. The test saves nothing and never shows a token back
(the settings themselves are on the core's module settings page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, url_for
from wtforms import PasswordField

from core import toolkit
from core.toolkit import lazy_gettext as _l
from plugins.vimeo import provider

HERE = Path(__file__).parent
bp = Blueprint("vimeo", __name__, template_folder=str(HERE / "templates"))


class TestForm(toolkit.Form):
    access_token = PasswordField(
        _l("Jeton à tester (facultatif)"),
        description=_l("Laissez vide pour tester le jeton enregistré dans les réglages."),
        render_kw={"autocomplete": "off"},
    )


@bp.route("/connexion", methods=["GET", "POST"])
@toolkit.commune_admin_required
def connection() -> Any:
    commune = toolkit.current_commune()
    form = TestForm()
    health = None
    if form.validate_on_submit():
        token = (form.access_token.data or "").strip()
        settings = toolkit.module_settings(commune, "vimeo")
        health = provider.test_connection(commune, token or settings.get("access_token") or "")
    return toolkit.render(
        "vimeo/connection.html",
        form=form,
        health=health,
        settings_url=url_for("admin.module_settings", insee=commune.insee, plugin="vimeo"),
    )
