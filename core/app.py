"""``create_app()``: one Flask app with its database, plugins, guards and portal pages."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel import Locale
from flask import (
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.routing import IntegerConverter

from core import api, auth, federation, oauth2, rights, throttle, tokens
from core import db as database
from core.db import MAX_ID, db
from core.models import Commune
from core.plugins import CORE, LoadedPlugin, PluginError, PluginRegistry
from core.views import refuse, wants_json
from core.views.security import SECOND_FACTOR_REQUIRED

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "ENV": "production",
    "MAIL_FROM": "Viatic <ne-pas-repondre@viatic.localhost>",
    "SMTP_PORT": 25,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "viatic_session",
    "PERMANENT_SESSION_LIFETIME": dt.timedelta(days=14),
    # The cookie is signed again only when it changes, and when the session's last activity
    # is recorded (core.auth.load_user): its 14 days still run from the last visit, give or
    # take a few minutes, without a signature and a Set-Cookie on every response.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    # The guard checks CSRF itself: on every form, but not on an API call with a bearer token,
    # which carries no cookie for a forged request to ride on.
    "WTF_CSRF_CHECK_DEFAULT": False,
    "BABEL_DEFAULT_LOCALE": "fr",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
    "LANGUAGES": ("fr", "en"),
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    # Platform and commune admins must enrol a second factor before anything else.
    "ADMIN_TOTP_REQUIRED": True,
}


def create_app(
    config: dict[str, Any] | None = None,
    plugins: Iterable[object] = (),
    entry_points: bool = True,
) -> Flask:
    """Build the portal. ``config`` overrides the ``VIATIC_*`` environment; ``plugins`` adds
    plugin modules beside those of the ``viatic.plugins`` entry points (tests use both)."""
    instance = Path(os.environ.get("VIATIC_INSTANCE_PATH", "instance")).resolve()
    app = Flask("core", instance_path=str(instance))
    app.url_map.converters["int"] = DatabaseId
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("VIATIC")
    app.config.update(config or {})
    _configure_secrets(app)
    if "DATABASE_URL" not in app.config:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'viatic.db'}"
    app.config["SESSION_COOKIE_SECURE"] = app.config["ENV"] != "development" and not app.testing

    registry = PluginRegistry()
    registry.load(plugins, entry_points=entry_points)
    app.extensions["viatic.plugins"] = registry

    database.init_app(app)
    auth.init_app(app)
    oauth2.init_app(app)
    tokens.init_app(app)
    app.extensions["viatic.oidc_providers"] = federation.environment_providers(app.config)
    throttle.init_app(app)
    # Plugins' catalogs are merged into the core's, so one gettext serves every template.
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        ["translations"]
        + [str(p.info.translations) for p in registry.plugins.values() if p.info.translations]
    )
    Babel(app, locale_selector=_select_locale, timezone_selector=lambda: "Europe/Paris")
    app.extensions["viatic.csrf"] = CSRFProtect(app)

    from core import views

    views.register(app)
    _register_plugin_blueprints(app, registry)
    _install_guards(app, registry)
    return app


class DatabaseId(IntegerConverter):
    """``<int:...>`` in every route, core and plugins: an identifier a database column can
    hold. A larger number is a 404, not a database error."""

    def __init__(self, url_map: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, **kwargs)


def _configure_secrets(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.config["ENV"] != "development" and not app.testing:
        raise RuntimeError(
            "VIATIC_SECRET_KEY is not set. Set it to a long random value "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))").'
        )
    # Development: a key kept in the instance folder, so sessions survive a restart.
    key_file = Path(app.instance_path) / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def _select_locale() -> Locale:
    languages = current_app.config["LANGUAGES"]
    code = "fr"  # and for e-mails sent by the scheduler or the CLI
    if has_request_context():
        user = g.get("user")
        chosen = user.locale if user is not None else None
        if chosen not in languages:
            chosen = session.get("locale")
        if chosen in languages:
            code = chosen
    return _locale(code)


@functools.cache
def _locale(code: str) -> Locale:
    """Babel's parsed locale, once per language rather than once per request (Flask-Babel
    takes a ``Locale`` as it is)."""
    return Locale.parse(code)


def _register_plugin_blueprints(app: Flask, registry: PluginRegistry) -> None:
    for plugin in registry.plugins.values():
        if plugin.blueprint is not None:
            app.register_blueprint(plugin.blueprint, url_prefix=f"/c/<insee>/{plugin.name}")
        if plugin.api_blueprint is not None:
            app.register_blueprint(
                plugin.api_blueprint, url_prefix=f"/api/v1/c/<insee>/{plugin.name}"
            )
        if plugin.platform_blueprint is not None:
            app.register_blueprint(
                plugin.platform_blueprint, url_prefix=f"/admin/modules/{plugin.name}"
            )
            _check_platform_views(app, plugin)
        _check_page(app, plugin, "admin_endpoint", platform=False)
        _check_page(app, plugin, "platform_endpoint", platform=True)


def _check_page(app: Flask, plugin: LoadedPlugin, setting: str, platform: bool) -> None:
    """``PluginInfo.<setting>``, when set, names a page of the plugin's blueprint: of its
    platform blueprint for a platform page, else of its own, among a commune's URLs."""
    endpoint = getattr(plugin.info, setting)
    blueprint = f"{plugin.name}_platform" if platform else plugin.name
    if endpoint and (
        endpoint.split(".", 1)[0] != blueprint
        or endpoint not in app.view_functions
        or (not platform and not app.url_map.is_endpoint_expecting(endpoint, "insee"))
    ):
        what = "platform blueprint" if platform else "blueprint"
        raise PluginError(
            f"Plugin '{plugin.name}': {setting} '{endpoint}' is not a page of its {what}"
        )


