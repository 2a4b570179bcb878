"""The CalDAV sync: connecting a calendar, pushing local changes, pulling remote ones.

Push. The agenda tells the provider which UIDs changed (``queue``, inside the transaction
of the change); one outbox message per connection and UID is queued, and ``deliver`` sends
the UID's current state when the outbox runs it: the series and its changed occurrences as
one resource, written with ``If-Match`` (or ``If-None-Match: *`` for a new one), never
blindly. Delivering twice is harmless: a state already sent is skipped (its digest), and a
create whose answer was lost finds its own version on the server. While the server is down
the message fails and the outbox tries again later; nothing is lost.

Pull. ``pull`` asks the collection for its sync-token (one request when nothing changed),
then for the changes since the last token (RFC 6578), fetches the changed resources in
batches and applies them through the agenda's ``services.apply_remote``. Those changes are
not pushed back (``APPLIED``).

Conflicts. Both sides changed the same event since they were last in step (a 412 on push,
or a remote change arriving while the local rows are newer than the last agreed version):
the most recent change wins — the remote LAST-MODIFIED (or DTSTAMP) against the local
``updated_at`` — and the other version goes to the audit log, whole. A deletion carries no
date in CalDAV: an event changed on one side and deleted on the other is kept, changed
(nothing is lost), and the deletion is recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from connectors.caldav import (
    CalDavClient,
    Forbidden,
    NotACalendar,
    PreconditionFailed,
    SyncTokenExpired,
    WrongCredentials,
    timed_out,
)
from connectors.http import ConnectorError, ConnectorUnavailable
from connectors.http import Timeout as HttpTimeout
from core import toolkit
from core.toolkit import gettext as _
from plugins.agenda import ics, ics_import
from plugins.agenda import services as agenda
from plugins.agenda.models import Calendar, Event
from plugins.caldav.models import Connection, Resource

PLUGIN = "caldav"
PUSH = "caldav.push"
ORIGIN = "CalDAV"
# The connection test waits less than a sync: a person is looking at the page.
TEST_TIMEOUT: HttpTimeout = (5.0, 10.0)
SYNC_TIMEOUT: HttpTimeout = (5.0, 30.0)
AUDIT_TEXT_MAX = 20_000
CHUNK = 500

# The UIDs whose remote version was written here in the session's transaction: the agenda
# reports them at the commit like any change, and they must not be pushed back.
APPLIED = "caldav.applied_uids"


class ConnectError(Exception):
    """The connection cannot be made; ``field`` is the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def explain(error: ConnectorError) -> tuple[str, str]:
    """The form field at fault and a sentence for the commune admin."""
    if isinstance(error, WrongCredentials):
        return "password", _("Le serveur a refusé l'identifiant ou le mot de passe : vérifiez-les.")
    if isinstance(error, Forbidden):
        return "url", _(
            "Le serveur refuse l'accès de ce compte à cette adresse : vérifiez l'adresse et "
            "les droits du compte."
        )
    if isinstance(error, NotACalendar):
        return "url", _(
            "Cette adresse ne mène pas à un agenda CalDAV. Donnez l'adresse de l'agenda "
            "lui-même (par exemple https://exemple.fr/dav/calendars/mairie/conseil/)."
        )
    if timed_out(error):
        return "url", _(
            "Le serveur n'a pas répondu à temps : vérifiez l'adresse ou réessayez plus tard."
        )
    if isinstance(error, ConnectorUnavailable):
        return "url", _("Le serveur est injoignable : vérifiez l'adresse ou réessayez plus tard.")
    return "url", _("Le serveur a refusé la demande : vérifiez l'adresse de l'agenda.")


# --- Connections ------------------------------------------------------------------------------


def connections(commune: toolkit.Commune) -> list[Connection]:
    return list(
        toolkit.db.scalars(
            select(Connection).where(Connection.commune_id == commune.id).order_by(Connection.id)
        )
    )


def get_connection(commune: toolkit.Commune, connection_id: int) -> Connection:
    connection = toolkit.db.get(Connection, connection_id)
    if connection is None or connection.commune_id != commune.id:
        raise NotFound()
    return connection


