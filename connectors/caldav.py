"""A small CalDAV client (RFC 4791, with RFC 6578 sync-collection) on the shared HTTP base.

It knows one calendar collection, given by its URL, and does the few WebDAV calls a
two-way sync needs: read the collection's properties (is it a calendar, its sync-token and
ctag), list what changed since a sync-token, fetch resources by href (calendar-multiget),
and write or delete one resource guarded by its ETag (``If-Match``, or ``If-None-Match: *``
to create), so that a change made meanwhile on the server is never overwritten blindly.

Written on :class:`connectors.http.HttpClient` rather than with the ``caldav`` library: the
sync needs exact control of the conditional headers and of the sync-collection report, and
going through the shared base gives every call its timeouts, circuit breaker and line in
the connector log like the other connectors; the XML is a handful of fixed bodies.

Framework-free: nothing from Flask or ``core`` is imported here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests

from connectors.http import (
    CallRecord,
    ConnectorError,
    ConnectorRejected,
    ConnectorUnavailable,
    HttpClient,
    Timeout,
)

NAME = "caldav"
DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
XML = {"Content-Type": "application/xml; charset=utf-8"}
ICS = "text/calendar; charset=utf-8"
MULTIGET_BATCH = 200

PROPFIND = f"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="{DAV}" xmlns:c="{CALDAV}" xmlns:cs="{CALSERVER}">
  <d:prop><d:resourcetype/><d:displayname/><d:sync-token/><cs:getctag/></d:prop>
</d:propfind>"""


class WrongCredentials(ConnectorError):
    """The server refused the user name or the password (401)."""


class Forbidden(ConnectorError):
    """The account is known but may not use this address (403)."""


class NotACalendar(ConnectorError):
    """The URL answers, but is not a CalDAV calendar collection."""


class PreconditionFailed(ConnectorError):
    """A conditional write (412): the resource changed, or exists, on the server."""


class SyncTokenExpired(ConnectorError):
    """The server no longer knows our sync-token: a full listing is needed."""


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    sync_token: str | None
    ctag: str | None


@dataclass
class Changes:
    """What a sync-collection report said: changed hrefs with their ETags, removed hrefs,
    and the token to give next time."""

    changed: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    token: str | None = None


@dataclass(frozen=True)
class Resource:
    href: str
    etag: str
    data: str


def timed_out(error: ConnectorError) -> bool:
    """Whether an unavailable server was slow rather than unreachable (the base says so
    in its message only)."""
    return isinstance(error, ConnectorUnavailable) and "timed out" in error.message


