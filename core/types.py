"""The values that plugins hand to the core through the hooks of ``core.hookspecs``.

Plain dataclasses: a plugin builds them, the core reads them. Those returned by per-commune
hooks on every request (``NavItem``, ``Widget``, ``SearchResult``) are not frozen: a frozen
dataclass costs three times as much to build. All are re-exported by ``core.toolkit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from markupsafe import Markup

SettingType = Literal["string", "text", "integer", "boolean", "url", "email", "choice", "secret"]
Scope = Literal["global", "commune"]


@dataclass(frozen=True)
class PluginInfo:
    """What the portal needs to know of a plugin before calling any other hook.

    ``name`` is the plugin's identifier: lower case letters, digits and ``_``; its blueprint,
    its tables, its permissions and its URLs (``/c/<INSEE>/<name>/``) all carry it.
    ``core_version`` is a PEP 440 specifier the running core must satisfy (``">=0.1,<1"``).
    ``provides`` names the capabilities it implements (``"video"``); ``requires`` names the
    plugins that must be installed and enabled with it. ``essential`` plugins are enabled for
    every commune and cannot be disabled. ``migrations`` is the folder of its Alembic branch;
    ``translations`` the folder of its gettext catalogs (``en/LC_MESSAGES/messages.po``).
    ``admin_endpoint`` names a page of its blueprint for commune admins (``"vimeo.connection"``:
    connecting an account, testing it); the modules page links to it, with ``admin_label``,
    while the module is enabled. ``platform_endpoint`` names a page of its platform blueprint
    (``viatic_platform_blueprint``), which the platform admin's menu lists as
    ``platform_label``.
    """

    name: str
    label: str
    version: str
    description: str = ""
    category: str = "outils"
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    core_version: str = ""
    essential: bool = False
    migrations: Path | None = None
    translations: Path | None = None
    admin_endpoint: str = ""
    admin_label: str = ""
    platform_endpoint: str = ""
    platform_label: str = ""


@dataclass(frozen=True)
class Permission:
    """A right a plugin checks; ``name`` is ``<plugin>.<action>``; granted to ``default_roles``
    (a commune admin changes that per role), and with ``commune_admins`` always held by the
    commune's admins too, whatever their role: a duty of running the commune's space, such as
    moderating its messages."""

    name: str
    label: str
    default_roles: tuple[str, ...] = ()
    commune_admins: bool = False


@dataclass(frozen=True)
class ApiScope:
    """An OAuth2 scope of the JSON API: what a token lets an app do. A plugin's are named
    ``<plugin>:<what>`` (``agenda:read``); ``label`` is shown on the consent screen and
    when a person creates a personal access token."""

    name: str
    label: str


@dataclass(frozen=True)
class Setting:
    """One field of a plugin's per-commune settings form.

    ``secret`` values are encrypted at rest and never shown back; ``choices`` are
    ``(value, label)`` pairs for ``type="choice"``.
    """

    name: str
    label: str
    type: SettingType = "string"
    help: str = ""
    required: bool = False
    default: Any = None
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def secret(self) -> bool:
        return self.type == "secret"


@dataclass(slots=True)
class NavItem:
    """An entry of the commune's navigation; ``endpoint`` is a Flask endpoint of the plugin."""

    label: str
    endpoint: str
    order: int = 100
    permission: str | None = None


@dataclass(slots=True)
class Widget:
    """A dashboard card. ``render`` returns its HTML body; it is called inside a guard, so a
    failure shows "Module momentanément indisponible" instead of breaking the dashboard."""

    title: str
    render: Callable[[], str | Markup]
    order: int = 100
    permission: str | None = None


@dataclass(slots=True)
class SearchResult:
    title: str
    url: str
    excerpt: str = ""
    kind: str = ""


@dataclass(frozen=True)
class Job:
    """A scheduled job. ``trigger`` and ``trigger_args`` are APScheduler's (``"interval"``,
    ``{"minutes": 5}``). A ``commune`` job is called once for each commune where the plugin is
    enabled, with that commune as its only argument; a ``global`` job with no argument."""

    id: str
    func: Callable[..., Any]
    trigger: str = "interval"
    trigger_args: dict[str, Any] = field(default_factory=dict)
    scope: Scope = "global"
    # A run longer than this is considered dead and its lock may be taken over.
    max_runtime_seconds: int = 600


@dataclass(frozen=True)
class NotificationType:
    """A kind of notification people may mute; ``email`` says whether it is also e-mailed."""

    name: str
    label: str
    email: bool = True


@dataclass(frozen=True)
class ReferentielTheme:
    """A theme of the référentiel of the élu's trade (``budget-vote``, « Préparation et vote
    du budget », in the domain « Finances et budget »), as a plugin that keeps the
    référentiel offers it to the others to tag what they hold (the Académie's courses)."""

    code: str
    title: str
    domain: str


@dataclass(frozen=True)
class Health:
    """The answer of a plugin's health check for one commune."""

    ok: bool
    message: str = ""
