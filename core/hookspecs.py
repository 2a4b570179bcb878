"""The plugin contract: every hook a Viatic plugin may implement, and nothing else.

A plugin is a module (or any object) whose functions are marked with
``core.toolkit.hookimpl`` and named after these specifications. It is discovered through
the entry-point group ``viatic.plugins`` and must implement ``viatic_plugin_info``.

Two kinds of hooks:

- **global** hooks are called once, at start-up, on every installed plugin; what they return
  (blueprints, permissions, settings, jobs...) is collected and validated before the first
  request;
- **per-commune** hooks are called on each request, only on the plugins enabled for the
  commune at hand (and on the core). Each implementation is called on its own, so one that
  raises is logged under its plugin's name and left out, without breaking the page.

Results of multi-plugin hooks come in pluggy's order: the plugin registered last first,
unless an implementation says ``tryfirst`` or ``trylast``. Where an order matters to the
user (navigation, widgets), the items carry an ``order`` of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint

    from core.models import Commune, OutboxMessage, User
    from core.types import (
        ApiScope,
        Health,
        Job,
        NavItem,
        NotificationType,
        Permission,
        PluginInfo,
        ReferentielTheme,
        SearchResult,
        Setting,
        Widget,
    )

PROJECT_NAME = "viatic"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- Global hooks: called once at start-up on each installed plugin -------------------------


@hookspec
def viatic_plugin_info() -> PluginInfo:
    """Return the plugin's metadata (name, label, version, requirements...).

    Global; required of every plugin; called on that plugin alone, before any other hook.
    """


@hookspec
def viatic_blueprint() -> Blueprint | None:
    """Return the plugin's HTML blueprint, named exactly after the plugin.

    Global. The core mounts it under ``/c/<INSEE>/<plugin>/`` and answers 404 for a commune
    where the module is not enabled; the views never check that themselves. Every view must
    declare its access with ``toolkit.requires(...)`` or ``toolkit.public``.
    """


@hookspec
def viatic_api_blueprint() -> Blueprint | None:
    """Return the plugin's JSON API blueprint, named ``<plugin>_api``.

    Global. Mounted under ``/api/v1/c/<INSEE>/<plugin>/`` with the same gate and the same
    access declarations as the HTML views; it should call the same service functions.
    """


@hookspec
def viatic_platform_blueprint() -> Blueprint | None:
    """Return the plugin's pages for platform admins, a blueprint named ``<plugin>_platform``.

    Global. Mounted under ``/admin/modules/<plugin>/``, outside any commune: what the plugin
    keeps for every commune (a référentiel, a catalogue). Every view must be declared
    ``toolkit.platform_admin_required``; start-up fails otherwise. ``PluginInfo``'s
    ``platform_endpoint`` puts one of them in the platform admin's menu.
    """


@hookspec
def viatic_cli_group() -> click.Group | None:
    """Return the plugin's ``viatic`` sub-commands, as a click group named after the plugin.

    Global. ``viatic <plugin> <command>`` runs them inside the portal's application context,
    so that ``toolkit.db`` works; help and messages in French, errors as
    ``click.ClickException``.
    """


@hookspec
def viatic_permissions() -> list[Permission]:
    """Return the permissions the plugin checks, each named ``<plugin>.<action>``.

    Global. Each carries a French label and the roles that have it by default; a commune
    admin may then grant or withdraw it per role for that commune. One declared
    ``commune_admins=True`` is also held by the commune's admins whatever their role.
    """


@hookspec
def viatic_api_scopes() -> list[ApiScope]:
    """Return the OAuth2 scopes of the plugin's API endpoints, named ``<plugin>:<what>``.

    Global. A token (an app's, or a personal one) reaches an endpoint only if it carries
    every scope the endpoint declares with ``toolkit.api_operation(..., scopes=[...])``; the
    person approves the scopes on the consent screen, labels in French.
    """


@hookspec
def viatic_settings_schema() -> list[Setting]:
    """Return the fields of the plugin's per-commune settings.

    Global. The core generates the commune admin's form from them, validates it server-side,
    encrypts ``secret`` fields at rest and never renders them back.
    """


@hookspec
def viatic_capabilities() -> dict[str, Callable[[Commune, dict[str, Any]], Any]]:
    """Return the capabilities the plugin provides, as ``{name: factory}``.

    Global. ``factory(commune, settings)`` returns an object implementing the capability's
    protocol in ``core.capabilities`` (``"video"``, ``"lms"``...) for that commune, built
    from the plugin's decrypted settings there. Feature code reaches it through
    ``toolkit.capability(commune, name)``, whichever provider the commune admin chose.
    """


@hookspec
def viatic_scheduled_jobs() -> list[Job]:
    """Return the plugin's scheduled jobs.

    Global. A ``scope="commune"`` job is run for each commune where the plugin is enabled.
    The scheduler makes sure no two processes run the same job at once.
    """


@hookspec
def viatic_notification_types() -> list[NotificationType]:
    """Return the kinds of notification the plugin sends through ``toolkit.notify``.

    Global. Each person can mute any of them in their account settings.
    """


@hookspec
def viatic_outbox_handlers() -> dict[str, Callable[[OutboxMessage], None]]:
    """Return ``{kind: deliver}`` for the outbox messages the plugin writes.

    Global. Kinds are named ``<plugin>.<what>``. ``deliver(message)`` performs the external
    write and raises on failure; the core retries with exponential backoff. It may be called
    more than once for a message (at-least-once), so it should pass
    ``message.idempotency_key`` on, or check before writing.
    """


# --- Per-plugin callbacks: called on one plugin --------------------------------------------


@hookspec
def viatic_module_enabled(commune: Commune) -> None:
    """The module was just enabled for ``commune``: provision what it needs there.

    Called on that plugin alone, inside the transaction that enables it; raising cancels
    the activation and shows the error to the commune admin.
    """


@hookspec
def viatic_module_disabled(commune: Commune) -> None:
    """The module was just disabled for ``commune``: stop what runs there.

    Called on that plugin alone. The module's data must be kept: enabling it again shows
    it as it was.
    """


@hookspec
def viatic_health_check(commune: Commune, settings: dict[str, Any]) -> Health:
    """Tell whether the module works for ``commune`` (its external tool answers, say).

    Called on one enabled plugin when a commune admin opens the modules page, with the
    plugin's decrypted settings for that commune. Should answer within a few seconds.
    """


# --- Global hooks called when needed: their answer may change while the portal runs --------


@hookspec
def viatic_referentiel_themes() -> list[ReferentielTheme]:
    """Return the themes of the référentiel of the élu's trade that the plugin keeps, in
    their order, for the other modules to tag what they hold (the Académie's courses) with them.

    Global, called each time a page needs them (``toolkit.referentiel_themes()``): the
    référentiel is edited while the portal runs. A failing implementation is logged and
    left out.
    """


# --- Per-commune hooks: called on each request, on the enabled plugins only ----------------


@hookspec
def viatic_nav_items(commune: Commune, user: User | None) -> list[NavItem]:
    """Return the plugin's entries in the commune's navigation.

    Per commune. Items whose ``permission`` the user lacks are left out by the core.
    """


@hookspec
def viatic_dashboard_widgets(commune: Commune, user: User | None) -> list[Widget]:
    """Return the plugin's cards for the commune's dashboard.

    Per commune. The core sorts every card by ``order`` and renders each one in a guard.
    """


@hookspec
def viatic_search(
    commune: Commune, user: User | None, query: str, limit: int
) -> list[SearchResult]:
    """Return at most ``limit`` results for ``query`` among what ``user`` may see.

    Per commune. The core groups results under each module's label.
    """


@hookspec
def viatic_demo_content(commune: Commune) -> None:
    """Add realistic demonstration content of the plugin to ``commune``.

    Called by ``viatic demo`` on each enabled plugin, for each demo commune, after its
    members exist. Must be idempotent: running the demo twice must not duplicate anything.
    """
