"""A small plugin that uses every per-commune hook: nav item, widget, search, settings,
health check and the enable/disable callbacks."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from markupsafe import escape
from sqlalchemy import select

from core import toolkit

CALLS: list[tuple[str, str]] = []

bp = Blueprint("meteo", __name__, template_folder=str(Path(__file__).parent / "templates"))
api = Blueprint("meteo_api", __name__)
platform = Blueprint("meteo_platform", __name__)


@bp.get("/")
@toolkit.requires("meteo.view")
def index() -> str:
    commune = toolkit.current_commune()
    settings = toolkit.module_settings(commune, "meteo")
    return toolkit.render("meteo/index.html", station=settings["station"])


@bp.post("/alerte")
@toolkit.requires("meteo.alert")
def alert() -> tuple[str, int]:
    commune = toolkit.current_commune()
    toolkit.audit("meteo.alert_sent", module="meteo", object_type="alert", object_id="1")
    members = toolkit.db.scalars(
        select(toolkit.User)
        .join(toolkit.Membership)
        .where(toolkit.Membership.commune_id == commune.id)
    )
    toolkit.notify(
        members, "meteo.alerte", "Orage annoncé ce soir", "Rentrez les tables.", commune=commune
    )
    toolkit.db.commit()
    return "alerte envoyée", 201


@api.get("/bulletin")
@toolkit.requires("meteo.view")
def bulletin() -> dict:
    return {"commune": toolkit.current_commune().insee, "ciel": "dégagé"}


@platform.get("/stations")
@toolkit.platform_admin_required
def stations() -> str:
    return toolkit.render("meteo/stations.html", stations=["Troyes-Barberey", "Romilly"])


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="meteo",
        label="Météo",
        version="1.0",
        description="Le temps qu'il fait.",
        core_version=">=0.1",
        admin_endpoint="meteo.index",
        admin_label="Station météo",
        platform_endpoint="meteo_platform.stations",
        platform_label="Stations météo",
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return bp


@toolkit.hookimpl
def viatic_api_blueprint() -> Blueprint:
    return api


@toolkit.hookimpl
def viatic_platform_blueprint() -> Blueprint:
    return platform


@toolkit.hookimpl
def viatic_api_scopes() -> list[toolkit.ApiScope]:
    return [toolkit.ApiScope("meteo:read", "Lire le bulletin météo")]


@toolkit.hookimpl
def viatic_permissions() -> list[toolkit.Permission]:
    return [
        toolkit.Permission(
            "meteo.view", "Voir la météo", ("maire", "adjoint", "conseiller", "agent", "citoyen")
        ),
        toolkit.Permission("meteo.alert", "Envoyer une alerte météo", ("maire",)),
        toolkit.Permission(
            "meteo.stations", "Régler les stations météo", ("maire",), commune_admins=True
        ),
    ]


@toolkit.hookimpl
def viatic_settings_schema() -> list[toolkit.Setting]:
    return [
        toolkit.Setting("station", "Station", required=True, default="Troyes-Barberey"),
        toolkit.Setting("api_key", "Clé d'accès", type="secret", required=True),
        toolkit.Setting("seuil", "Seuil d'alerte (mm)", type="integer", default=20),
        toolkit.Setting("source", "Adresse du service", type="url"),
        toolkit.Setting("contact", "Contact", type="email"),
        toolkit.Setting(
            "unite",
            "Unité",
            type="choice",
            choices=(("c", "Celsius"), ("f", "Fahrenheit")),
            default="c",
        ),
        toolkit.Setting("public", "Visible des habitants", type="boolean", default=True),
    ]


@toolkit.hookimpl
def viatic_nav_items(commune, user) -> list[toolkit.NavItem]:
    return [toolkit.NavItem("Météo", "meteo.index", order=50, permission="meteo.view")]


@toolkit.hookimpl
def viatic_dashboard_widgets(commune, user) -> list[toolkit.Widget]:
    return [
        toolkit.Widget(
            "Météo du jour", lambda: f"<p>Ciel dégagé sur {escape(commune.name)}</p>", order=10
        )
    ]


@toolkit.hookimpl
def viatic_search(commune, user, query, limit) -> list[toolkit.SearchResult]:
    if "pluie" in query.lower():
        return [
            toolkit.SearchResult("Pluie attendue jeudi", "/meteo/jeudi", "10 mm à Faux-Villecerf")
        ]
    return []


@toolkit.hookimpl
def viatic_health_check(commune, settings) -> toolkit.Health:
    if not settings.get("api_key"):
        return toolkit.Health(False, "clé d'accès manquante")
    return toolkit.Health(True)


@toolkit.hookimpl
def viatic_module_enabled(commune) -> None:
    CALLS.append(("enabled", commune.insee))


@toolkit.hookimpl
def viatic_module_disabled(commune) -> None:
    CALLS.append(("disabled", commune.insee))


@toolkit.hookimpl
def viatic_notification_types() -> list[toolkit.NotificationType]:
    return [toolkit.NotificationType("meteo.alerte", "Alertes météo", email=True)]


@toolkit.hookimpl
def viatic_referentiel_themes() -> list[toolkit.ReferentielTheme]:
    return [toolkit.ReferentielTheme("alertes-meteo", "Alertes météo", "Sécurité")]
