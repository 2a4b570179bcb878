"""A fake Chamilo 1.11 REST web service, written from shared/contracts/chamilo.md.

One Flask app, one route (``main/webservices/api/v2.php``) dispatching on ``action``, as the
real ``v2.php`` does. It reproduces the contract, not what our client happens to send:

- ``action``, ``username`` and ``api_key`` are read from the query string or the form; the
  password of ``authenticate`` from the form only; most parameters from the form; the few
  the contract marks GET from the query string only (``get_user_api_key``: ``user``, ``force``);
- every handled answer is HTTP 200 with ``{"error": bool, "data" | "message"}``; messages
  are the English ``get_lang`` keys (``InvalidApiKey``, ``NotAllowed``...), or, once a test
  sets ``language = "french"``, the words a French Chamilo answers instead (:data:`FRENCH`);
- the API key is made on the first ``authenticate`` and stays the same afterwards;
- a call without ``api_key`` makes PHP fail outside the envelope: an empty HTTP 500;
- admin-only actions answer ``NotAllowed`` to learners; the "self or admin" ones let a
  learner act on their own ``user_id`` only;
- the API-key actions (``get_user_api_key``) are "admin-only web services": they also answer
  ``NotAllowed`` to the admin while Chamilo's ``webservice_enable_adminonly_api`` is off
  (``adminonly_api``, on here; a test turns it off). Rest.php (1.11.x, commit 5ee8161) checks
  that setting in those actions only; ``save_user`` and the rest check the admin alone;
- ``save_course`` prefixes the code with ``CAMPUS_<id>_``; scalar results are wrapped in lists;
- ``course_learnpaths`` reports the progress of the calling user (the ``username``);
- an unknown action answers ``InvalidAction``, as do the actions an older ``v2.php`` lacks
  (``unknown_actions``, set by a test).

Tests drive the rest through :class:`FakeChamilo`'s methods (add a course or a learning path,
set a learner's progress, rotate a key) and its ``mode``: ``"down"`` (HTTP 503), ``"garbage"``
(an HTML page with HTTP 200), ``"slow"`` (answers after ``delay`` seconds). Served on 127.0.0.1
by :func:`serve`; ``requests`` counts the calls by action.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

ADMIN, TEACHER, LEARNER = 1, 1, 5

# What ``get_lang`` returns on a Chamilo whose platform language is French, for the keys this
# fake answers with. NotAllowed and NoCourse are worded as in Chamilo's French language file
# (main/lang/french/trad4all.inc.php); the others are ours, in its manner. None is a key.
FRENCH = {
    "InvalideUserDetected": "Utilisateur non valide détecté",
    "InvalidApiKey": "Clé d'API non valide",
    "InvalidAction": "Action non valide",
    "NotAllowed": (
        "Vous n'êtes pas autorisé à accéder à cette page. Peut-être votre session a-t-elle expiré?"
    ),
    "NoCourse": "Impossible de trouver ce cours",
    "UserNameNotAvailable": "Ce nom d'utilisateur n'est pas disponible",
    "UserNotFound": "Utilisateur introuvable",
    "UnsupportedUpdate": "Mise à jour non prise en charge",
}


@dataclass
class FakeUser:
    id: int
    username: str
    password: str
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    status: int = LEARNER
    is_admin: bool = False
    api_key: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    original_id: tuple[str, str] | None = None
    active: bool = True


@dataclass
class FakeCourse:
    id: int
    code: str
    title: str
    description: str = ""
    category_code: str = ""
    course_language: str = "french"
    visibility: int = 2
    # learning paths: (lp id, title, category id, category name)
    learnpaths: list[tuple[int, str, int, str]] = field(default_factory=list)


class FakeChamilo:
    """The state of one fake Chamilo and its Flask app (``self.app``)."""

    def __init__(self, admin: str = "admin", password: str = "admin-secret") -> None:
        self.lock = threading.Lock()
        self.users: dict[int, FakeUser] = {}
        self.by_name: dict[str, FakeUser] = {}  # usernames are unique, as in Chamilo
        self.courses: dict[int, FakeCourse] = {}
        self.subscriptions: set[tuple[int, int]] = set()  # (user id, course id)
        self.progress: dict[tuple[int, int], int] = {}  # (user id, lp id) -> percent
        self.requests: Counter[str] = Counter()
        self.mode = "normal"
        self.delay = 0.0
        self.unknown_actions: set[str] = set()  # an older Chamilo: actions it does not know
        self.adminonly_api = True  # the setting webservice_enable_adminonly_api
        self.language = "english"  # the platform language its messages are said in
        self._next_lp = 1
        self.add_user(admin, password, status=ADMIN, is_admin=True, firstname="Admin")
        self.app = self._make_app()

    # -- what tests arrange

    def add_user(self, username: str, password: str = "", **fields: Any) -> FakeUser:
        user = FakeUser(id=len(self.users) + 1, username=username, password=password, **fields)
        self.users[user.id] = user
        self.by_name[username] = user
        return user

    def add_course(self, title: str, *, campus: int = 1, **fields: Any) -> FakeCourse:
        """A course as ``save_course`` makes it: its code carries the campus prefix."""
        wanted = fields.pop("code", None) or title.upper().replace(" ", "")[:20]
        course_id = max(self.courses, default=0) + 1
        course = FakeCourse(id=course_id, code=f"CAMPUS_{campus}_{wanted}", title=title, **fields)
        self.courses[course_id] = course
        return course

    def add_learnpath(self, course: FakeCourse, title: str, category: tuple[int, str] = (0, "")):
        lp_id = self._next_lp
        self._next_lp += 1
        course.learnpaths.append((lp_id, title, *category))
        return lp_id

    def set_progress(self, username: str, lp_id: int, percent: int) -> None:
        self.progress[(self.user(username).id, lp_id)] = percent

    def user(self, username: str) -> FakeUser:
        return self.by_name[username]

    def rotate_key(self, username: str) -> None:
        self.user(username).api_key = secrets.token_hex(16)

    # -- the web service

    def _make_app(self) -> Flask:
        app = Flask("fake_chamilo")

        @app.route("/main/webservices/api/v2.php", methods=["GET", "POST"])
        def v2() -> Any:
            action = request.args.get("action") or request.form.get("action") or ""
            with self.lock:
                self.requests[action] += 1
                mode, delay = self.mode, self.delay
            if mode == "down":
                return Response("<h1>Service Unavailable</h1>", 503, mimetype="text/html")
            if mode == "garbage":
                return Response("<html><body>Bienvenue</body></html>", 200, mimetype="text/html")
            if mode == "slow":
                time.sleep(delay)
            try:
                with self.lock:
                    data = self._dispatch(action)
            except _PhpFatal:
                return Response("", 500)
            except _Refused as refused:
                words = FRENCH[refused.key] if self.language == "french" else refused.key
                body = {"error": True, "message": words + refused.detail}
            else:
                body = {"error": False, "data": data}
            response = jsonify(body)
            response.headers["Access-Control-Allow-Origin"] = "*"
            return response

        return app

    def _param(self, name: str) -> str | None:
        return request.args.get(name) or request.form.get(name)

    def _dispatch(self, action: str) -> Any:
        username = self._param("username") or ""
        if action == "authenticate":
            user = self._find(username)
            password = request.form.get("password")  # from the form only, as v2.php reads it
            if user is None or password is None or user.password != password:
                raise _Refused("InvalideUserDetected")
            if user.api_key is None:
                user.api_key = secrets.token_hex(16)
            return {"url": "http://chamilo.test/", "apiKey": user.api_key, "gcmSenderId": ""}
        api_key = self._param("api_key")
        if not api_key:
            raise _PhpFatal()  # $restApi is null: PHP's Error escapes the envelope
        caller = self._find(username)
        if caller is None or caller.api_key is None or caller.api_key != api_key:
            raise _Refused("InvalidApiKey")
        course_param = int(self._param("course") or 0)
        if course_param and course_param not in self.courses:
            raise _Refused("NoCourse")
        handler = None if action in self.unknown_actions else getattr(self, f"_do_{action}", None)
        if handler is None:
            raise _Refused("InvalidAction")
        return handler(caller)

    def _find(self, username: str) -> FakeUser | None:
        return self.by_name.get(username)

    def _admin_only(self, caller: FakeUser) -> None:
        if not caller.is_admin:
            raise _Refused("NotAllowed")

    def _self_or_admin(self, caller: FakeUser, user_id: int) -> None:
        if not caller.is_admin and caller.id != user_id:
            raise _Refused("NotAllowed")

    # -- actions (the subset the contract details)

    def _do_user_profile(self, caller: FakeUser) -> dict[str, Any]:
        return {
            "pictureUri": "",
            "id": caller.id,
            "status": caller.status,
            "fullName": f"{caller.firstname} {caller.lastname}".strip(),
            "username": caller.username,
            "officialCode": "",
            "phone": "",
            "extra": [],
        }

    def _do_get_courses(self, caller: FakeUser) -> list[dict[str, Any]]:
        return [
            {
                "id": str(c.id),  # raw DB columns: PDO hands numbers over as strings
                "code": c.code,
                "directory": c.code,
                "title": c.title,
                "description": c.description,
                "category_code": c.category_code,
                "course_language": c.course_language,
                "visibility": str(c.visibility),
            }
            for c in self.courses.values()
        ]

    def _course_card(self, course: FakeCourse) -> dict[str, Any]:
        return {
            "id": course.id,
            "title": course.title,
            "code": course.code,
            "directory": course.code,
            "urlPicture": "",
            "teachers": "",
            "isSpecial": False,
            "url": f"http://chamilo.test/courses/{course.code}/index.php",
        }

    def _do_course_info(self, caller: FakeUser) -> dict[str, Any]:
        course = self.courses.get(int(self._param("course") or 0))
        if course is None:
            raise _Refused("NoCourse")
        return {**self._course_card(course), "tools": [{"type": "learnpath"}]}

    def _do_user_courses(self, caller: FakeUser) -> list[dict[str, Any]]:
        user_id = int(request.values.get("user_id") or caller.id)
        self._self_or_admin(caller, user_id)
        return [
            self._course_card(self.courses[course_id])
            for uid, course_id in sorted(self.subscriptions)
            if uid == user_id and course_id in self.courses
        ]

    def _do_course_learnpaths(self, caller: FakeUser) -> list[dict[str, Any]]:
        course = self.courses.get(int(self._param("course") or 0))
        if course is None:
            raise _Refused("NoCourse")
        categories: dict[int, dict[str, Any]] = {}
        for lp_id, title, category_id, category_name in course.learnpaths:
            category = categories.setdefault(
                category_id,
                {"id": category_id, "name": category_name or "WithOutCategory", "learnpaths": []},
            )
            category["learnpaths"].append(
                {
                    "id": lp_id,
                    "title": title,
                    "progress": self.progress.get((caller.id, lp_id), 0),
                    "url": f"http://chamilo.test/main/lp/lp_controller.php?lp_id={lp_id}",
                }
            )
        return list(categories.values())

    def _do_username_exist(self, caller: FakeUser) -> list[bool]:
        return [self._find(request.form.get("loginname") or "") is not None]

    def _do_save_user(self, caller: FakeUser) -> list[int]:
        self._admin_only(caller)
        form = request.form
        if self._find(form.get("loginname") or "") is not None:
            raise _Refused("UserNameNotAvailable")
        extra = {}
        index = 0
        while f"extra[{index}][field_name]" in form:
            extra[form[f"extra[{index}][field_name]"]] = form.get(
                f"extra[{index}][field_value]", ""
            )
            index += 1
        user = self.add_user(
            form.get("loginname") or "",
            form.get("password") or "",
            firstname=form.get("firstname") or "",
            lastname=form.get("lastname") or "",
            email=form.get("email") or "",
            status=int(form.get("status") or LEARNER),
            extra=extra,
            original_id=(
                form.get("original_user_id_name") or "",
                form.get("original_user_id_value") or "",
            ),
        )
        return [user.id]

    def _do_get_user_api_key(self, caller: FakeUser) -> dict[str, Any]:
        if not self.adminonly_api:
            raise _Refused("NotAllowed")
        self._admin_only(caller)
        user = self._find(request.args.get("user") or "")  # GET only
        if user is None:
            raise _Refused("UserNotFound")
        if user.api_key is None and request.args.get("force") == "true":
            user.api_key = secrets.token_hex(16)
        return {"id": user.id, "username": user.username, "api_key": user.api_key or ""}

    UPDATABLE = {"email", "firstname", "lastname", "phone", "language", "active", "status"}

    def _do_update_user_from_username(self, caller: FakeUser) -> list[bool]:
        user = self._find(request.form.get("loginname") or "")
        if user is None:
            raise _Refused("UserNotFound")
        self._self_or_admin(caller, user.id)
        for name, value in request.form.items():
            if name in {"action", "username", "api_key", "loginname"}:
                continue
            if name not in self.UPDATABLE:
                raise _Refused("UnsupportedUpdate", f" '{name}'")
            if name in {"email", "firstname", "lastname"}:
                setattr(user, name, value)
        return [True]

    def _subscription_target(self, caller: FakeUser) -> tuple[int, FakeCourse | None]:
        user_id = int(request.form.get("user_id") or 0)
        self._self_or_admin(caller, user_id)
        if request.form.get("course_id"):
            course = self.courses.get(int(request.form["course_id"]))
        else:
            code = request.form.get("course_code")
            course = next((c for c in self.courses.values() if c.code == code), None)
        return user_id, course

    def _do_subscribe_user_to_course(self, caller: FakeUser) -> list[bool]:
        user_id, course = self._subscription_target(caller)
        if course is None or user_id not in self.users:
            return [False]
        if (user_id, course.id) in self.subscriptions:
            return [False]  # CourseManager::subscribeUser refuses a second subscription
        self.subscriptions.add((user_id, course.id))
        return [True]

    def _do_unsubscribe_user_from_course(self, caller: FakeUser) -> list[bool]:
        user_id, course = self._subscription_target(caller)
        if course is None or (user_id, course.id) not in self.subscriptions:
            return [False]
        self.subscriptions.discard((user_id, course.id))
        return [True]

    def _do_get_users_subscribed_to_course(self, caller: FakeUser) -> list[dict[str, Any]]:
        self._admin_only(caller)
        course_id = int(self._param("course") or 0)
        return [
            {
                "user_id": self.users[uid].id,
                "username": self.users[uid].username,
                "firstname": self.users[uid].firstname,
                "lastname": self.users[uid].lastname,
                "status_rel": LEARNER,
            }
            for uid, cid in sorted(self.subscriptions)
            if cid == course_id
        ]

    def _do_save_course(self, caller: FakeUser) -> dict[str, Any]:
        self._admin_only(caller)
        form = request.form
        campus = int(form.get("id_campus") or 1)
        wanted = form.get("wanted_code") or form.get("title", "")
        course = self.add_course(form.get("title") or "", campus=campus, code=wanted)
        if form.get("remove_campus_id_from_wanted_code") == "1":
            course.code = wanted
        return {
            "status": True,
            "id": course.id,
            "code_course": course.code,
            "title_course": course.title,
            "extra_fields": [],
            "message": "CourseCreated",
        }

    def _do_delete_course(self, caller: FakeUser) -> dict[str, Any]:
        self._admin_only(caller)
        course_id = request.values.get("course_id")
        code = request.values.get("course_code")
        for course in list(self.courses.values()):
            if str(course.id) == course_id or course.code == code:
                del self.courses[course.id]
                return {"status": True}
        return {"status": False}


class _Refused(Exception):
    """``throw new Exception(get_lang(key) . detail)``: the envelope's message."""

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        self.detail = detail


class _PhpFatal(Exception):
    pass


@dataclass
class Served:
    fake: FakeChamilo
    url: str


@contextmanager
def serve(fake: FakeChamilo | None = None) -> Iterator[Served]:
    """Serve a fake Chamilo over HTTP on a free port of 127.0.0.1 for the ``with`` block."""
    fake = fake or FakeChamilo()
    server = make_server("127.0.0.1", 0, fake.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fake-chamilo", daemon=True)
    thread.start()
    try:
        yield Served(fake, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