def connection_of(calendar: Calendar) -> Connection | None:
    return toolkit.db.scalar(select(Connection).where(Connection.calendar_id == calendar.id))


def client(
    commune: toolkit.Commune,
    url: str,
    username: str,
    password: str,
    timeout: HttpTimeout = SYNC_TIMEOUT,
    retries: int = 2,
) -> CalDavClient:
    return CalDavClient(
        url,
        username,
        password,
        timeout=timeout,
        retries=retries,
        on_call=toolkit.connector_logger(commune),
    )


def client_of(connection: Connection, commune: toolkit.Commune) -> CalDavClient:
    password = toolkit.decrypt_secret(connection.password) or ""
    return client(commune, connection.url, connection.username, password)


def test(commune: toolkit.Commune, url: str, username: str, password: str) -> str:
    """Try the address and the account; returns the remote calendar's name, or raises
    ``ConnectError`` naming the field at fault."""
    remote = client(commune, url, username, password, timeout=TEST_TIMEOUT, retries=0)
    try:
        return remote.info(retries=0).name
    except ConnectorError as error:
        field, message = explain(error)
        raise ConnectError(field, message) from None
    finally:
        remote.close()


def connect(
    commune: toolkit.Commune,
    user: toolkit.User,
    calendar: Calendar,
    url: str,
    username: str,
    password: str | None,
) -> Connection:
    """Connect ``calendar`` (or change its connection) after a successful test. An empty
    password keeps the stored one. The calendar's events are queued for the server."""
    if calendar.commune_id != commune.id:
        raise NotFound()
    connection = connection_of(calendar)
    if not password:
        if connection is None:
            raise ConnectError("password", _("Indiquez le mot de passe du compte."))
        password = toolkit.decrypt_secret(connection.password) or ""
    test(commune, url, username, password)
    before = None
    if connection is None:
        connection = Connection(commune_id=commune.id, calendar_id=calendar.id)
        toolkit.db.add(connection)
    else:
        before = {"url": connection.url, "username": connection.username}
        if connection.url != url:  # another collection: start over
            connection.sync_token = None
            toolkit.db.flush()
            for resource in _resources(connection):
                toolkit.db.delete(resource)
    connection.url, connection.username = url, username
    connection.password = toolkit.encrypt_secret(password)
    connection.last_error = None
    toolkit.db.flush()
    toolkit.audit(
        "caldav.connected" if before is None else "caldav.connection_changed",
        commune=commune,
        module=PLUGIN,
        object_type="calendar",
        object_id=calendar.id,
        details={"url": url, "username": username, **({"before": before} if before else {})},
        actor=user,
    )
    uids = toolkit.db.scalars(
        select(Event.uid).where(Event.calendar_id == calendar.id).distinct()
    ).all()
    _queue_for(connection, commune, set(uids))
    return connection


def disconnect(commune: toolkit.Commune, user: toolkit.User, connection: Connection) -> None:
    """Stop syncing; the events stay on both sides."""
    toolkit.audit(
        "caldav.disconnected",
        commune=commune,
        module=PLUGIN,
        object_type="calendar",
        object_id=connection.calendar_id,
        details={"url": connection.url, "username": connection.username},
        actor=user,
    )
    toolkit.db.delete(connection)


def _resources(connection: Connection) -> list[Resource]:
    return list(toolkit.db.scalars(select(Resource).where(Resource.connection_id == connection.id)))


def _resource(connection: Connection, uid: str) -> Resource | None:
    return toolkit.db.scalar(
        select(Resource).where(Resource.connection_id == connection.id, Resource.uid == uid)
    )


# --- Push -------------------------------------------------------------------------------------


def queue(commune: toolkit.Commune, uids: Iterable[str]) -> None:
    """Queue the delivery of the events ``uids`` to each connection that has them, here or
    on its server. Called by the agenda within the transaction of the change."""
    wanted = set(uids) - toolkit.db.info.pop(APPLIED, set())
    if not wanted:
        return
    for connection in connections(commune):
        _queue_for(connection, commune, wanted)


