"""Alembic, driven from the app: the core's branch plus one branch per installed plugin.

``viatic db upgrade`` brings every branch to its head. A plugin names its folder of
revisions in ``PluginInfo.migrations``; its first revision carries ``branch_labels =
("<plugin>",)`` and ``depends_on`` a core revision (see docs/plugins.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import current_app

from core.db import get_database

HERE = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    registry = current_app.extensions["viatic.plugins"]
    locations = [str(HERE / "versions")]
    locations += [str(p.info.migrations) for p in registry.plugins.values() if p.info.migrations]
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(locations))
    return config


def upgrade(target: str = "heads") -> None:
    """Upgrade the app's database to ``target`` (every branch's head by default)."""
    config = alembic_config()
    with get_database().engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def revision(message: str, plugin: str | None = None, autogenerate: bool = True) -> None:
    """Write a new revision for the core or for ``plugin`` (a new branch if it has none)."""
    config = alembic_config()
    registry = current_app.extensions["viatic.plugins"]
    with get_database().engine.begin() as connection:
        config.attributes["connection"] = connection
        if plugin is None:
            command.revision(config, message, autogenerate=autogenerate, head="core@head")
            return
        folder = registry.plugins[plugin].info.migrations
        if folder is None:
            raise ValueError(f"plugin '{plugin}' declares no migrations folder")
        folder.mkdir(parents=True, exist_ok=True)
        # An __init__.py (the folder as a package) is not a revision.
        has_branch = any(p.name != "__init__.py" for p in folder.glob("*.py"))
        command.revision(
            config,
            message,
            autogenerate=autogenerate,
            head=f"{plugin}@head" if has_branch else "base",
            branch_label=None if has_branch else plugin,
            version_path=str(folder),
            depends_on=None if has_branch else "core@head",
        )
