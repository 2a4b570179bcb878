"""A commune's own pages: dashboard, search, members. Assembled from the enabled modules."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request

from core import members as members_service
from core.plugins import HookFailure
from core.rights import requires
from core.views import guarded_html, has_permission, hook_failed, unavailable

bp = Blueprint("commune", __name__, url_prefix="/c/<insee>")

SEARCH_LIMIT = 10


@bp.get("/")
@requires("core.view")
def dashboard() -> Any:
    registry = current_app.extensions["viatic.plugins"]
    widgets = []
    for plugin, result in registry.call_for_commune(
        "viatic_dashboard_widgets", g.commune, user=g.user
    ):
        label = registry.plugins[plugin].info.label
        if isinstance(result, HookFailure):
            hook_failed(result)
            widgets.append({"title": label, "html": unavailable(), "order": 1000, "plugin": plugin})
            continue
        for widget in result or ():
            if widget.permission and not has_permission(widget.permission):
                continue
            widgets.append(
                {
                    "title": widget.title,
                    "html": guarded_html(plugin, widget.render),
                    "order": widget.order,
                    "plugin": plugin,
                }
            )
    widgets.sort(key=lambda w: (w["order"], str(w["title"])))
    return render_template("commune/dashboard.html", widgets=widgets)


@bp.get("/recherche")
@requires("core.view")
def search() -> Any:
    query = request.args.get("q", "").strip()[:200]
    groups = []
    if query:
        registry = current_app.extensions["viatic.plugins"]
        for plugin, result in registry.call_for_commune(
            "viatic_search", g.commune, user=g.user, query=query, limit=SEARCH_LIMIT
        ):
            label = registry.plugins[plugin].info.label
            if isinstance(result, HookFailure):
                hook_failed(result)
                groups.append({"label": label, "results": [], "failed": True})
            elif result:
                groups.append(
                    {"label": label, "results": list(result)[:SEARCH_LIMIT], "failed": False}
                )
    return render_template("commune/search.html", query=query, groups=groups)


@bp.get("/membres")
@requires("core.members.view")
def members() -> Any:
    return render_template("commune/members.html", rows=members_service.listing(g.commune))
