"""A client of Chamilo LMS 1.11's REST web service (``main/webservices/api/v2.php``).

The contract is ``shared/contracts/chamilo.md``; what shapes this module:

- every call is one form POST to ``v2.php`` carrying ``action``, ``username``, ``api_key`` and
  the action's parameters (a few parameters are read from the query string only: those go in
  ``query``);
- the API key comes from ``authenticate`` (admin username and password) once; the caller keeps
  it (encrypted) and hands it back to the next client; when Chamilo answers ``InvalidApiKey``
  the client authenticates again, once, reports the new key through ``on_api_key`` and repeats
  the call;
- the answer is an envelope ``{"error": bool, "data" | "message"}`` sent with HTTP 200 even on
  errors; ``message`` is a translated text with no code, so only the few English keys a fake
  or an untranslated Chamilo sends are recognised (``InvalidApiKey``, ``InvalidAction``,
  ``NotAllowed``); a refused ``authenticate`` is :class:`CredentialsRefused` whatever its words
  (it has no other error);
- a refusal in other words (a translated Chamilo's) is not read but compared and asked
  about. Compared: Chamilo's answers to two calls that must fail, an unknown action and a key
  nobody holds, are how it words ``InvalidAction`` and ``InvalidApiKey`` in its language
  (:meth:`ChamiloClient.identify`). Asked: an admin's call refused otherwise is
  :class:`NotAllowed` when Chamilo refuses the user its admin-only web services
  (:meth:`ChamiloClient.refuses_admin_calls`), else a :class:`ChamiloRefused` carrying the
  message;
- scalar results come wrapped in a list (``[true]``, ``[123]``);
- a non-JSON answer (PHP's fatal errors give an empty 500; a URL that is not Chamilo gives a
  web page) is :class:`NotChamilo` or ``ConnectorUnavailable``, never an exception of our own
  parsing;
- ``InvalidAction`` means "this Chamilo is too old for that feature": :class:`FeatureMissing`.

Reads are retried by the HTTP base (they are idempotent); writes are not: the portal's outbox
retries them. Framework-free: nothing from Flask or ``core`` here.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connectors.http import (
    DEFAULT_TIMEOUT,
    BreakerRegistry,
    CallRecord,
    ConnectorError,
    ConnectorRejected,
    ConnectorUnavailable,
    HttpClient,
    Timeout,
)

ENDPOINT = "main/webservices/api/v2.php"
LEARNER = 5  # Chamilo's user status of a student
NAME = "chamilo"

# The message keys an untranslated Chamilo (and our fake) answers with. A translated
# Chamilo sends text instead, which is only ever shown, never matched.
INVALID_API_KEY = "InvalidApiKey"
INVALID_ACTION = "InvalidAction"
NOT_ALLOWED = "NotAllowed"
# An action no Chamilo has: its refusal is how this Chamilo words ``InvalidAction``.
UNKNOWN_ACTION = "viatic_no_such_action"


class ChamiloRefused(ConnectorError):
    """Chamilo answered ``{"error": true}``: ``message`` is its text, safe to show."""


class FeatureMissing(ChamiloRefused):
    """``InvalidAction``: this Chamilo does not know the action (too old a version)."""


class InvalidApiKey(ChamiloRefused):
    """The key was refused, and authenticating again did not help."""


class CredentialsRefused(ChamiloRefused):
    """``authenticate`` refused the admin's username and password."""


class NotAllowed(ChamiloRefused):
    """``NotAllowed``: an admin-only action called by a user who is not a platform admin, or
    while Chamilo's admin-only web services are switched off (said with that key, or in other
    words that :meth:`ChamiloClient.refuses_admin_calls` found to mean it)."""


class NotChamilo(ConnectorError):
    """The address answered, but not as Chamilo's web service does (no JSON envelope)."""


@dataclass(frozen=True)
class Course:
    """A course of ``get_courses``: its numeric id (``c_id``), code and title, and what the
    catalogue can use of the other columns (absent ones are empty)."""

    id: int
    code: str
    title: str
    description: str = ""
    category: str = ""
    language: str = ""
    directory: str = ""


