"""The platform's own courses: the in-house provider of the ``lms`` capability.

Courses of ordered lessons (text, a testimony of the Vidéothèque, an optional quiz),
progress kept in this database, authoring by the platform admins. Its own plugin rather
than a part of the Académie, because the provider is chosen per commune among the enabled
plugins: a commune that trains on Chamilo has only Chamilo enabled, and switching is
enabling this module and choosing it (Administration → Modules), after which the Formations
pages stay the same and the progress earned on Chamilo stays visible. It needs the Académie
(its pages).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.lms import services, views

__version__ = "0.1.0"
HERE = Path(__file__).parent


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="lms",
        label=_l("Cours de la plateforme"),
        version=__version__,
        description=_l(
            "Les formations écrites sur la plateforme Viatic : leçons, vidéos, quiz et "
            "progression, sans outil externe."
        ),
        category="formation",
        provides=("lms",),
        requires=("academie",),
        core_version=">=0.1,<1",
        migrations=HERE / "migrations",
        translations=HERE / "translations",
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return views.bp


@toolkit.hookimpl
def viatic_capabilities() -> dict:
    return {"lms": services.InHouseProvider}


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    return toolkit.Health(True, _("Aucun outil externe : rien à vérifier."))


@toolkit.hookimpl
def viatic_demo_content(commune: toolkit.Commune) -> None:
    services.add_demo_content()
