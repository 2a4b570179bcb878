"""Académie: the officials' training pages (« Formations »), whichever tool serves the courses.

The catalogue with its filters and search, a course's page with « S'inscrire » /
« Continuer », « Mes formations » with each course's progress, and the team's progress for
the maire or a commune admin. Every operation goes through the commune's ``lms`` capability
(the Chamilo plugin, or the platform's own courses of the ``lms`` plugin): no page knows
which provider serves it. This module holds the hook implementations; the rules are in
``services``, the pages in ``views``, the JSON API in ``api``, the tables in ``models``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, url_for

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.academie import api, services, views

__version__ = "0.1.0"

OFFICIALS = ("maire", "adjoint", "conseiller", "agent")
HERE = Path(__file__).parent
WIDGET_LIMIT = 3


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="academie",
        label=_l("Formations"),
        version=__version__,
        description=_l(
            "L'Académie : les formations des élus et des agents (catalogue, inscriptions, "
            "progression), servies par Chamilo ou par les cours de la plateforme."
        ),
        category="formation",
        core_version=">=0.1,<1",
        migrations=HERE / "migrations",
        translations=HERE / "translations",
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return views.bp


@toolkit.hookimpl
def viatic_api_blueprint() -> Blueprint:
    return api.bp


@toolkit.hookimpl
def viatic_api_scopes() -> list[toolkit.ApiScope]:
    return [
        toolkit.ApiScope(
            "academie:read", _l("Voir le catalogue des formations et votre progression")
        ),
        toolkit.ApiScope("academie:write", _l("Vous inscrire à des formations")),
        toolkit.ApiScope("academie:team", _l("Voir la progression de l'équipe municipale")),
    ]


@toolkit.hookimpl
def viatic_permissions() -> list[toolkit.Permission]:
    return [
        toolkit.Permission("academie.view", _l("Voir le catalogue des formations"), OFFICIALS),
        toolkit.Permission("academie.enrol", _l("S'inscrire aux formations"), OFFICIALS),
        toolkit.Permission(
            "academie.team",
            _l("Voir la progression de l'équipe en formation"),
            ("maire",),
            commune_admins=True,
        ),
    ]


@toolkit.hookimpl
def viatic_notification_types() -> list[toolkit.NotificationType]:
    return [
        toolkit.NotificationType("academie.enrolled", _l("Inscription à une formation confirmée")),
        toolkit.NotificationType("academie.completed", _l("Formation terminée")),
        toolkit.NotificationType(
            services.SETTINGS_REFUSED,
            _l("Formations : les inscriptions attendent une connexion qui fonctionne"),
        ),
    ]


@toolkit.hookimpl
def viatic_outbox_handlers() -> dict:
    return {services.ENROL_KIND: services.deliver}


@toolkit.hookimpl
def viatic_scheduled_jobs() -> list[toolkit.Job]:
    return [
        toolkit.Job("catalogue", services.catalogue_job, "interval", {"hours": 1}, scope="commune"),
        # A large commune on Chamilo takes minutes (one call per official and course: see
        # bench/README.md); the lease must outlast the run, or a second scheduler would start
        # the same sync beside it.
        toolkit.Job(
            "progress",
            services.progress_job,
            "interval",
            {"minutes": 30},
            scope="commune",
            max_runtime_seconds=3600,
        ),
        # Cheap while nothing waits (one indexed query a commune); while something does, one
        # call to the provider tells whether its settings were fixed.
        toolkit.Job(
            "waiting_enrolments",
            services.waiting_job,
            "interval",
            {"minutes": 5},
            scope="commune",
        ),
    ]


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    if services.provider(commune) is None:
        return toolkit.Health(
            False,
            _("Aucun fournisseur de formations : activez Chamilo ou les cours de la plateforme."),
        )
    return toolkit.Health(True, _("Les formations passent par le fournisseur choisi."))


@toolkit.hookimpl
def viatic_nav_items(commune: toolkit.Commune, user: toolkit.User | None) -> list[toolkit.NavItem]:
    return [
        toolkit.NavItem(_l("Formations"), "academie.index", order=40, permission="academie.view")
    ]


@toolkit.hookimpl
def viatic_dashboard_widgets(
    commune: toolkit.Commune, user: toolkit.User | None
) -> list[toolkit.Widget]:
    def render() -> str:
        enrolments = services.in_progress(commune, user, WIDGET_LIMIT) if user else []
        return toolkit.render("academie/_widget.html", enrolments=enrolments)

    return [
        toolkit.Widget(_("Mes formations en cours"), render, order=40, permission="academie.view")
    ]


@toolkit.hookimpl
def viatic_search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[toolkit.SearchResult]:
    if not toolkit.has_permission(user, commune, "academie.view"):
        return []
    return [
        toolkit.SearchResult(
            title=course.title,
            url=url_for("academie.course", course_id=course.id, insee=commune.insee),
            excerpt=course.description[:160],
            kind=_("Formation"),
        )
        for course in services.search(commune, query, limit)
    ]
