"""Start-up validation: a broken plugin stops the portal with a message naming it."""

from __future__ import annotations

import re
import types

import pytest
from flask import Blueprint

from core.hookspecs import hookimpl
from core.plugins import PluginError, PluginRegistry
from core.types import PluginInfo


def plugin(name: str = "essai", **hooks) -> types.ModuleType:
    """A plugin module named ``name`` with ``viatic_plugin_info`` and the given hooks."""
    module = types.ModuleType(f"plugin_{name}")
    info = hooks.pop("info", PluginInfo(name=name, label=name.title(), version="1.0"))
    module.viatic_plugin_info = hookimpl(lambda: info)
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def load(*modules) -> PluginRegistry:
    registry = PluginRegistry()
    registry.load(modules, entry_points=False)
    return registry


def test_a_valid_plugin_loads_beside_the_core():
    registry = load(plugin())
    assert set(registry.plugins) == {"core", "essai"}


def test_unknown_hook_is_refused_with_the_plugin_name():
    with pytest.raises(PluginError, match=r"essai.*viatic_nav_itemz"):
        load(plugin(viatic_nav_itemz=lambda commune, user: []))


def test_hook_with_an_argument_the_spec_does_not_have_is_refused():
    with pytest.raises(PluginError, match="essai"):
        load(plugin(viatic_nav_items=lambda commune, user, surprise: []))


def test_duplicate_plugin_name_is_refused():
    with pytest.raises(PluginError, match="'essai' is installed twice"):
        load(plugin(), plugin())


def test_blueprint_must_be_named_after_its_plugin():
    with pytest.raises(PluginError, match="named 'ailleurs', it must be named 'essai'"):
        load(plugin(viatic_blueprint=lambda: Blueprint("ailleurs", __name__)))


def test_api_blueprint_must_be_named_plugin_api():
    with pytest.raises(PluginError, match="it must be named 'essai_api'"):
        load(plugin(viatic_api_blueprint=lambda: Blueprint("essai", __name__)))


def test_platform_blueprint_must_be_named_plugin_platform():
    with pytest.raises(PluginError, match="it must be named 'essai_platform'"):
        load(plugin(viatic_platform_blueprint=lambda: Blueprint("essai_admin", __name__)))


def _platform_plugin(view_access, platform_endpoint: str = "essai_platform.page"):
    blueprint = Blueprint("essai_platform", __name__)
    blueprint.get("/")(view_access(lambda: "page"))
    info = PluginInfo(
        name="essai", label="Essai", version="1.0", platform_endpoint=platform_endpoint
    )
    return plugin(info=info, viatic_platform_blueprint=lambda: blueprint)


def test_a_platform_page_open_to_others_than_platform_admins_stops_the_start_up(app):
    from core import toolkit
    from core.testing import make_app

    for access in (toolkit.public, toolkit.login_required, toolkit.requires("essai.voir")):
        with pytest.raises(
            PluginError,
            match=re.escape(
                "'essai': platform page 'essai_platform.<lambda>' must be declared "
                "toolkit.platform_admin_required"
            ),
        ):
            make_app(app.config["DATABASE_URL"], [_platform_plugin(access)])


def test_a_platform_endpoint_outside_the_platform_blueprint_stops_the_start_up(app):
    from core import toolkit
    from core.testing import make_app

    broken = _platform_plugin(toolkit.platform_admin_required, "platform.home")
    with pytest.raises(
        PluginError,
        match=re.escape(
            "'essai': platform_endpoint 'platform.home' is not a page of its platform blueprint"
        ),
    ):
        make_app(app.config["DATABASE_URL"], [broken])


def test_unmet_requirement_is_refused():
    info = PluginInfo(name="essai", label="Essai", version="1.0", requires=("agenda",))
    expected = re.escape("'essai' requires 'agenda', which is not installed")
    with pytest.raises(PluginError, match=expected):
        load(plugin(info=info))


def test_incompatible_core_version_is_refused():
    info = PluginInfo(name="essai", label="Essai", version="1.0", core_version=">=2")
    expected = re.escape("'essai' needs Viatic >=2, this is Viatic 0.1.0")
    with pytest.raises(PluginError, match=expected):
        load(plugin(info=info))


def test_invalid_name_is_refused():
    with pytest.raises(PluginError, match=r"'Essai-1'.*lower-case"):
        load(plugin(info=PluginInfo(name="Essai-1", label="x", version="1")))


def test_a_module_without_plugin_info_is_refused():
    with pytest.raises(PluginError, match="no viatic_plugin_info hook"):
        load(types.ModuleType("pas_un_plugin"))


def test_permissions_must_carry_the_plugin_prefix():
    from core.types import Permission

    with pytest.raises(PluginError, match=re.escape("permission 'voir' must start with 'essai.'")):
        load(plugin(viatic_permissions=lambda: [Permission("voir", "Voir")]))


def test_api_scopes_must_carry_the_plugin_prefix_and_be_unique():
    from core.types import ApiScope

    with pytest.raises(PluginError, match=re.escape("API scope 'lire' must start with 'essai:'")):
        load(plugin(viatic_api_scopes=lambda: [ApiScope("lire", "Lire")]))
    twice = [ApiScope("essai:lire", "Lire"), ApiScope("essai:lire", "Lire encore")]
    with pytest.raises(PluginError, match=re.escape("The API scope 'essai:lire' is declared")):
        load(plugin(viatic_api_scopes=lambda: twice))


def test_a_hook_that_raises_at_start_up_names_its_plugin():
    def broken():
        raise ValueError("oups")

    with pytest.raises(PluginError, match="'essai': viatic_permissions\\(\\) failed"):
        load(plugin(viatic_permissions=broken))


def test_an_entry_point_that_fails_to_import_names_the_plugin(monkeypatch):
    import importlib.metadata

    broken = importlib.metadata.EntryPoint(
        name="casse", value="module_qui_nexiste_pas", group="viatic.plugins"
    )
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    registry = PluginRegistry()
    with pytest.raises(
        PluginError, match="Plugin 'casse' \\(module_qui_nexiste_pas\\) could not be imported"
    ):
        registry.load()


def test_the_cli_reports_a_plugin_that_fails_to_load(monkeypatch, tmp_path):
    import importlib.metadata

    from click.testing import CliRunner

    from core.cli import main

    broken = importlib.metadata.EntryPoint(
        name="casse", value="module_qui_nexiste_pas", group="viatic.plugins"
    )
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    monkeypatch.setenv("VIATIC_SECRET_KEY", "x")
    monkeypatch.setenv("VIATIC_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    result = CliRunner().invoke(main, ["plugins", "list"])
    assert result.exit_code == 1
    assert "Un plugin empêche le démarrage" in result.output and "casse" in result.output


def test_installed_entry_point_plugins_are_loaded_without_a_list_in_the_core(app):
    """The example plugin is installed by `make test` and arrives through its entry point."""
    import importlib.metadata

    names = {ep.name for ep in importlib.metadata.entry_points(group="viatic.plugins")}
    assert "idees" in names, "make test installs examples/viatic-idees"
    assert names <= set(app.extensions["viatic.plugins"].plugins)