class CalDavClient:
    """A client of one calendar collection (``url``), with HTTP Basic credentials."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout: Timeout = (5.0, 20.0),
        retries: int = 2,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.http = HttpClient(
            self.url,
            name=NAME,
            timeout=timeout,
            retries=retries,
            auth=(username, password),
            on_call=on_call,
        )
        self.path = urlsplit(self.url).path

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except ConnectorRejected as error:
            if error.status == 401:
                raise WrongCredentials(NAME, f"{method} refused with HTTP 401") from None
            if error.status == 403 and method in ("PROPFIND", "GET"):
                raise Forbidden(NAME, f"{method} refused with HTTP 403") from None
            raise

    # -- the collection

    def info(self, retries: int | None = None) -> CollectionInfo:
        """The collection's name and sync state; raises ``NotACalendar`` when the URL is
        not a calendar, ``WrongCredentials`` when the account is refused."""
        try:
            response = self._call(
                "PROPFIND",
                self.url,
                data=PROPFIND.encode(),
                headers={**XML, "Depth": "0"},
                idempotent=True,
                retries=retries,
            )
        except ConnectorRejected as error:
            raise NotACalendar(NAME, f"PROPFIND answered HTTP {error.status}") from None
        if response.status_code != 207:
            raise NotACalendar(NAME, f"PROPFIND answered HTTP {response.status_code}")
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            raise NotACalendar(NAME, "PROPFIND answered something else than XML") from None
        props = root.find(f".//{{{DAV}}}prop")
        if props is None or props.find(f"{{{DAV}}}resourcetype/{{{CALDAV}}}calendar") is None:
            raise NotACalendar(NAME, "the collection is not a calendar")
        return CollectionInfo(
            name=_text(props.find(f"{{{DAV}}}displayname")) or "",
            sync_token=_text(props.find(f"{{{DAV}}}sync-token")),
            ctag=_text(props.find(f"{{{CALSERVER}}}getctag")),
        )

    def changes(self, token: str | None) -> Changes:
        """What changed since ``token`` (everything, for None): RFC 6578 sync-collection."""
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="{DAV}">'
            f"<d:sync-token>{_escape(token or '')}</d:sync-token><d:sync-level>1</d:sync-level>"
            "<d:prop><d:getetag/></d:prop></d:sync-collection>"
        )
        try:
            response = self._call(
                "REPORT", self.url, data=body.encode(), headers=XML, idempotent=True
            )
        except ConnectorRejected as error:
            # RFC 6578 §3.2: an unknown token is refused with the valid-sync-token
            # precondition (403 or 409 depending on the server).
            if token and error.status in (400, 403, 409, 412):
                raise SyncTokenExpired(NAME, f"sync-token refused ({error.status})") from None
            raise
        root = ET.fromstring(response.content)
        found = Changes(token=_text(root.find(f"{{{DAV}}}sync-token")))
        for item in root.findall(f"{{{DAV}}}response"):
            href = self._absolute(_text(item.find(f"{{{DAV}}}href")) or "")
            if href == self.path or not href:
                continue
            status = _text(item.find(f"{{{DAV}}}status")) or ""
            etag = _text(item.find(f".//{{{DAV}}}getetag"))
            if " 404" in status or etag is None:
                found.removed.append(href)
            else:
                found.changed[href] = etag
        return found

    def fetch(self, hrefs: Iterable[str]) -> list[Resource]:
        """The resources at ``hrefs`` with their ETags (calendar-multiget, in batches)."""
        wanted = list(hrefs)
        out: list[Resource] = []
        for start in range(0, len(wanted), MULTIGET_BATCH):
            batch = "".join(
                f"<d:href>{_escape(h)}</d:href>" for h in wanted[start : start + MULTIGET_BATCH]
            )
            body = (
                f'<?xml version="1.0" encoding="utf-8"?>'
                f'<c:calendar-multiget xmlns:d="{DAV}" xmlns:c="{CALDAV}">'
                f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{batch}</c:calendar-multiget>"
            )
            response = self._call(
                "REPORT",
                self.url,
                data=body.encode(),
                headers={**XML, "Depth": "1"},
                idempotent=True,
            )
            root = ET.fromstring(response.content)
            for item in root.findall(f"{{{DAV}}}response"):
                etag = _text(item.find(f".//{{{DAV}}}getetag"))
                data = _text(item.find(f".//{{{CALDAV}}}calendar-data"))
                href = _text(item.find(f"{{{DAV}}}href"))
                if href and etag and data:
                    out.append(Resource(self._absolute(href), etag, data))
        return out

    def get(self, href: str) -> Resource | None:
        """One resource, or None when it is gone."""
        response = self._call("GET", self._url(href), expected=(404, 410))
        if response.status_code in (404, 410):
            return None
        return Resource(href, response.headers.get("ETag", ""), response.text)

    # -- writes, always conditional

    def put(self, href: str, ics: bytes, etag: str | None) -> str:
        """Create (``etag`` None: only if nothing is there) or replace (only if the server
        still has ``etag``) a resource; returns its new ETag (empty if the server gave
        none). Raises ``PreconditionFailed`` when the condition does not hold."""
        condition = {"If-Match": etag} if etag else {"If-None-Match": "*"}
        try:
            response = self._call(
                "PUT", self._url(href), data=ics, headers={"Content-Type": ICS, **condition}
            )
        except ConnectorRejected as error:
            if error.status == 412:
                raise PreconditionFailed(NAME, f"PUT {href}: changed on the server") from None
            raise
        return response.headers.get("ETag", "")

    def delete(self, href: str, etag: str) -> None:
        """Delete a resource if the server still has ``etag``; gone already is fine."""
        try:
            self._call("DELETE", self._url(href), headers={"If-Match": etag}, expected=(404, 410))
        except ConnectorRejected as error:
            if error.status == 412:
                raise PreconditionFailed(NAME, f"DELETE {href}: changed on the server") from None
            raise

    def href_for(self, name: str) -> str:
        """The href of a new resource of this collection named ``name``."""
        return self.path + quote(name, safe="@.-_")

    def _url(self, href: str) -> str:
        return urljoin(self.url, href)

    def _absolute(self, href: str) -> str:
        """An href as a path (servers may answer with full URLs)."""
        return urlsplit(urljoin(self.url, href)).path


def _text(element: ET.Element | None) -> str | None:
    return element.text if element is not None and element.text is not None else None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