def _check_platform_views(app: Flask, plugin: LoadedPlugin) -> None:
    """A plugin's platform pages are the platform admins' alone: each view says so, and no
    other access is accepted (a commune permission means nothing outside a commune)."""
    prefix = f"{plugin.name}_platform."
    for endpoint, view in app.view_functions.items():
        if not endpoint.startswith(prefix) or endpoint.endswith(".static"):
            continue
        access = rights.access_of(view)
        if access is None or access.kind != "platform_admin":
            raise PluginError(
                f"Plugin '{plugin.name}': platform page '{endpoint}' must be declared "
                "toolkit.platform_admin_required"
            )


def plugin_of_blueprint(registry: PluginRegistry, blueprint: str | None) -> str | None:
    if not blueprint:
        return None
    name = blueprint.split(".", 1)[0].removesuffix("_api")
    plugin = registry.plugins.get(name)
    return name if plugin is not None and name != CORE else None


def _install_guards(app: Flask, registry: PluginRegistry) -> None:
    @app.url_value_preprocessor
    def _take_commune(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values and "insee" in values:
            g.commune_insee = values.pop("insee")

    @app.url_defaults
    def _give_commune(endpoint: str, values: dict[str, Any]) -> None:
        # Called for every link of every page: the cheap tests first.
        if "insee" in values or not app.url_map.is_endpoint_expecting(endpoint, "insee"):
            return
        commune = g.get("commune")
        if commune is not None:
            values["insee"] = commune.insee

    @app.before_request
    def _guard() -> Any:
        g.bearer = _bearer()
        g.user = g.bearer.user if g.bearer is not None else auth.load_user()
        g.commune = None
        insee = g.pop("commune_insee", None)
        if insee is not None:
            g.commune = _find_commune(insee)
            if g.commune is None:
                abort(404)
        plugin = plugin_of_blueprint(registry, request.blueprint)
        if plugin is not None and (
            g.commune is None or plugin not in registry.enabled_for(g.commune)
        ):
            abort(404)
        if request.endpoint is None:
            return None  # Flask answers 404 or 405 itself
        refused = _check_access(app)
        if refused is not None:
            return refused
        # After the access check, so that a request without credentials is a 401 first.
        if g.bearer is None and request.method in app.config["WTF_CSRF_METHODS"]:
            app.extensions["viatic.csrf"].protect(apply_exemptions=True)
        return None

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Forms post here only, but browsers check form-action on a form's redirects too:
        # a session opened through an identity provider may be sent on to its logout, and
        # a page may name one more origin its form leads to (``g.form_action_origin``: the
        # app a consent form sends back to).
        form_action = " ".join(
            filter(None, ("'self'", federation.logout_origin(), g.get("form_action_origin")))
        )
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: https:; frame-src https:; "
            f"object-src 'none'; base-uri 'self'; form-action {form_action}; "
            "frame-ancestors 'none'",
        )
        return response


def _find_commune(insee: str) -> Commune | None:
    """The commune of the URL: among the signed-in person's own communes when it is one of
    them (their memberships are loaded anyway, with their communes), else by its code."""
    if g.user is not None:
        for membership in rights.memberships(g.user).values():
            if membership.commune.insee == insee:
                return membership.commune
    return db.scalar(
        select(Commune).options(joinedload(Commune.epci)).where(Commune.insee == insee)
    )


def _bearer() -> tokens.Bearer | None:
    """The token of an API call (``Authorization: Bearer``); a token that is not valid is
    a 401 that says so (RFC 6750). Pages ignore the header: they use the session."""
    header = request.headers.get("Authorization", "")
    if not wants_json() or header[:7].lower() != "bearer ":
        return None
    bearer = tokens.authenticate(header[7:].strip())
    if bearer is None:
        g.bearer_error = "invalid_token"
        refuse(_("Ce jeton n'est pas valable : il a expiré, a été révoqué ou n'existe pas."), 401)
    return bearer


def _check_access(app: Flask) -> Any:
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
        return None
    view = app.view_functions[endpoint]
    access = rights.access_of(view)
    if access is None:
        log.error("Endpoint %s declares no access: denied", endpoint)
        abort(403)
    if access.kind == "public":
        return None
    if g.bearer is not None:
        _check_scopes(view)
    user = g.user
    if user is None:
        if wants_json():
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if auth.requires_second_factor(user) and request.blueprint != "security":
        return _enrol_second_factor_first()
    commune = g.commune
    allowed = {
        "login": True,
        "platform_admin": user.is_platform_admin,
        "commune_admin": commune is not None and rights.is_commune_admin(user, commune),
        "permission": commune is not None
        and access.permission is not None
        and rights.has_permission(user, commune, access.permission),
    }[access.kind]
    if not allowed:
        abort(403)
    return None


def _check_scopes(view: Any) -> None:
    """A token reaches an endpoint that declares its scopes, and only with all of them."""
    declared = api.operation_of(view)
    missing = set(declared.scopes) - g.bearer.scopes if declared is not None else {"?"}
    if missing:
        g.bearer_error = "insufficient_scope"
        g.bearer_scope = " ".join(sorted(declared.scopes)) if declared is not None else ""
        refuse(
            _(
                "Ce jeton ne permet pas cette action : il lui manque la portée %(scopes)s.",
                scopes=", ".join(sorted(missing)),
            )
            if declared is not None
            else _("Ce point d'accès n'accepte pas de jeton : utilisez le portail."),
            403,
        )


def _enrol_second_factor_first() -> Any:
    """An admin without a second factor is sent to enrol one (an API call is refused)."""
    if wants_json():
        refuse(str(SECOND_FACTOR_REQUIRED), 403)
    return redirect(url_for("security.index"))


__all__ = ["PluginError", "create_app"]
