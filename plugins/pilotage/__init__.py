"""Pilotage de la commune: the référentiel « métier de l'élu local », the self-diagnostic,
projects and tasks, and the commune's dashboard cards.

One plugin with inner modules rather than several plugins: the parts are one workflow
(a weak theme of the diagnostic becomes a project, whose tasks feed the dashboard), they
share the référentiel's tables and the same team, and a commune turns them on together.
Separate plugins would need each other's tables and `requires` in every direction.

Inner modules: ``referentiel`` (the shipped YAML files, adoption, who covers what),
``models`` (every table, prefixed ``pilotage_``), ``views`` (the blueprint and the
référentiel's pages), ``cli`` (``viatic pilotage referentiel``). It reaches the core only
through ``core.toolkit``.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, url_for
from sqlalchemy import select

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import (
    api,
    cli,
    dashboard,
    demo,
    diagnostic,
    projects,
    referentiel,
    tasks,
    views,
)
from plugins.pilotage.models import Theme

__version__ = "0.1.0"

# The council and the staff: the team that steers the commune.
TEAM = ("maire", "adjoint", "conseiller", "agent")
HERE = Path(__file__).parent


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="pilotage",
        label=_l("Pilotage"),
        version=__version__,
        description=_l(
            "Le référentiel du métier d'élu, l'autodiagnostic de la commune, les projets et "
            "les tâches du mandat, et le tableau de bord du maire."
        ),
        category="pilotage",
        core_version=">=0.1,<1",
        migrations=HERE / "migrations",
        translations=HERE / "translations",
        platform_endpoint="pilotage_platform.referentiel_index",
        platform_label=_l("Référentiel du métier d'élu"),
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    # Their pages join the blueprint when imported.
    from plugins.pilotage import diagnostic_views, project_views  # noqa: F401

    return views.bp


@toolkit.hookimpl
def viatic_platform_blueprint() -> Blueprint:
    from plugins.pilotage import platform_views

    return platform_views.bp


@toolkit.hookimpl
def viatic_api_blueprint() -> Blueprint:
    return api.bp


@toolkit.hookimpl
def viatic_api_scopes() -> list[toolkit.ApiScope]:
    return [
        toolkit.ApiScope(
            "pilotage:read", _l("Voir les projets, les tâches et le diagnostic de vos communes")
        ),
        toolkit.ApiScope("pilotage:write", _l("Créer et modifier les projets et les tâches")),
    ]


@toolkit.hookimpl
def viatic_cli_group() -> click.Group:
    return cli.group


@toolkit.hookimpl
def viatic_permissions() -> list[toolkit.Permission]:
    return [
        toolkit.Permission(
            "pilotage.view", _l("Voir le pilotage : référentiel, projets, tâches, diagnostic"), TEAM
        ),
        toolkit.Permission(
            "pilotage.adopt",
            _l("Choisir les thèmes du référentiel adoptés par la commune"),
            ("maire", "adjoint"),
        ),
        toolkit.Permission(
            "pilotage.project_create", _l("Créer des projets"), ("maire", "adjoint", "conseiller")
        ),
        toolkit.Permission(
            "pilotage.project_manage",
            _l("Modifier tous les projets (sinon : ceux dont on est responsable ou membre)"),
            ("maire",),
        ),
        toolkit.Permission(
            "pilotage.task_write", _l("Créer des tâches et faire avancer les siennes"), TEAM
        ),
        toolkit.Permission(
            "pilotage.diagnose",
            _l("Répondre à l'autodiagnostic et le recommencer"),
            ("maire", "adjoint", "conseiller"),
        ),
        toolkit.Permission(
            "pilotage.public", _l("Lire les projets publiés pour les habitants"), toolkit.ROLES
        ),
    ]


@toolkit.hookimpl
def viatic_notification_types() -> list[toolkit.NotificationType]:
    return [
        toolkit.NotificationType("pilotage.task_assigned", _l("Une tâche vous est confiée")),
        toolkit.NotificationType("pilotage.task_due", _l("Rappel avant l'échéance d'une tâche")),
    ]


@toolkit.hookimpl
def viatic_scheduled_jobs() -> list[toolkit.Job]:
    return [
        toolkit.Job(
            "remind_due_tasks",
            tasks.remind_due_tasks,
            trigger="cron",
            trigger_args={"hour": 7},
            scope="commune",
        ),
        toolkit.Job(
            "compute_benchmarks",
            diagnostic.compute_benchmarks,
            trigger="cron",
            trigger_args={"hour": 3},
        ),
    ]


@toolkit.hookimpl
def viatic_module_enabled(commune: toolkit.Commune) -> None:
    """The first commune to enable the module loads the shipped référentiel."""
    if toolkit.db.scalar(select(Theme.id).limit(1)) is None:
        referentiel.load(referentiel.read_folder())


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    return toolkit.Health(True, _("Aucun outil externe : rien à vérifier."))


@toolkit.hookimpl
def viatic_nav_items(commune: toolkit.Commune, user: toolkit.User | None) -> list[toolkit.NavItem]:
    return [
        toolkit.NavItem(
            _l("Pilotage"), "pilotage.project_list", order=10, permission="pilotage.view"
        ),
        toolkit.NavItem(
            _l("Projets de la commune"),
            "pilotage.public_projects",
            order=11,
            permission="pilotage.public",
        ),
    ]


@toolkit.hookimpl
def viatic_dashboard_widgets(
    commune: toolkit.Commune, user: toolkit.User | None
) -> list[toolkit.Widget]:
    # Each card queries in its render(), which the core calls inside its guard.
    def card(template: str, **figures: object) -> str:
        return toolkit.render(f"pilotage/widgets/{template}.html", **figures)

    return [
        toolkit.Widget(
            _("Projets par santé et statut"),
            lambda: card(
                "projects",
                counts=dashboard.project_counts(commune),
                health_labels=projects.HEALTH_LABELS,
                status_labels=projects.STATUS_LABELS,
            ),
            order=10,
            permission="pilotage.view",
        ),
        toolkit.Widget(
            _("Tâches en retard"),
            lambda: card("overdue", overdue=dashboard.overdue(commune)),
            order=11,
            permission="pilotage.view",
        ),
        toolkit.Widget(
            _("Prochains jalons"),
            lambda: card("milestones", milestones=dashboard.upcoming_milestones(commune)),
            order=12,
            permission="pilotage.view",
        ),
        toolkit.Widget(
            _("Budget des projets : engagé et prévu"),
            lambda: card("budget", budget=dashboard.budget(commune)),
            order=13,
            permission="pilotage.view",
        ),
        toolkit.Widget(
            _("Scores du diagnostic"),
            lambda: card("scores", trends=dashboard.scores(commune)),
            order=14,
            permission="pilotage.view",
        ),
        toolkit.Widget(
            _("Thèmes que personne ne couvre"),
            lambda: card("uncovered", themes=dashboard.uncovered(commune)),
            order=15,
            permission="pilotage.view",
        ),
    ]


@toolkit.hookimpl
def viatic_referentiel_themes() -> list[toolkit.ReferentielTheme]:
    return referentiel.theme_list()


@toolkit.hookimpl
def viatic_search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[toolkit.SearchResult]:
    if not toolkit.has_permission(user, commune, "pilotage.view"):
        return []
    found = [
        toolkit.SearchResult(
            title=project.title,
            url=url_for("pilotage.project", project_id=project.id, insee=commune.insee),
            excerpt=str(projects.STATUS_LABELS[project.status]),
            kind=_("Projet"),
        )
        for project in projects.search(commune, query, limit)
    ]
    found += [
        toolkit.SearchResult(
            title=task.title,
            url=tasks.task_url(task, commune),
            excerpt=str(tasks.STATUS_LABELS[task.status]),
            kind=_("Tâche"),
        )
        for task in tasks.search(commune, query, limit)
    ]
    found += [
        toolkit.SearchResult(
            title=theme.title,
            url=url_for("pilotage.theme", code=theme.code, insee=commune.insee),
            excerpt=theme.domain.title,
            kind=_("Thème du référentiel"),
        )
        for theme in referentiel.search(query, limit)
    ]
    return found[:limit]


@toolkit.hookimpl
def viatic_demo_content(commune: toolkit.Commune) -> None:
    demo.add(commune)
