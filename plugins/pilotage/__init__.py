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
from flask import Blueprint
from sqlalchemy import select

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import cli, referentiel, tasks, views
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
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    from plugins.pilotage import project_views  # noqa: F401 - its pages join the blueprint

    return views.bp


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
        )
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
            _l("Pilotage"), "pilotage.referentiel_index", order=10, permission="pilotage.view"
        )
    ]


@toolkit.hookimpl
def viatic_search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[toolkit.SearchResult]:
    if not toolkit.has_permission(user, commune, "pilotage.view"):
        return []
    return [
        toolkit.SearchResult(
            title=theme.title,
            url=views.url_of_theme(theme, commune),
            excerpt=theme.domain.title,
            kind=_("Thème du référentiel"),
        )
        for theme in referentiel.search(query, limit)
    ]
