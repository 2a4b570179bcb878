"""The core's JSON API v1: the signed-in person, their communes and roles, a commune's
members and modules, and their notifications. The same services and rights as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select, update

from core import api, members, rights
from core.api import Schema, operation
from core.db import db, utcnow
from core.i18n import role_label
from core.models import Commune, Notification
from core.rights import login_required, public, requires
from core.views import refuse

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class Me(Schema):
    id: int
    name: str
    email: str
    locale: str | None
    is_platform_admin: bool


class MyCommune(Schema):
    insee: str
    name: str
    role: str
    role_label: str
    is_commune_admin: bool
    permissions: list[str]


class Member(Schema):
    id: int
    name: str
    role: str
    role_label: str
    is_commune_admin: bool


class Module(Schema):
    name: str
    label: str
    version: str
    description: str
    category: str


class NotificationOut(Schema):
    id: int
    type: str
    title: str
    body: str
    url: str | None
    commune_insee: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class Done(Schema):
    updated: int


@bp.get("/me")
@login_required
@operation("La personne connectée", response=Me, tags=["compte"], scopes=["profile"])
def me() -> Any:
    return api.respond(api.dump(Me, g.user))


@bp.get("/me/communes")
@login_required
@operation(
    "Mes communes, mon rôle et mes droits dans chacune",
    response=MyCommune,
    many=True,
    tags=["compte"],
    scopes=["profile"],
)
def my_communes() -> Any:
    rows = []
    for membership in sorted(rights.memberships(g.user).values(), key=lambda m: m.commune.name):
        table = rights.role_permissions(membership.commune)
        rows.append(
            {
                "insee": membership.commune.insee,
                "name": membership.commune.name,
                "role": membership.role,
                "role_label": role_label(membership.role),
                "is_commune_admin": membership.is_commune_admin,
                "permissions": sorted(table.get(membership.role, ())),
            }
        )
    return api.respond(api.dump(MyCommune, rows))


@bp.get("/c/<insee>/membres")
@requires("core.members.view")
@operation(
    "Les membres de la commune",
    response=Member,
    paginated=True,
    tags=["communes"],
    scopes=["communes:read"],
)
def commune_members() -> Any:
    page = api.paginate(members.listing_query(g.commune), scalars=False)
    rows = [
        {
            "id": user.id,
            "name": user.name,
            "role": membership.role,
            "role_label": role_label(membership.role),
            "is_commune_admin": membership.is_commune_admin,
        }
        for user, membership in page.items
    ]
    return api.respond_page(page, api.dump(Member, rows))


@bp.get("/c/<insee>/modules")
@requires("core.view")
@operation(
    "Les modules activés pour la commune",
    response=Module,
    many=True,
    tags=["communes"],
    scopes=["communes:read"],
)
def commune_modules() -> Any:
    registry = current_app.extensions["viatic.plugins"]
    enabled = registry.enabled_for(g.commune)
    rows = [
        {
            "name": plugin.name,
            "label": str(plugin.info.label),
            "version": plugin.info.version,
            "description": str(plugin.info.description),
            "category": plugin.info.category,
        }
        for plugin in sorted(registry.plugins.values(), key=lambda p: p.name)
        if plugin.name in enabled and plugin.name != "core"
    ]
    return api.respond(api.dump(Module, rows))


@bp.get("/notifications")
@login_required
@operation(
    "Mes notifications, les plus récentes d'abord",
    response=NotificationOut,
    paginated=True,
    tags=["notifications"],
    scopes=["notifications"],
    query={"non_lues": {"type": "boolean", "description": "Seulement celles non lues"}},
)
def notifications() -> Any:
    unread_only = request.args.get("non_lues", "false")
    if unread_only not in ("true", "false"):
        refuse(_("« non_lues » vaut true ou false."))
    query = (
        select(Notification, Commune.insee)
        .outerjoin(Commune, Commune.id == Notification.commune_id)
        .where(Notification.user_id == g.user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    if unread_only == "true":
        query = query.where(Notification.read_at.is_(None))
    page = api.paginate(query, scalars=False)
    rows = [_notification(note, insee) for note, insee in page.items]
    return api.respond_page(page, api.dump(NotificationOut, rows))


def _notification(note: Notification, insee: str | None) -> dict[str, Any]:
    return {
        "id": note.id,
        "type": note.type,
        "title": note.title,
        "body": note.body,
        "url": note.url,
        "commune_insee": insee,
        "created_at": note.created_at,
        "read_at": note.read_at,
    }


@bp.post("/notifications/<int:notification_id>/lue")
@login_required
@operation(
    "Marquer une notification comme lue",
    response=Done,
    tags=["notifications"],
    scopes=["notifications"],
)
def mark_read(notification_id: int) -> Any:
    note = db.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.user_id == g.user.id,  # another person's is not found
        )
    )
    if note is None:
        abort(404)
    updated = 0
    if note.read_at is None:
        note.read_at = utcnow()
        updated = 1
    db.commit()
    return api.respond(api.dump(Done, {"updated": updated}))


@bp.post("/notifications/lues")
@login_required
@operation(
    "Marquer toutes mes notifications comme lues",
    response=Done,
    tags=["notifications"],
    scopes=["notifications"],
)
def mark_all_read() -> Any:
    result = db.execute(
        update(Notification)
        .where(Notification.user_id == g.user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.commit()
    return api.respond(api.dump(Done, {"updated": result.rowcount}))


@bp.get("/openapi.json")
@public
def openapi() -> Any:
    return api.respond(api.openapi_document(current_app))


@bp.get("/")
@public
def documentation() -> Any:
    """The API's documentation, readable without JavaScript."""
    document = api.openapi_document(current_app)
    return render_template(
        "api/documentation.html",
        document=document,
        openapi_url=url_for("api.openapi"),
    )