@dataclass(frozen=True)
class Learnpath:
    id: int
    title: str
    progress: float


@dataclass(frozen=True)
class Account:
    """A Chamilo user as ``get_user_api_key`` describes it: id, login and API key."""

    id: int
    username: str
    api_key: str


class ChamiloClient:
    """Calls of one Chamilo as its admin user ``username``.

    ``api_key`` is the key obtained earlier (None: authenticate on first need);
    ``on_api_key(key)`` is told of each new key, so that the caller can store it. Other
    arguments go to :class:`connectors.http.HttpClient`. Thread-safe: concurrent calls share
    the key and one re-authentication.
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        api_key: str | None = None,
        on_api_key: Callable[[str], None] | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retries: int = 2,
        backoff: float = 0.5,
        breakers: BreakerRegistry | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        pool_size: int = 10,
    ) -> None:
        self.root = url.rstrip("/")
        self.username = username
        self._password = password
        self.api_key = api_key
        self.on_api_key = on_api_key
        self._lock = threading.Lock()
        self._wording: dict[str, type[ChamiloRefused]] | None = None  # see identify()
        self.http = HttpClient(
            self.root,
            name=NAME,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            breakers=breakers,
            on_call=on_call,
        )
        if pool_size > 10:  # requests keeps 10 connections per host unless told otherwise
            from requests.adapters import HTTPAdapter

            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
            self.http.session.mount("http://", adapter)
            self.http.session.mount("https://", adapter)

    # -- the envelope

    def _post(self, form: dict[str, Any], query: dict[str, Any] | None, read: bool) -> Any:
        response = self.http.post(ENDPOINT, data=form, params=query, idempotent=read)
        try:
            body = response.json()
        except ValueError:
            raise NotChamilo(NAME, "the answer is not JSON: is this address a Chamilo?") from None
        finally:
            response.close()
        if not isinstance(body, dict) or not isinstance(body.get("error"), bool):
            raise NotChamilo(NAME, "the answer is JSON without Chamilo's envelope")
        if body["error"]:
            message = str(body.get("message") or "")[:300]
            if message == INVALID_ACTION:
                raise _feature_missing(form["action"])
            if message == INVALID_API_KEY:
                raise InvalidApiKey(NAME, message)
            if message == NOT_ALLOWED:
                raise NotAllowed(NAME, message)
            raise ChamiloRefused(NAME, message or "refused without a message")
        return body.get("data")

    def authenticate(self) -> str:
        """A fresh API key of the admin user (Chamilo keeps it stable across calls)."""
        try:
            data = self._post(
                {"action": "authenticate", "username": self.username, "password": self._password},
                None,
                read=True,
            )
        except ChamiloRefused as refused:
            raise CredentialsRefused(NAME, refused.message) from None
        key = data.get("apiKey") if isinstance(data, dict) else None
        if not isinstance(key, str) or not key:
            raise NotChamilo(NAME, "authenticate answered without an API key")
        return key

    def _key(self, stale: str | None = None) -> str:
        with self._lock:
            if self.api_key is None or self.api_key == stale:
                self.api_key = self.authenticate()
                if self.on_api_key is not None:
                    self.on_api_key(self.api_key)
            return self.api_key

    def call(
        self,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        query: dict[str, Any] | None = None,
        read: bool = False,
    ) -> Any:
        """One action as the admin user; its ``data``. ``read`` marks it safe to retry."""
        key = self._key()
        form = {"action": action, "username": self.username, **(params or {})}
        try:
            try:
                return self._post({**form, "api_key": key}, query, read)
            except ChamiloRefused as refused:
                raise self.identify(refused, action) from None
        except InvalidApiKey:
            pass  # the key was rotated or the account recreated: authenticate once more
        except ChamiloRefused as refused:
            # Still words of its own: a refusal of the admin-only services is asked about.
            if type(refused) is ChamiloRefused and self.refuses_admin_calls():
                raise NotAllowed(NAME, refused.message) from None
            raise
        return self._post({**form, "api_key": self._key(stale=key)}, query, read)

    def identify(self, refused: ChamiloRefused, action: str) -> ChamiloRefused:
        """``refused`` as :class:`InvalidApiKey` or :class:`FeatureMissing` when its words
        are this Chamilo's for a refused key or an unknown action; as it is otherwise.

        A translated Chamilo words its refusals in its language, with no code. How it words
        these two is learnt from two calls that must fail, on the first refusal in words
        this client does not know: an unknown action with a key nobody holds (refused for
        the key: Chamilo checks it first), then with a fresh key (refused for the action).
        Raises what the calls meet on their way (an outage, refused credentials)."""
        if type(refused) is not ChamiloRefused:
            return refused  # said with a key this client knows
        if self._wording is None:
            self._wording = self._learn_wording()
        kind = self._wording.get(refused.message)
        if kind is FeatureMissing:
            return _feature_missing(action)
        return kind(NAME, refused.message) if kind is not None else refused

    def _learn_wording(self) -> dict[str, type[ChamiloRefused]]:
        said: dict[type[ChamiloRefused], str] = {}
        for kind, key in ((InvalidApiKey, secrets.token_hex(16)), (FeatureMissing, None)):
            if key is None:  # a fresh key, so that the refusal cannot be the key's
                key = self._key(stale=self.api_key)
            probe = {"action": UNKNOWN_ACTION, "username": self.username, "api_key": key}
            try:
                self._post(probe, None, read=True)
            except ChamiloRefused as refusal:
                said[kind] = refusal.message
        if len(set(said.values())) < len(said):
            return {}  # worded alike: neither can be told
        return {message: kind for kind, message in said.items()}

    def refuses_admin_calls(self) -> bool:
        """Whether Chamilo refuses this user its admin-only web services (the user is not a
        platform admin, or they are switched off), told by what Chamilo does rather than by
        its words: a fresh authentication (so that a key Chamilo rotated is not mistaken for
        a refusal: the new one is reported through ``on_api_key``), then ``get_user_api_key``
        of the user itself, an admin-only call that changes nothing (the authentication made
        the key it reads). Raises what the probe meets on its way: refused credentials, an
        outage, a Chamilo too old for the call."""
        key = self._key(stale=self.api_key)
        probe = {"action": "get_user_api_key", "username": self.username, "api_key": key}
        try:
            self._post(probe, {"user": self.username, "force": "true"}, read=True)
        except FeatureMissing:
            raise
        except ChamiloRefused:
            return True
        return False

    def call_as(self, account: Account, action: str, params: dict[str, Any] | None = None) -> Any:
        """A read action as a learner (``course_learnpaths`` reports the caller's own
        progress). An ``InvalidApiKey`` is the caller's to handle: it owns the learner's key."""
        form = {"action": action, "username": account.username, "api_key": account.api_key}
        try:
            return self._post({**form, **(params or {})}, None, read=True)
        except ChamiloRefused as refused:
            raise self.identify(refused, action) from None

    # -- the actions the portal uses

    def courses(self) -> list[Course]:
        rows = self.call("get_courses", read=True)
        return [course for course in map(_course, _rows(rows)) if course is not None]

    def username_exists(self, loginname: str) -> bool:
        return _scalar(self.call("username_exist", {"loginname": loginname}, read=True)) is True

    def create_learner(
        self,
        *,
        loginname: str,
        password: str,
        firstname: str,
        lastname: str,
        email: str,
        original_id: str,
        extra: dict[str, str] | None = None,
        language: str = "french",
    ) -> int:
        """``save_user`` of a learner (status 5) tied to our id; returns the Chamilo user id."""
        params: dict[str, Any] = {
            "loginname": loginname,
            "password": password,
            "firstname": firstname,
            "lastname": lastname,
            "email": email,
            "status": LEARNER,
            "original_user_id_name": "viatic_user_id",
            "original_user_id_value": original_id,
            "language": language,
        }
        for index, (name, value) in enumerate((extra or {}).items()):
            params[f"extra[{index}][field_name]"] = name
            params[f"extra[{index}][field_value]"] = value
        user_id = _scalar(self.call("save_user", params))
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise NotChamilo(NAME, "save_user answered without a user id")
        return user_id

    def account(self, loginname: str) -> Account:
        """A user's id and API key (``get_user_api_key``, admin-only; the key is made if the
        user has none yet)."""
        data = self.call("get_user_api_key", query={"user": loginname, "force": "true"}, read=True)
        if not isinstance(data, dict):
            raise NotChamilo(NAME, "get_user_api_key answered without an object")
        try:
            return Account(int(data["id"]), str(data["username"]), str(data["api_key"]))
        except (KeyError, TypeError, ValueError):
            raise NotChamilo(NAME, "get_user_api_key answered an unexpected object") from None

    def update_user(self, loginname: str, **fields: str) -> None:
        """``update_user_from_username``: the profile fields that changed."""
        self.call("update_user_from_username", {"loginname": loginname, **fields})

    def subscribe(self, user_id: int, course_id: int) -> bool:
        """``subscribe_user_to_course`` as a learner; False when Chamilo did not subscribe
        (already there, or no such course: see :meth:`user_course_ids`)."""
        data = self.call(
            "subscribe_user_to_course",
            {"course_id": course_id, "user_id": user_id, "status": LEARNER},
        )
        return _scalar(data) is True

    def user_course_ids(self, user_id: int) -> set[int]:
        """The ids of the courses a user is subscribed to (``user_courses``)."""
        rows = self.call("user_courses", {"user_id": user_id}, read=True)
        return {int(row["id"]) for row in _rows(rows) if _is_int(row.get("id"))}

    def learnpaths(self, account: Account, course_id: int) -> list[Learnpath]:
        """The learning paths of a course with ``account``'s progress in each."""
        data = self.call_as(account, "course_learnpaths", {"course": course_id, "session": 0})
        paths = []
        for category in _rows(data):
            for row in _rows(category.get("learnpaths")):
                try:
                    progress = min(100.0, max(0.0, float(row.get("progress") or 0)))
                    paths.append(Learnpath(int(row["id"]), str(row.get("title", "")), progress))
                except (KeyError, TypeError, ValueError):
                    continue  # one odd row must not hide the others
        return paths

    def progress(self, account: Account, course_id: int) -> float | None:
        """A learner's progress in a course, 0–100: the mean of its learning paths; None
        for a course without any."""
        paths = self.learnpaths(account, course_id)
        return sum(p.progress for p in paths) / len(paths) if paths else None

    def close(self) -> None:
        self.http.close()


