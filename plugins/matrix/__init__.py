"""Matrix: the ``chat_bridge`` capability, which mirrors chat channels to rooms of a Matrix
homeserver (the protocol of Tchap, the State's messenger).

A provider plugin of its own rather than a part of the chat, as the portal's capabilities
are: the chat only knows the ``ChatBridgeProvider`` protocol of ``core.capabilities``, so a
commune that does not bridge runs no Matrix code and stores no Matrix secret, and another
network could provide the same capability without the chat changing. The commune admin
enables this module and fills in the bot account (its password or access token is a secret
setting, encrypted at rest); a channel moderator then links a channel to a room. The HTTP
client is ``connectors.matrix``; the provider is in ``provider``.
"""

from __future__ import annotations

from typing import Any

from core import toolkit
from core.toolkit import lazy_gettext as _l
from plugins.matrix.provider import MatrixBridge

__version__ = "0.1.0"


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    from pathlib import Path

    return toolkit.PluginInfo(
        name="matrix",
        label=_l("Pont Matrix (Tchap)"),
        version=__version__,
        description=_l(
            "Relie des canaux de la messagerie à des salons d'un serveur Matrix, comme Tchap, "
            "avec un compte robot : les messages passent dans les deux sens."
        ),
        category="outils",
        provides=("chat_bridge",),
        core_version=">=0.1,<1",
        translations=Path(__file__).parent / "translations",
    )


@toolkit.hookimpl
def viatic_settings_schema() -> list[toolkit.Setting]:
    return [
        toolkit.Setting(
            "homeserver",
            _l("Adresse du serveur Matrix"),
            type="url",
            help=_l("Par exemple https://matrix.agent.interieur.tchap.gouv.fr"),
            required=True,
        ),
        toolkit.Setting(
            "user",
            _l("Identifiant du compte robot"),
            help=_l("Par exemple @mairie-robot:exemple.fr, ou son adresse e-mail sur Tchap."),
            required=True,
        ),
        toolkit.Setting("password", _l("Mot de passe du robot"), type="secret"),
        toolkit.Setting(
            "access_token",
            _l("Jeton d'accès du robot"),
            type="secret",
            help=_l("À la place du mot de passe, si vous en avez un."),
        ),
    ]


@toolkit.hookimpl
def viatic_capabilities() -> dict[str, Any]:
    def bridge(commune: toolkit.Commune, settings: dict[str, Any]) -> MatrixBridge:
        return MatrixBridge(settings, on_call=toolkit.connector_logger(commune))

    return {"chat_bridge": bridge}


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    return MatrixBridge(settings, on_call=toolkit.connector_logger(commune)).health()
