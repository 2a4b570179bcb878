"""Rights: what each view requires, and who has which permission in which commune.

Deny by default: every view declares its access with one of the decorators below, and the
core's ``before_request`` guard refuses any endpoint that declares nothing. The checks are
made there, once, for the core and every plugin alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flask import current_app, g
from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import Forbidden

from core import audit
from core.db import db
from core.models import ROLES, Commune, Membership, RolePermission, User
from core.types import Permission

View = TypeVar("View", bound=Callable[..., Any])
AccessKind = Literal["public", "login", "permission", "commune_admin", "platform_admin"]


@dataclass(frozen=True)
class Access:
    kind: AccessKind
    permission: str | None = None


ACCESS_ATTRIBUTE = "_viatic_access"


def _declare(access: Access) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        setattr(view, ACCESS_ATTRIBUTE, access)
        return view

    return decorator


def public(view: View) -> View:
    """Anyone may open this view, signed in or not."""
    return _declare(Access("public"))(view)


def login_required(view: View) -> View:
    """Any signed-in person may open this view (their own account pages)."""
    return _declare(Access("login"))(view)


def requires(permission: str) -> Callable[[View], View]:
    """A member of the commune in the URL whose role has ``permission`` there."""
    return _declare(Access("permission", permission))


def commune_admin_required(view: View) -> View:
    """A commune admin of the commune in the URL (or a platform admin)."""
    return _declare(Access("commune_admin"))(view)


def platform_admin_required(view: View) -> View:
    """A platform admin."""
    return _declare(Access("platform_admin"))(view)


def access_of(view: Callable[..., Any]) -> Access | None:
    return getattr(view, ACCESS_ATTRIBUTE, None)


# --- Who has what -----------------------------------------------------------------------------


def memberships(user: User) -> dict[int, Membership]:
    """Every membership of ``user`` with its commune, by commune id, for the rights checks
    and the header's commune switcher. The signed-in user's come with them
    (``auth.SIGNED_IN_USER``); anyone else's cost one query."""
    cache = g.setdefault("_viatic_memberships", {})
    if user.id not in cache:
        if "memberships" in inspect(user).unloaded:
            rows = db.scalars(
                select(Membership)
                .options(joinedload(Membership.commune).joinedload(Commune.epci))
                .where(Membership.user_id == user.id)
            )
        else:
            rows = user.memberships
        cache[user.id] = {m.commune_id: m for m in rows}
    return cache[user.id]


def membership_of(user: User | None, commune: Commune | None) -> Membership | None:
    if user is None or commune is None:
        return None
    return memberships(user).get(commune.id)


def role_permissions(commune: Commune) -> dict[str, frozenset[str]]:
    """The commune's role→permissions table: the declared defaults, then its own changes.

    Cached in the process per commune and ``Commune.config_version``, which every change of
    the table bumps, so another worker's change is seen on the next request.
    """
    cache = current_app.extensions.setdefault("viatic.role_permissions", {})
    key = (commune.id, commune.config_version)
    table = cache.get(key)
    if table is not None:
        return table
    grants: dict[str, set[str]] = {role: set() for role in ROLES}
    for permission in current_app.extensions["viatic.plugins"].permissions.values():
        for role in permission.default_roles:
            grants[role].add(permission.name)
    changes = db.scalars(select(RolePermission).where(RolePermission.commune_id == commune.id))
    for change in changes:
        if change.role not in grants:
            continue
        if change.granted:
            grants[change.role].add(change.permission)
        else:
            grants[change.role].discard(change.permission)
    table = {role: frozenset(names) for role, names in grants.items()}
    for stale in [k for k in list(cache) if k[0] == commune.id]:
        cache.pop(stale, None)
    cache[key] = table
    return table


def set_role_permission(commune: Commune, role: str, permission: Permission, granted: bool) -> None:
    """Grant or withdraw ``permission`` for ``role`` in ``commune`` (audited). A choice equal
    to the declared default is stored as no change at all."""
    existing = db.scalar(
        select(RolePermission).where(
            RolePermission.commune_id == commune.id,
            RolePermission.role == role,
            RolePermission.permission == permission.name,
        )
    )
    if granted == (role in permission.default_roles):
        if existing is not None:
            db.delete(existing)
    elif existing is None:
        db.add(
            RolePermission(
                commune_id=commune.id, role=role, permission=permission.name, granted=granted
            )
        )
    else:
        existing.granted = granted
    commune.config_version += 1
    audit.record(
        "permission.granted" if granted else "permission.withdrawn",
        commune=commune,
        module=permission.name.split(".", 1)[0],
        object_type="permission",
        object_id=permission.name,
        details={"role": role},
    )


def is_commune_admin(user: User | None, commune: Commune | None) -> bool:
    if user is None:
        return False
    if user.is_platform_admin:
        return True
    membership = membership_of(user, commune)
    return membership is not None and membership.is_commune_admin


def has_permission(user: User | None, commune: Commune | None, permission: str) -> bool:
    """Whether ``user`` has ``permission`` in ``commune`` (platform admins have them all)."""
    if user is None or commune is None or not user.is_active:
        return False
    if user.is_platform_admin:
        return True
    membership = membership_of(user, commune)
    if membership is None:
        return False
    if permission in role_permissions(commune).get(membership.role, ()):
        return True
    return membership.is_commune_admin and permission in _admin_permissions()


def _admin_permissions() -> frozenset[str]:
    return current_app.extensions["viatic.plugins"].admin_permissions


def commune_admins(commune: Commune) -> list[User]:
    """The active admins of ``commune``, by name (to tell them what needs their hand)."""
    return _active_members(commune, Membership.is_commune_admin.is_(True))


def members_with_permission(commune: Commune, permission: str) -> list[User]:
    """The active members of ``commune`` who have ``permission`` there (to notify them): by
    their role, or as the commune's admins for a permission declared ``commune_admins``."""
    roles = [role for role, granted in role_permissions(commune).items() if permission in granted]
    holds = Membership.role.in_(roles)
    if permission in _admin_permissions():
        holds = or_(holds, Membership.is_commune_admin.is_(True))
    elif not roles:
        return []
    return _active_members(commune, holds)


def _active_members(commune: Commune, condition: Any) -> list[User]:
    """The active members of ``commune`` whose membership meets ``condition``, by name."""
    return list(
        db.scalars(
            select(User)
            .join(Membership)
            .where(Membership.commune_id == commune.id, condition, User.is_active.is_(True))
            .order_by(User.name)
        )
    )


def check(permission: str, commune: Commune | None = None, user: User | None = None) -> None:
    """Raise 403 unless the current (or given) user has ``permission`` in the commune.

    For service functions, so that a rule holds whichever page or API calls them.
    """
    user = user if user is not None else g.get("user")
    commune = commune if commune is not None else g.get("commune")
    if not has_permission(user, commune, permission):
        raise Forbidden()