def _feature_missing(action: str) -> FeatureMissing:
    return FeatureMissing(NAME, f"this Chamilo does not know '{action}'")


def _rows(data: Any) -> Iterable[dict[str, Any]]:
    """The objects of a list (or of an object keyed by id, as PHP arrays sometimes encode)."""
    values = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    return [row for row in values if isinstance(row, dict)]


def _scalar(data: Any) -> Any:
    """The value of a scalar result, which Chamilo wraps in a list."""
    return data[0] if isinstance(data, list) and len(data) == 1 else data


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _course(row: dict[str, Any]) -> Course | None:
    if not _is_int(row.get("id")) or not row.get("title"):
        return None
    return Course(
        id=int(row["id"]),
        code=str(row.get("code") or ""),
        title=str(row["title"]),
        description=str(row.get("description") or ""),
        category=str(row.get("category_code") or ""),
        language=str(row.get("course_language") or ""),
        directory=str(row.get("directory") or ""),
    )


__all__ = [
    "Account",
    "ChamiloClient",
    "ChamiloRefused",
    "ConnectorError",
    "ConnectorRejected",
    "ConnectorUnavailable",
    "Course",
    "CredentialsRefused",
    "FeatureMissing",
    "InvalidApiKey",
    "Learnpath",
    "NotAllowed",
    "NotChamilo",
]