def _queue_for(connection: Connection, commune: toolkit.Commune, uids: set[str]) -> None:
    ordered = sorted(uids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        here = toolkit.db.scalars(
            select(Event.uid).where(
                Event.calendar_id == connection.calendar_id, Event.uid.in_(chunk)
            )
        ).all()
        there = toolkit.db.scalars(
            select(Resource.uid).where(
                Resource.connection_id == connection.id, Resource.uid.in_(chunk)
            )
        ).all()
        for uid in sorted({*here, *there}):
            toolkit.outbox_put(PUSH, {"connection": connection.id, "uid": uid}, commune=commune)


def deliver(message: toolkit.OutboxMessage) -> None:
    """The outbox handler: bring the server's copy of one UID to its state here."""
    toolkit.db.info.pop(APPLIED, None)  # left by a transaction rolled back
    connection = toolkit.db.get(Connection, message.payload["connection"])
    if connection is None:  # disconnected since: nothing to send
        return
    commune = toolkit.db.get(toolkit.Commune, connection.commune_id)
    remote = client_of(connection, commune)
    try:
        _push(connection, commune, remote, message.payload["uid"], message.created_at)
    finally:
        remote.close()


def _rows(connection: Connection, uid: str) -> list[Event]:
    """The local rows of ``uid`` in the connected calendar, the series first."""
    return list(
        toolkit.db.scalars(
            select(Event)
            .where(Event.calendar_id == connection.calendar_id, Event.uid == uid)
            .order_by(Event.recurrence_id)
        )
    )


def _ics(rows: list[Event]) -> bytes:
    """One CalDAV resource: the series (or single event) and its changed occurrences."""
    cal = icalendar.Calendar()
    cal.add("prodid", ics.PRODID)
    cal.add("version", "2.0")
    cal.add_component(ics.europe_paris())
    for row in rows:
        cal.add_component(ics.vevent(row))
    return cal.to_ical()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _local_stamp(rows: list[Event]) -> dt.datetime | None:
    return max((row.updated_at for row in rows), default=None)


def _remote_stamp(data: str) -> dt.datetime | None:
    """When the remote version was last changed: the latest LAST-MODIFIED (or DTSTAMP) of
    its components."""
    stamps = []
    for component in icalendar.Calendar.from_ical(data).walk("VEVENT"):
        for name in ("LAST-MODIFIED", "DTSTAMP"):
            if name in component:
                value = component.decoded(name)
                if isinstance(value, dt.datetime):
                    stamps.append(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
                    break
    return max(stamps, default=None)


def _in_step(
    connection: Connection, uid: str, href: str, etag: str, resource: Resource | None
) -> Resource:
    """Remember that both sides now hold the same version of ``uid``."""
    toolkit.db.flush()
    rows = _rows(connection, uid)
    if resource is None:
        resource = Resource(connection_id=connection.id, uid=uid)
        toolkit.db.add(resource)
    resource.href, resource.etag = href, etag
    resource.digest = _digest(_ics(rows)) if rows else ""
    resource.local_stamp = _local_stamp(rows)
    return resource


def _push(
    connection: Connection,
    commune: toolkit.Commune,
    remote: CalDavClient,
    uid: str,
    queued_at: dt.datetime,
) -> None:
    resource = _resource(connection, uid)
    rows = _rows(connection, uid)
    if not rows:
        if resource is not None:
            _push_deletion(connection, commune, remote, resource, queued_at)
        return
    data = _ics(rows)
    if resource is not None and resource.digest == _digest(data):
        return  # the server has this version already
    href = resource.href if resource is not None else remote.href_for(f"{uid}.ics")
    try:
        etag = remote.put(href, data, resource.etag if resource is not None else None)
    except PreconditionFailed:
        theirs = remote.get(href)
        if theirs is None:  # deleted there meanwhile: the change made here is kept
            _conflict(commune, connection, uid, kept="local", lost=None, deleted="remote")
            etag = remote.put(href, data, None)
        elif _same_version(theirs.data, rows):  # our own write, whose answer was lost
            etag = theirs.etag
        elif _newer(theirs.data, rows):
            _conflict(commune, connection, uid, kept="remote", lost=data.decode())
            _apply(connection, commune, uid, theirs.data)
            _in_step(connection, uid, href, theirs.etag, resource)
            return
        else:
            _conflict(commune, connection, uid, kept="local", lost=theirs.data)
            etag = remote.put(href, data, theirs.etag)
    if not etag:  # the server did not say: ask
        found = remote.get(href)
        etag = found.etag if found is not None else ""
    _in_step(connection, uid, href, etag, resource)


def _push_deletion(
    connection: Connection,
    commune: toolkit.Commune,
    remote: CalDavClient,
    resource: Resource,
    deleted_at: dt.datetime,
) -> None:
    try:
        remote.delete(resource.href, resource.etag)
    except PreconditionFailed:
        theirs = remote.get(resource.href)
        if theirs is not None:
            # Changed there after we last agreed: that change is kept, the deletion recorded.
            _conflict(commune, connection, resource.uid, kept="remote", lost=None, deleted="local")
            _apply(connection, commune, resource.uid, theirs.data)
            _in_step(connection, resource.uid, resource.href, theirs.etag, resource)
            return
    toolkit.db.delete(resource)


def _same_version(data: str, rows: list[Event]) -> bool:
    """Whether the remote resource says what the local rows say (servers rewrite PRODID
    and the like, so the texts are compared as events, not as bytes)."""
    try:
        return _essence(data.encode()) == _essence(_ics(rows))
    except ics_import.IcsError:
        return False


def _essence(data: bytes) -> list[tuple]:
    return sorted(
        (
            i.uid,
            i.recurrence_id,
            i.title,
            i.place,
            i.description,
            i.start,
            i.end,
            i.rrule or "",
            tuple(i.exdates),
            i.private,
        )
        for i in ics_import.read(data)
    )


def _newer(data: str, rows: list[Event]) -> bool:
    """Whether the remote version was changed after the local one."""
    local = _local_stamp(rows)
    theirs = _remote_stamp(data)
    if theirs is None or local is None:
        return local is None
    return theirs > local.replace(microsecond=0)


def _conflict(
    commune: toolkit.Commune,
    connection: Connection,
    uid: str,
    kept: str,
    lost: str | None,
    deleted: str | None = None,
) -> None:
    """The audit record of a conflict: which side was kept, and the other version."""
    toolkit.audit(
        "caldav.conflict",
        commune=commune,
        module=PLUGIN,
        object_type="calendar",
        object_id=connection.calendar_id,
        details={
            "uid": uid,
            "kept": kept,
            "deleted_on": deleted,
            "discarded": (lost or "")[:AUDIT_TEXT_MAX],
        },
        actor_label=ORIGIN,
    )


# --- Pull -------------------------------------------------------------------------------------


@dataclass
class PullResult:
    changed: int = 0
    removed: int = 0
    skipped: int = 0


def _apply(connection: Connection, commune: toolkit.Commune, uid: str, data: str | None) -> None:
    """Write a remote version (None: its deletion) into the connected calendar."""
    incoming = [] if data is None else [i for i in ics_import.read(data.encode()) if i.uid == uid]
    toolkit.db.info.setdefault(APPLIED, set()).add(uid)
    agenda.apply_remote(commune, connection.calendar, uid, incoming, ORIGIN)
    toolkit.db.flush()


def pull(connection: Connection, commune: toolkit.Commune) -> PullResult:
    """Bring the remote changes since the last pull into the calendar. The caller commits
    (or rolls back: the token is saved with the changes, so a failed pull starts again)."""
    result = PullResult()
    remote = client_of(connection, commune)
    try:
        info = remote.info()
        if connection.sync_token and info.sync_token == connection.sync_token:
            connection.last_sync_at, connection.last_error = toolkit.utcnow(), None
            return result
        full = connection.sync_token is None
        try:
            changes = remote.changes(connection.sync_token)
        except SyncTokenExpired:
            changes, full = remote.changes(None), True
        known = {resource.href: resource for resource in _resources(connection)}
        wanted = [
            href
            for href, etag in changes.changed.items()
            if href not in known or known[href].etag != etag
        ]
        for found in remote.fetch(wanted):
            if _take(connection, commune, found.href, found.etag, found.data, known):
                result.changed += 1
            else:
                result.skipped += 1
        gone = set(changes.removed)
        if full:  # a full listing names what exists: the rest was deleted there
            gone |= {href for href in known if href not in changes.changed}
        for href in sorted(gone & known.keys()):
            _take_deletion(connection, commune, known[href])
            result.removed += 1
    finally:
        remote.close()
    connection.sync_token = changes.token
    connection.last_sync_at, connection.last_error = toolkit.utcnow(), None
    return result


def _take(
    connection: Connection,
    commune: toolkit.Commune,
    href: str,
    etag: str,
    data: str,
    known: dict[str, Resource],
) -> bool:
    """Apply one changed remote resource; False when it cannot be read (it stays there)."""
    try:
        uids = {item.uid for item in ics_import.read(data.encode())}
    except ics_import.IcsError:
        return False
    if len(uids) != 1:  # RFC 4791 §4.1: one UID per resource
        return False
    uid = uids.pop()
    resource = known.get(href) or _resource(connection, uid)
    rows = _rows(connection, uid)
    if _changed_here(rows, resource) and not _same_version(data, rows):
        if not _newer(data, rows):
            # Ours is more recent: kept, and sent over the remote one (its push follows).
            _conflict(commune, connection, uid, kept="local", lost=data)
            resource = _in_step(connection, uid, href, etag, resource)
            resource.digest = ""
            toolkit.outbox_put(PUSH, {"connection": connection.id, "uid": uid}, commune=commune)
            return True
        _conflict(commune, connection, uid, kept="remote", lost=_ics(rows).decode())
    _apply(connection, commune, uid, data)
    _in_step(connection, uid, href, etag, resource)
    return True


def _changed_here(rows: list[Event], resource: Resource | None) -> bool:
    """Whether the local rows changed since both sides last agreed (or never agreed)."""
    if not rows:
        return False
    if resource is None or resource.local_stamp is None:
        return True
    stamp = _local_stamp(rows)
    return stamp is not None and stamp > resource.local_stamp


def _take_deletion(connection: Connection, commune: toolkit.Commune, resource: Resource) -> None:
    rows = _rows(connection, resource.uid)
    if _changed_here(rows, resource):
        # Changed here since: kept, and sent again as a new resource.
        _conflict(commune, connection, resource.uid, kept="local", lost=None, deleted="remote")
        toolkit.db.delete(resource)
        toolkit.db.flush()
        toolkit.outbox_put(
            PUSH, {"connection": connection.id, "uid": resource.uid}, commune=commune
        )
        return
    _apply(connection, commune, resource.uid, None)
    toolkit.db.delete(resource)


def sync_commune(commune: toolkit.Commune) -> None:
    """The scheduled job: pull every connection of the commune, each in its transaction."""
    for connection_id in [c.id for c in connections(commune)]:
        sync_now(commune, toolkit.db.get(Connection, connection_id))


def sync_now(commune: toolkit.Commune, connection: Connection) -> PullResult | None:
    """Pull one connection and commit; on failure, roll back and keep the reason for the
    commune admin. Returns None when it failed."""
    connection_id = connection.id
    toolkit.db.info.pop(APPLIED, None)  # left by a transaction rolled back
    try:
        result = pull(connection, commune)
    except ConnectorError as error:
        toolkit.db.rollback()
        toolkit.db.info.pop(APPLIED, None)
        connection = toolkit.db.get(Connection, connection_id)
        connection.last_error = explain(error)[1][:500]
        toolkit.db.commit()
        return None
    toolkit.db.commit()
    return result
