"""Hébergement vidéo interne: the ``video`` capability on the platform's own disk, for the
communes that leave Vimeo (or never used it).

A separate plugin rather than a part of the Vidéothèque, for the same reason Vimeo is one:
a commune chooses its video host among the enabled providers, and switches by enabling
another one; the library never knows which. The storage is in ``storage``, the provider and
the file page (HTTP Range) in ``provider``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.videointerne import storage
from plugins.videointerne.provider import LocalVideoProvider, bp

__version__ = "0.1.0"
# Below this, new uploads would soon fill the disk: say so on the modules page.
LOW_DISK_BYTES = 5 * 1024**3


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(
        name="videointerne",
        label=_l("Hébergement vidéo interne"),
        version=__version__,
        description=_l("Les vidéos de la commune sont stockées et diffusées par la plateforme."),
        category="hebergement",
        core_version=">=0.1,<1",
        translations=Path(__file__).parent / "translations",
    )


@toolkit.hookimpl
def viatic_blueprint() -> Blueprint:
    return bp


@toolkit.hookimpl
def viatic_capabilities() -> dict[str, Any]:
    return {"video": LocalVideoProvider}


@toolkit.hookimpl
def viatic_health_check(commune: toolkit.Commune, settings: dict) -> toolkit.Health:
    try:
        free = storage.free_bytes()
    except OSError:
        return toolkit.Health(False, _("Le dossier de stockage des vidéos est inaccessible."))
    gib = free // 1024**3
    if free < LOW_DISK_BYTES:
        return toolkit.Health(False, _("Il reste peu de place pour les vidéos : %(n)d Go.", n=gib))
    return toolkit.Health(True, _("Stockage des vidéos disponible : %(n)d Go libres.", n=gib))
