"""The portal's own pages, and what every page's layout needs."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from flask import Flask, g, render_template, request
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, default_exceptions

from core import rights
from core.db import db
from core.i18n import role_label
from core.models import Commune
from core.plugins import HookFailure

log = logging.getLogger(__name__)

CATALOG = "_viatic_catalog"  # the template context's key for the request's translations


def register(app: Flask) -> None:
    from core.views import (
        account,
        admin,
        api,
        auth,
        commune,
        federation,
        oauth,
        platform,
        public,
        security,
        tokens,
    )

    for module in (
        public,
        auth,
        federation,
        commune,
        admin,
        platform,
        account,
        security,
        tokens,
        api,
        oauth,
    ):
        app.register_blueprint(module.bp)
    app.context_processor(_layout_context)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.add_extension("jinja2.ext.do")
    # Templates call gettext a score of times a page: the layout's context carries the
    # request's catalog, looked up once.
    app.jinja_env.install_gettext_callables(
        gettext=pass_context(lambda context, message: _catalog(context).ugettext(message)),
        ngettext=pass_context(
            lambda context, singular, plural, n: _catalog(context).ungettext(singular, plural, n)
        ),
        newstyle=True,
    )
    app.jinja_env.globals.update(
        role_label=role_label,
        has_permission=has_permission,
        get_locale=get_locale,
        platform_pages=platform_pages,
    )


def _catalog(context: Context) -> Any:
    """The translations of a template's request: from its context (``_layout_context``), or
    looked up for a template rendered without it (a macro imported without context)."""
    catalog = context.get(CATALOG)
    return catalog if catalog is not None else get_translations()


def has_permission(permission: str) -> bool:
    """Whether the person of this request has ``permission`` in its commune."""
    return rights.has_permission(g.get("user"), g.get("commune"), permission)


def platform_pages() -> list[tuple[str, str]]:
    """The plugins' pages in the platform admin's menu: ``(endpoint, label)`` by label."""
    from flask import current_app

    infos = [p.info for p in current_app.extensions["viatic.plugins"].plugins.values()]
    return sorted(
        (
            (i.platform_endpoint, str(i.platform_label or i.label))
            for i in infos
            if i.platform_endpoint
        ),
        key=lambda page: page[1],
    )


def my_communes() -> list[Commune]:
    user = g.get("user")
    if user is None:
        return []
    return sorted((m.commune for m in rights.memberships(user).values()), key=lambda c: c.name)


def navigation() -> list[dict[str, Any]]:
    """The commune's navigation, assembled from the enabled modules' hooks."""
    from flask import current_app, url_for

    commune = g.get("commune")
    if commune is None:
        return []
    registry = current_app.extensions["viatic.plugins"]
    items = []
    for plugin, result in registry.call_for_commune(
        "viatic_nav_items", commune, user=g.get("user")
    ):
        if isinstance(result, HookFailure):
            hook_failed(result)
            continue
        for item in result or ():
            if item.permission and not has_permission(item.permission):
                continue
            try:
                url = url_for(item.endpoint)
            except Exception:
                log.exception("Plugin '%s' gave a nav item with a bad endpoint", plugin)
                continue
            items.append({"label": item.label, "url": url, "order": item.order, "plugin": plugin})
    items.sort(key=lambda i: (i["order"], str(i["label"])))
    return items


def _layout_context() -> dict[str, Any]:
    user = g.get("user")
    return {
        CATALOG: get_translations(),
        "current_user": user,
        "commune": g.get("commune"),
        "my_communes": my_communes,
        "navigation": navigation,
        "unread_notifications": g.get("unread_notifications", 0),
        "is_commune_admin": rights.is_commune_admin(user, g.get("commune")),
    }


def wants_json() -> bool:
    """API requests get their errors as JSON, pages as a page."""
    return request.path.startswith("/api/")


def _error_page(status: int, title: str, message: str) -> Any:
    if wants_json():
        from core import api

        return api.problem(status, title, message, headers=_bearer_challenge(status))
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _bearer_challenge(status: int) -> dict[str, str]:
    """``WWW-Authenticate`` of an API refusal (RFC 6750): how to authenticate, and what was
    wrong with the token given, if any."""
    error = g.get("bearer_error")
    if status not in (401, 403) or (status == 403 and error is None):
        return {}
    challenge = 'Bearer realm="viatic"'
    if error is not None:
        challenge += f', error="{error}"'
    if g.get("bearer_scope"):
        challenge += f', scope="{g.bearer_scope}"'
    return {"WWW-Authenticate": challenge}


def _csrf_error(_exc: CSRFError) -> Any:
    return _error_page(
        400,
        _("Formulaire expiré"),
        _(
            "Le formulaire a expiré ou n'a pas été envoyé depuis cette page. "
            "Revenez en arrière, rechargez la page et recommencez : rien n'a été enregistré."
        ),
    )


MESSAGES = {
    400: lambda: (_("Demande incorrecte"), _("La demande n'a pas pu être comprise.")),
    401: lambda: (_("Connexion nécessaire"), _("Connectez-vous pour accéder à cette page.")),
    403: lambda: (
        _("Accès refusé"),
        _("Vous n'avez pas les droits nécessaires pour accéder à cette page."),
    ),
    404: lambda: (
        _("Page introuvable"),
        _("Cette page n'existe pas, ou ce module n'est pas activé pour cette commune."),
    ),
    405: lambda: (_("Méthode non autorisée"), _("Cette action n'est pas possible ici.")),
    413: lambda: (_("Fichier trop volumineux"), _("Le fichier envoyé dépasse la taille permise.")),
    429: lambda: (_("Trop de tentatives"), _("Patientez quelques minutes avant de réessayer.")),
}


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    if status < 400:
        return exc
    title, message = MESSAGES.get(status, lambda: (_("Erreur"), _("Une erreur est survenue.")))()
    if getattr(exc, "viatic_message", False):
        message = exc.description
    return _error_page(status, title, message)


def refuse(message: str, status: int = 400) -> NoReturn:
    """Stop the request with a 4xx page (JSON under /api/) that shows ``message``, which
    should tell the person, in French, what to do."""
    error = default_exceptions[status](description=message)
    error.viatic_message = True  # type: ignore[attr-defined]
    raise error


def _unexpected_error(exc: Exception) -> Any:
    log.exception("Unexpected error on %s", request.path)
    db.rollback()
    return _error_page(
        500,
        _("Erreur inattendue"),
        _("Une erreur inattendue est survenue ; elle a été enregistrée. Réessayez plus tard."),
    )


def guarded_html(plugin: str, render: Any) -> Markup:
    """Render a plugin's piece of page; its failure shows a notice instead of a 500."""
    try:
        return Markup(render())
    except Exception as exc:
        log.exception("Plugin '%s' failed to render a widget", plugin)
        db.rollback()
        hook_failed(HookFailure(plugin, repr(exc)))
        return unavailable()


def hook_failed(failure: HookFailure) -> None:
    """Show a plugin's failure on the commune admin's modules page (it is already logged)."""
    from core import modules

    if g.get("commune") is not None and failure.plugin != "core":
        modules.record_error(g.commune.id, failure.plugin, failure.error, "page")


def unavailable() -> Markup:
    return Markup('<p class="notice notice--warning" role="status">{}</p>').format(
        _("Module momentanément indisponible.")
    )
