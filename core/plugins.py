"""The plugin manager: discovery, start-up validation, and per-commune hook calls.

Plugins come from the entry-point group ``viatic.plugins`` (the built-in ones too: the core
keeps no list of names). Everything a plugin contributes is collected and checked once, in
``create_app()``; a broken plugin stops the start-up with a message that names it.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import operator
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import click
import pluggy
from flask import Blueprint
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from sqlalchemy import select

import core
from core import hookspecs
from core.types import ApiScope, Job, NotificationType, Permission, PluginInfo, Setting

ENTRY_POINT_GROUP = "viatic.plugins"
CORE = "core"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

log = logging.getLogger(__name__)


class PluginError(Exception):
    """A plugin cannot be loaded; the message names it and says why."""


@dataclass
class LoadedPlugin:
    """An installed plugin and what it contributes, as validated at start-up."""

    info: PluginInfo
    module: object
    blueprint: Blueprint | None = None
    api_blueprint: Blueprint | None = None
    platform_blueprint: Blueprint | None = None
    cli_group: click.Group | None = None
    permissions: tuple[Permission, ...] = ()
    api_scopes: tuple[ApiScope, ...] = ()
    settings: tuple[Setting, ...] = ()
    capabilities: dict[str, Callable[..., Any]] = field(default_factory=dict)
    jobs: tuple[Job, ...] = ()
    notification_types: tuple[NotificationType, ...] = ()
    outbox_handlers: dict[str, Callable[..., None]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def essential(self) -> bool:
        return self.info.essential or self.name == CORE


@dataclass(frozen=True)
class HookFailure:
    """Stands in the results of a per-commune hook for a plugin whose implementation raised."""

    plugin: str
    error: str


class PluginRegistry:
    """The pluggy manager of one app, and everything the installed plugins declared."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        self.admin_permissions: frozenset[str] = frozenset()  # Permission.commune_admins
        self._enabled_cache: dict[tuple[int, int], frozenset[str]] = {}
        self._impls_cache: dict[tuple[str, frozenset[str]], list[tuple[str, Callable]]] = {}
        self._lock = threading.Lock()

    # --- loading --------------------------------------------------------------------------

    def load(self, extra: Iterable[object] = (), entry_points: bool = True) -> None:
        """Register the core, the entry-point plugins and ``extra`` ones, then validate all."""
        from core import builtin

        self._register(builtin, origin="core")
        if entry_points:
            for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                try:
                    module = ep.load()
                except Exception as exc:
                    raise PluginError(
                        f"Plugin '{ep.name}' ({ep.value}) could not be imported: {exc!r}"
                    ) from exc
                self._register(module, origin=f"entry point '{ep.name}'")
        for module in extra:
            self._register(module, origin=repr(module))
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.pm.get_name(exc.plugin) or "?"
            raise PluginError(f"Plugin '{name}': {exc}") from exc
        for plugin in self.plugins.values():
            self._collect(plugin)
        self._check_requirements()
        self._check_unique(
            "permission", [p.name for pl in self.plugins.values() for p in pl.permissions]
        )
        self.admin_permissions = frozenset(
            p.name for p in self.permissions.values() if p.commune_admins
        )
        self._check_unique(
            "API scope", [s.name for pl in self.plugins.values() for s in pl.api_scopes]
        )
        self._check_unique(
            "notification type",
            [t.name for pl in self.plugins.values() for t in pl.notification_types],
        )

    def _register(self, module: object, origin: str) -> None:
        info_impl = getattr(module, "viatic_plugin_info", None)
        if info_impl is None:
            raise PluginError(f"{origin} is not a Viatic plugin: it has no viatic_plugin_info hook")
        try:
            info = info_impl()
        except Exception as exc:
            raise PluginError(f"{origin}: viatic_plugin_info() failed: {exc!r}") from exc
        if not isinstance(info, PluginInfo):
            raise PluginError(f"{origin}: viatic_plugin_info() must return a PluginInfo")
        if not NAME_PATTERN.match(info.name):
            raise PluginError(
                f"Plugin '{info.name}' ({origin}): a name is 2 to 41 lower-case letters, "
                "digits or '_', starting with a letter"
            )
        if info.name in self.plugins:
            raise PluginError(f"Plugin '{info.name}' is installed twice ({origin})")
        if info.core_version:
            try:
                compatible = SpecifierSet(info.core_version).contains(core.__version__)
            except InvalidSpecifier as exc:
                raise PluginError(f"Plugin '{info.name}': invalid core_version: {exc}") from exc
            if not compatible:
                raise PluginError(
                    f"Plugin '{info.name}' needs Viatic {info.core_version}, "
                    f"this is Viatic {core.__version__}"
                )
        try:
            self.pm.register(module, name=info.name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"Plugin '{info.name}': {exc}") from exc
        self.plugins[info.name] = LoadedPlugin(info=info, module=module)

    def _call_one(self, plugin: LoadedPlugin, hook: str, **kwargs: Any) -> Any:
        impl = getattr(plugin.module, hook, None)
        if impl is None or not self.pm.parse_hookimpl_opts(plugin.module, hook):
            return None
        try:
            return impl(**{k: v for k, v in kwargs.items() if k in _argnames(impl)})
        except Exception as exc:
            raise PluginError(f"Plugin '{plugin.name}': {hook}() failed: {exc!r}") from exc

    def _collect(self, plugin: LoadedPlugin) -> None:
        name = plugin.name
        plugin.blueprint = self._call_one(plugin, "viatic_blueprint")
        if plugin.blueprint is not None and plugin.blueprint.name != name:
            raise PluginError(
                f"Plugin '{name}': its blueprint is named '{plugin.blueprint.name}', "
                f"it must be named '{name}'"
            )
        plugin.api_blueprint = self._call_one(plugin, "viatic_api_blueprint")
        if plugin.api_blueprint is not None and plugin.api_blueprint.name != f"{name}_api":
            raise PluginError(
                f"Plugin '{name}': its API blueprint is named '{plugin.api_blueprint.name}', "
                f"it must be named '{name}_api'"
            )
        plugin.platform_blueprint = self._call_one(plugin, "viatic_platform_blueprint")
        if (
            plugin.platform_blueprint is not None
            and plugin.platform_blueprint.name != f"{name}_platform"
        ):
            raise PluginError(
                f"Plugin '{name}': its platform blueprint is named "
                f"'{plugin.platform_blueprint.name}', it must be named '{name}_platform'"
            )
        plugin.cli_group = self._call_one(plugin, "viatic_cli_group")
        if plugin.cli_group is not None and plugin.cli_group.name != name:
            raise PluginError(
                f"Plugin '{name}': its command group is named '{plugin.cli_group.name}', "
                f"it must be named '{name}'"
            )
        plugin.permissions = tuple(self._call_one(plugin, "viatic_permissions") or ())
        plugin.api_scopes = tuple(self._call_one(plugin, "viatic_api_scopes") or ())
        plugin.settings = tuple(self._call_one(plugin, "viatic_settings_schema") or ())
        plugin.capabilities = dict(self._call_one(plugin, "viatic_capabilities") or {})
        plugin.jobs = tuple(self._call_one(plugin, "viatic_scheduled_jobs") or ())
        plugin.notification_types = tuple(self._call_one(plugin, "viatic_notification_types") or ())
        plugin.outbox_handlers = dict(self._call_one(plugin, "viatic_outbox_handlers") or {})
        prefix = f"{name}."
        for kind, names in (
            ("permission", [p.name for p in plugin.permissions]),
            ("notification type", [t.name for t in plugin.notification_types]),
            ("outbox kind", list(plugin.outbox_handlers)),
            ("job", [f"{name}.{j.id}" for j in plugin.jobs]),
        ):
            for item in names:
                if not item.startswith(prefix):
                    raise PluginError(
                        f"Plugin '{name}': {kind} '{item}' must start with '{prefix}'"
                    )
        # The core's scopes are OpenID Connect's own (openid, profile, email) and its own.
        for scope in plugin.api_scopes:
            if name != CORE and not scope.name.startswith(f"{name}:"):
                raise PluginError(
                    f"Plugin '{name}': API scope '{scope.name}' must start with '{name}:'"
                )

    def _check_requirements(self) -> None:
        for plugin in self.plugins.values():
            missing = [r for r in plugin.info.requires if r not in self.plugins]
            if missing:
                raise PluginError(
                    f"Plugin '{plugin.name}' requires {', '.join(repr(m) for m in missing)}, "
                    "which is not installed"
                )

    @staticmethod
    def _check_unique(kind: str, names: list[str]) -> None:
        seen: set[str] = set()
        for item in names:
            if item in seen:
                raise PluginError(f"The {kind} '{item}' is declared twice")
            seen.add(item)

    # --- what the plugins declared --------------------------------------------------------

    @property
    def permissions(self) -> dict[str, Permission]:
        return {p.name: p for pl in self.plugins.values() for p in pl.permissions}

    def permission_owner(self, permission: str) -> str:
        return permission.split(".", 1)[0]

    @property
    def api_scopes(self) -> dict[str, ApiScope]:
        return {s.name: s for pl in self.plugins.values() for s in pl.api_scopes}

    @property
    def notification_types(self) -> dict[str, NotificationType]:
        return {t.name: t for pl in self.plugins.values() for t in pl.notification_types}

    @property
    def outbox_handlers(self) -> dict[str, Callable[..., None]]:
        return {k: h for pl in self.plugins.values() for k, h in pl.outbox_handlers.items()}

    def providers_of(self, capability: str) -> list[str]:
        return [pl.name for pl in self.plugins.values() if capability in pl.capabilities]

    @property
    def modules(self) -> list[LoadedPlugin]:
        """The plugins a commune admin can see and toggle (all but the core)."""
        return [pl for pl in self.plugins.values() if pl.name != CORE]

    def call_on(self, name: str, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on the plugin ``name`` alone (callbacks, health checks)."""
        return self._call_one(self.plugins[name], hook, **kwargs)

    # --- per-commune calls ----------------------------------------------------------------

    def enabled_for(self, commune: Any) -> frozenset[str]:
        """The names of the plugins enabled for ``commune``, the core and essentials included.

        Cached per commune and ``Commune.config_version``, which every activation change
        bumps: a worker that did not make the change still sees it on its next request.
        """
        key = (commune.id, commune.config_version)
        cached = self._enabled_cache.get(key)
        if cached is not None:
            return cached
        from core.db import db
        from core.models import CommuneModule

        rows = db.scalars(
            select(CommuneModule.plugin).where(
                CommuneModule.commune_id == commune.id, CommuneModule.enabled.is_(True)
            )
        )
        enabled = frozenset(
            {n for n in rows if n in self.plugins}
            | {pl.name for pl in self.plugins.values() if pl.essential}
        )
        with self._lock:
            # Older versions of this commune's entry can never be asked for again.
            for stale in [k for k in self._enabled_cache if k[0] == commune.id]:
                del self._enabled_cache[stale]
            self._enabled_cache[key] = enabled
        return enabled

    def _impls(self, hook: str, enabled: frozenset[str]) -> list[tuple[str, Callable[[dict], Any]]]:
        key = (hook, enabled)
        impls = self._impls_cache.get(key)
        if impls is None:
            caller = getattr(self.pm.hook, hook)
            # pluggy calls the last registered first; keep its order (tryfirst/trylast too).
            impls = [
                (impl.plugin_name, _bind(impl.function, tuple(impl.argnames)))
                for impl in reversed(caller.get_hookimpls())
                if impl.plugin_name in enabled
            ]
            self._impls_cache[key] = impls
        return impls

    def call_for_commune(self, hook: str, commune: Any, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a per-commune hook on the plugins enabled for ``commune``, each in a guard.

        Returns ``(plugin name, result)`` pairs; a plugin whose implementation raised gives
        a ``HookFailure`` instead, after the error is logged with its name.
        """
        kwargs["commune"] = commune
        return self._guarded(
            hook, self.enabled_for(commune), kwargs, f" for commune {commune.insee}"
        )

    def call_global(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a global hook on every installed plugin, each in a guard, as
        ``call_for_commune`` does (for a hook whose answer may change while the portal runs)."""
        return self._guarded(hook, frozenset(self.plugins), kwargs, "")

    def _guarded(
        self, hook: str, names: frozenset[str], kwargs: dict[str, Any], where: str
    ) -> list[tuple[str, Any]]:
        results = []
        for name, call in self._impls(hook, names):
            try:
                results.append((name, call(kwargs)))
            except Exception as exc:
                log.exception("Plugin '%s' failed in %s%s", name, hook, where)
                results.append((name, HookFailure(name, repr(exc))))
        return results


def _bind(function: Callable, argnames: tuple[str, ...]) -> Callable[[dict], Any]:
    """A caller that picks from the hook's keyword arguments the ones ``function`` takes.
    Made once per implementation: per-commune hooks run on every request."""
    if not argnames:
        return lambda _kwargs: function()
    pick = operator.itemgetter(*argnames)
    if len(argnames) == 1:
        return lambda kwargs: function(pick(kwargs))
    return lambda kwargs: function(*pick(kwargs))


def _argnames(function: Callable) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters)
