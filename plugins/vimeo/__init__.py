"""Vimeo: the ``video`` capability on the commune's Vimeo account (the Vidéothèque, and any
feature that hosts videos, send them there).

A built-in plugin, loaded through its ``viatic.plugins`` entry point like any other. The
provider is in ``provider``, the HTTP client in ``connectors.vimeo``. The commune admin
gives an access token (encrypted at rest, never shown back) and optionally the folder or
showcase the videos go in; the module's page « Connexion à Vimeo » (``views``) tests a
token before or after it is saved, and the modules page shows the same test's result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint

from core import toolkit
from core.toolkit import lazy_gettext as _l
from plugins.vimeo import views
from plugins.vimeo.provider import VimeoProvider, test_connection

__version__ = "0.1.0"


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="vimeo",
        label=_l("Vimeo"),
        version=__version__,
        description=_l("Héberge les vidéos de la commune sur son compte Vimeo."),
        category="hebergement",
        core_version=">=0.1,<1",
        translations=Path(__file__).parent / "translations",
        admin_endpoint="vimeo.connection",
        admin_label=_l("Connexion à Vimeo"),
    )


@toolkit.hookimpl
def viatic_settings_schema() -> list[toolkit.Setting]:
    return [
        toolkit.Setting(
            "access_token",
            _l("Jeton d'accès Vimeo"),
            type="secret",
            required=True,
            help=_l(
                "Un jeton personnel du compte Vimeo de la commune, avec les droits public, "
                "private, upload, edit, delete et interact. La page « Connexion à Vimeo » du "
                "module le teste sans l'enregistrer."
            ),
        ),
        toolkit.Setting(
            "folder_id",
            _l("Dossier Vimeo (facultatif)"),
            help=_l(
                "Le numéro du dossier où ranger les vidéos, tel qu'il figure dans son adresse."
            ),
        ),
        toolkit.Setting(
            "showcase_id",
            _l("Vitrine Vimeo (facultatif)"),
            help=_l("Le numéro de la vitrine (showcase) où ajouter les vidéos."),
        ),
    ]


@toolkit.hookimpl
def viatic_capabilities() -> dict[str, Any]:
    return {"video": VimeoProvider}


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return views.bp


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    return test_connection(commune, settings.get("access_token") or "")
