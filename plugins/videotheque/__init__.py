"""Vidéothèque: video testimonies of officials for officials, with ratings, reviews,
captions and moderation, hosted by whichever ``video`` provider the commune chose (Vimeo,
or the platform's own storage).

A built-in plugin, loaded through its ``viatic.plugins`` entry point like any other. This
module holds its hook implementations and nothing else: the rules are in ``services``, the
pages in ``views``, the JSON API in ``api``, moving videos to another provider (a command)
in ``moving``, the tables in ``models`` and their Alembic branch in ``migrations/``, the
demo testimonies in ``demo``. It reaches the core only
through ``core.toolkit`` and the providers only through the ``video`` capability.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.videotheque import api, demo, moving, services, views

__version__ = "0.1.0"

READERS = ("maire", "adjoint", "conseiller", "agent", "partenaire")
CONTRIBUTORS = ("maire", "adjoint", "conseiller", "agent")
HERE = Path(__file__).parent


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="videotheque",
        label=_l("Vidéothèque"),
        version=__version__,
        description=_l(
            "Des témoignages vidéo d'élus, sous-titrés, notés et modérés, hébergés sur Vimeo "
            "ou par la plateforme."
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
def viatic_cli_group() -> click.Group:
    return moving.group


@toolkit.hookimpl
def viatic_api_blueprint() -> Blueprint:
    return api.bp


@toolkit.hookimpl
def viatic_api_scopes() -> list[toolkit.ApiScope]:
    return [
        toolkit.ApiScope("videotheque:read", _l("Voir les témoignages vidéo")),
        toolkit.ApiScope("videotheque:rate", _l("Noter les témoignages vidéo en votre nom")),
    ]


@toolkit.hookimpl
def viatic_permissions() -> list[toolkit.Permission]:
    return [
        toolkit.Permission("videotheque.view", _l("Voir la vidéothèque"), READERS),
        toolkit.Permission(
            "videotheque.rate", _l("Noter les témoignages et donner un avis"), READERS
        ),
        toolkit.Permission(
            "videotheque.contribute", _l("Proposer des témoignages vidéo"), CONTRIBUTORS
        ),
    ]


@toolkit.hookimpl
def viatic_notification_types() -> list[toolkit.NotificationType]:
    return [
        toolkit.NotificationType(
            "videotheque.published", _l("Vidéothèque : mon témoignage est publié"), email=True
        )
    ]


@toolkit.hookimpl
def viatic_scheduled_jobs() -> list[toolkit.Job]:
    return [
        toolkit.Job(
            id="videotheque.refresh",
            func=services.refresh_commune,
            trigger="interval",
            trigger_args={"minutes": 2},
            scope="commune",
            max_runtime_seconds=60,
        )
    ]


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    try:
        provider = toolkit.capability(commune, "video")
    except toolkit.CapabilityUnavailable:
        return toolkit.Health(
            False,
            _("Aucun hébergeur de vidéos n'est choisi : activez Vimeo ou l'hébergement interne."),
        )
    return toolkit.Health(True, _("Les vidéos sont envoyées à : %(name)s.", name=provider.name))


@toolkit.hookimpl
def viatic_nav_items(commune: toolkit.Commune, user: toolkit.User | None) -> list[toolkit.NavItem]:
    return [
        toolkit.NavItem(
            _l("Vidéothèque"), "videotheque.index", order=40, permission="videotheque.view"
        )
    ]


@toolkit.hookimpl
def viatic_dashboard_widgets(
    commune: toolkit.Commune, user: toolkit.User | None
) -> list[toolkit.Widget]:
    def render() -> str:
        return toolkit.render("videotheque/_widget.html", videos=services.newest())

    return [
        toolkit.Widget(_("Nouveaux témoignages"), render, order=40, permission="videotheque.view")
    ]


@toolkit.hookimpl
def viatic_search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[toolkit.SearchResult]:
    if not toolkit.has_permission(user, commune, "videotheque.view"):
        return []
    videos, _total = services.search(services.Filters(query=query))
    return [
        toolkit.SearchResult(
            title=video.title,
            url=services.video_url(video, commune),
            excerpt=" · ".join(p for p in (video.commune.name, video.speaker) if p),
            kind=_("Témoignage vidéo"),
        )
        for video in videos[:limit]
    ]


@toolkit.hookimpl
def viatic_demo_content(commune: toolkit.Commune) -> None:
    demo.add(commune)
