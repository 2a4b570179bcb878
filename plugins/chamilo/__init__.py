"""Chamilo: the ``lms`` capability served by a commune's Chamilo LMS (REST web service v2).

The commune admin gives the Chamilo's address and an admin account; the Formations pages
(plugin ``academie``, required) then list its courses, enrol officials in it and show their
progress. The client of the web service is ``connectors.chamilo``; the provider is in
``provider``; the admin's page "Tester la connexion" in ``views``. Single sign-on into
Chamilo goes through Viatic's own OpenID provider: see this plugin's README.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from core import toolkit
from core.toolkit import lazy_gettext as _l
from plugins.chamilo import views
from plugins.chamilo.provider import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, ChamiloProvider

__version__ = "0.1.0"
HERE = Path(__file__).parent


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="chamilo",
        label=_l("Chamilo LMS"),
        version=__version__,
        description=_l(
            "Les formations servies par le Chamilo de la commune ou de la plateforme : "
            "catalogue, inscriptions, progression et connexion sans second mot de passe."
        ),
        category="formation",
        provides=("lms",),
        requires=("academie",),
        core_version=">=0.1,<1",
        migrations=HERE / "migrations",
        translations=HERE / "translations",
        admin_endpoint="chamilo.connection",
        admin_label=_l("Connexion à Chamilo"),
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return views.bp


@toolkit.hookimpl
def viatic_capabilities() -> dict:
    return {"lms": ChamiloProvider}


@toolkit.hookimpl
def viatic_settings_schema() -> list[toolkit.Setting]:
    return [
        toolkit.Setting(
            "url",
            _l("Adresse du Chamilo"),
            "url",
            help=_l("La racine du site, par exemple https://formation.exemple.fr"),
            required=True,
        ),
        toolkit.Setting(
            "username",
            _l("Utilisateur administrateur"),
            help=_l("Un administrateur de la plateforme Chamilo, pour son service web."),
            required=True,
        ),
        toolkit.Setting("password", _l("Mot de passe de cet utilisateur"), "secret", required=True),
        toolkit.Setting(
            "concurrency",
            _l("Appels simultanés au plus"),
            "choice",  # a list, so that a value out of bounds cannot be typed
            help=_l("Pour relever la progression sans surcharger un petit serveur (1 à 16)."),
            default=str(DEFAULT_CONCURRENCY),
            choices=tuple((str(n), str(n)) for n in range(1, MAX_CONCURRENCY + 1)),
        ),
    ]


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    try:
        provider = ChamiloProvider(commune, settings)
    except ValueError:
        return toolkit.Health(False, toolkit.gettext("Renseignez l'adresse et les identifiants."))
    health = provider.check()
    toolkit.db.commit()
    return health
