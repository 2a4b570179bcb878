"""A plugin whose nav item and widget raise: the page must survive it."""

from __future__ import annotations

from core import toolkit


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(name="fragile", label="Fragile", version="0.1")


@toolkit.hookimpl
def viatic_nav_items(commune, user):
    raise RuntimeError("nav exploded")


def _explode() -> str:
    raise RuntimeError("widget exploded")


@toolkit.hookimpl
def viatic_dashboard_widgets(commune, user):
    return [toolkit.Widget("Widget fragile", _explode, order=1)]


@toolkit.hookimpl
def viatic_search(commune, user, query, limit):
    raise ConnectionError("search backend down")


@toolkit.hookimpl
def viatic_referentiel_themes():
    raise ConnectionError("référentiel unreadable")
