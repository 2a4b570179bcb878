"""The stable facade for plugins: everything a plugin needs from the core, in one import.

    from core import toolkit

Built-in plugins import the core only through this module, and so should third-party ones:
what is here keeps working across minor versions of Viatic; anything removed goes through a
deprecation first. See docs/plugins.md.
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template
from flask_babel import gettext, lazy_gettext, ngettext

from core import files
from core.api import Schema as ApiSchema
from core.api import operation as api_operation
from core.api import problem
from core.audit import history as audit_history
from core.audit import record as audit
from core.auth import credential_digest
from core.capabilities import (
    VIDEO_FAILED,
    VIDEO_MISSING,
    VIDEO_PROCESSING,
    VIDEO_READY,
    BridgedMessage,
    CalendarSyncProvider,
    CapabilityUnavailable,
    ChatBridgeProvider,
    CourseInfo,
    EnrolmentRefused,
    Learner,
    LmsProvider,
    SettingsRefused,
    VideoProvider,
    VideoUpload,
    capability,
)
from core.connector_log import connector_logger
from core.db import MAX_ID, Base, add_once, db, utcnow
from core.forms import Form
from core.hookspecs import hookimpl
from core.mail import queue as send_email
from core.models import ROLES, Commune, Membership, OutboxMessage, User
from core.notifications import notify
from core.outbox import put as outbox_put
from core.rights import (
    check,
    commune_admin_required,
    commune_admins,
    has_permission,
    is_commune_admin,
    login_required,
    members_with_permission,
    platform_admin_required,
    public,
    requires,
)
from core.settings import decrypt as decrypt_secret
from core.settings import encrypt as encrypt_secret
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
from core.views import refuse, unavailable


def current_user() -> User | None:
    """The signed-in person of this request, or None."""
    return g.get("user")


def current_commune() -> Commune | None:
    """The commune of this request's URL (``/c/<INSEE>/...``), or None."""
    return g.get("commune")


def render(template: str, **context: Any) -> str:
    """Render one of the plugin's templates inside the portal's layout."""
    return render_template(template, **context)


def module_enabled(commune: Commune, plugin: str) -> bool:
    """Whether ``plugin`` is enabled for ``commune`` (say, to gather a person's communes that
    use it; the pages of a disabled module are 404 without asking)."""
    from flask import current_app

    return plugin in current_app.extensions["viatic.plugins"].enabled_for(commune)


def module_settings(commune: Commune, plugin: str) -> dict[str, Any]:
    """The plugin's decrypted settings for ``commune``, defaults filled in."""
    from flask import current_app

    from core.modules import module_row
    from core.settings import current_values

    schema = current_app.extensions["viatic.plugins"].plugins[plugin].settings
    return current_values(schema, module_row(commune, plugin))


def referentiel_themes() -> list[ReferentielTheme]:
    """The themes of the référentiel of the élu's trade, from the plugins that keep one (hook
    ``viatic_referentiel_themes``): none when no such plugin is installed."""
    from flask import current_app

    from core.plugins import HookFailure

    found: list[ReferentielTheme] = []
    for _plugin, result in current_app.extensions["viatic.plugins"].call_global(
        "viatic_referentiel_themes"
    ):
        if not isinstance(result, HookFailure):
            found.extend(result or ())
    return found


__all__ = [
    "MAX_ID",
    "ROLES",
    "VIDEO_FAILED",
    "VIDEO_MISSING",
    "VIDEO_PROCESSING",
    "VIDEO_READY",
    "ApiSchema",
    "ApiScope",
    "Base",
    "BridgedMessage",
    "CalendarSyncProvider",
    "CapabilityUnavailable",
    "ChatBridgeProvider",
    "Commune",
    "CourseInfo",
    "EnrolmentRefused",
    "Form",
    "Health",
    "Job",
    "Learner",
    "LmsProvider",
    "Membership",
    "NavItem",
    "NotificationType",
    "OutboxMessage",
    "Permission",
    "PluginInfo",
    "ReferentielTheme",
    "SearchResult",
    "Setting",
    "SettingsRefused",
    "User",
    "VideoProvider",
    "VideoUpload",
    "Widget",
    "add_once",
    "api_operation",
    "audit",
    "audit_history",
    "capability",
    "check",
    "commune_admin_required",
    "commune_admins",
    "connector_logger",
    "credential_digest",
    "current_commune",
    "current_user",
    "db",
    "decrypt_secret",
    "encrypt_secret",
    "files",
    "gettext",
    "has_permission",
    "hookimpl",
    "is_commune_admin",
    "lazy_gettext",
    "login_required",
    "members_with_permission",
    "module_enabled",
    "module_settings",
    "ngettext",
    "notify",
    "outbox_put",
    "platform_admin_required",
    "problem",
    "public",
    "referentiel_themes",
    "refuse",
    "render",
    "requires",
    "send_email",
    "unavailable",
    "utcnow",
]
