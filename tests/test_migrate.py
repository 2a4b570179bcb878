"""Migrations: a plugin's first revision starts its own Alembic branch."""

from __future__ import annotations

import re
import types

from core import toolkit
from core.testing import make_app


def _plugin_with_migrations(folder) -> types.ModuleType:
    module = types.ModuleType("carnet")

    @toolkit.hookimpl
    def viatic_plugin_info() -> toolkit.PluginInfo:
        return toolkit.PluginInfo(name="carnet", label="Carnet", version="1.0", migrations=folder)

    module.viatic_plugin_info = viatic_plugin_info
    return module


def test_a_plugins_first_revision_starts_its_branch_even_beside_an_init_file(
    database_backend, tmp_path
):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "__init__.py").write_text("")  # the folder is a package, as in a distribution
    app = make_app(database_backend.fresh_url(tmp_path), [_plugin_with_migrations(folder)])
    from core.migrate import revision

    with app.app_context():
        revision("carnet tables", plugin="carnet", autogenerate=False)
    [written] = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
    text = written.read_text()
    assert "branch_labels = ('carnet',)" in text and "down_revision = None" in text
    assert re.search(r"depends_on = '\d{4}'", text)  # the core's head at that time
    app.extensions["viatic.db"].engine.dispose()
