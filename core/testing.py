"""The pytest plugin for Viatic and its plugins (entry point ``pytest11: viatic``).

Fixtures: ``app`` (a fresh portal on a migrated database, once per backend: SQLite always,
PostgreSQL when ``VIATIC_TEST_DATABASE_URL`` is set), ``client`` (a test client that fills
in CSRF tokens like a browser), ``commune``, ``other_commune``, ``make_member`` (a person
with a role), ``enable_module`` and ``live_server`` (the app served on 127.0.0.1).
``untranslated()`` lists the messages a catalog lacks. Override ``viatic_plugins`` in a
conftest to load plugin modules that are not installed through an entry point.

``VIATIC_TEST_REQUIRE_ALL=1`` (set by CI) turns every "server not available" skip into a
failure, so that a green run proves the real servers were used.

The test apps do not force admins to enrol a second factor (``ADMIN_TOTP_REQUIRED`` is off,
so that ``make_member(..., admin=True)`` can sign in with a password alone); a test of that
rule sets ``app.config["ADMIN_TOTP_REQUIRED"] = True``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

PASSWORD = "mot-de-passe-de-test"
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def require_all() -> bool:
    return os.environ.get("VIATIC_TEST_REQUIRE_ALL") == "1"


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when CI demands every server."""
    if require_all():
        pytest.fail(f"{reason} (VIATIC_TEST_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(reason)


# --- Databases --------------------------------------------------------------------------------


class TemplateDatabase:
    """A migrated database made once per session, reset for each test."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self.url = ""
        self._admin_url = ""
        self._name = ""

    def create(self, plugins: list[object]) -> None:
        if self.backend == "sqlite":
            self.url = f"sqlite:///{self.workdir / 'template.db'}"
        else:
            base = os.environ.get("VIATIC_TEST_DATABASE_URL")
            if not base:
                unavailable("PostgreSQL tests need VIATIC_TEST_DATABASE_URL")
            url = make_url(base)
            self._name = f"viatic_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            self._admin_url = url.render_as_string(hide_password=False)
            engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{self._name}"'))
            except Exception as exc:  # the server is not there
                unavailable(
                    f"PostgreSQL at {url.host}:{url.port} is unreachable: {type(exc).__name__}"
                )
            finally:
                engine.dispose()
            self.url = url.set(database=self._name).render_as_string(hide_password=False)
        app = make_app(self.url, plugins)
        from core.migrate import upgrade

        with app.app_context():
            upgrade()
        app.extensions["viatic.db"].engine.dispose()

    def fresh_url(self, test_dir: Path) -> str:
        """The URL of a database in its just-migrated state, for one test."""
        if self.backend == "sqlite":
            target = test_dir / "viatic.db"
            shutil.copyfile(self.workdir / "template.db", target)
            return f"sqlite:///{target}"
        engine = create_engine(self.url)
        with engine.begin() as connection:
            tables = connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).scalars()
            names = ", ".join(f'"{t}"' for t in tables)
            if names:
                # TRUNCATE does not fire the audit log's row triggers.
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return self.url

    def drop(self) -> None:
        if self.backend == "postgresql" and self._name:
            engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
            engine.dispose()


def make_app(database_url: str, plugins: list[object], **config: Any) -> Flask:
    from core.app import create_app

    settings = {
        "TESTING": True,
        "ENV": "testing",
        "SECRET_KEY": "secret-for-tests-only",
        "DATABASE_URL": database_url,
        "SERVER_NAME": "viatic.test",
        "SMTP_HOST": "",
        "ARGON2_PROFILE": "CHEAPEST",  # real Argon2, test-sized cost
        "ADMIN_TOTP_REQUIRED": False,  # the fixtures' admins have no second factor
        # Uploads land in the system's temporary folder, never in the repository's instance.
        "FILES_PATH": str(Path(tempfile.gettempdir()) / "viatic-test-files"),
    }
    settings.update(config)
    app = create_app(settings, plugins=plugins)
    app.test_client_class = ViaticClient
    return app


@pytest.fixture(scope="session")
def viatic_plugins() -> list[object]:
    """Plugin modules to load besides the installed ones; override in your conftest."""
    return []


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    viatic_plugins: list[object],
) -> Iterator[TemplateDatabase]:
    template = TemplateDatabase(request.param, tmp_path_factory.mktemp(request.param))
    template.create(viatic_plugins)
    yield template
    template.drop()


@pytest.fixture
def app(
    database_backend: TemplateDatabase, tmp_path: Path, viatic_plugins: list[object]
) -> Iterator[Flask]:
    """A fresh portal on a database just migrated, with the installed plugins."""
    application = make_app(
        database_backend.fresh_url(tmp_path), viatic_plugins, FILES_PATH=str(tmp_path / "files")
    )
    yield application
    application.extensions["viatic.db"].engine.dispose()


# --- A browser-like client --------------------------------------------------------------------


class ViaticClient(FlaskClient):
    """A test client that fills in the CSRF token of the page a form comes from."""

    def csrf_token(self, page: str = "/accessibilite") -> str:
        response = self.get(page)
        found = CSRF_FIELD.search(response.get_data(as_text=True))
        assert found, f"no CSRF token on {page} (status {response.status_code})"
        return found.group(1)

    def submit(
        self, url: str, data: dict[str, Any] | None = None, page: str | None = None, **kwargs: Any
    ) -> Any:
        """POST ``data`` to ``url`` with the CSRF token found on ``page`` (default: ``url``)."""
        form = dict(data or {})
        form["csrf_token"] = self.csrf_token(page or url)
        return self.post(url, data=form, **kwargs)

    def login(self, email: str, password: str = PASSWORD, code: str | None = None) -> Any:
        """Sign in; ``code`` answers the second step of a person with a second factor."""
        response = self.submit("/connexion", {"email": email, "password": password})
        assert response.status_code == 302, f"login of {email} failed ({response.status_code})"
        if response.headers["Location"].startswith("/connexion/code"):
            assert code is not None, f"{email} has a second factor: give login() its code"
            response = self.submit("/connexion/code", {"code": code})
            assert response.status_code == 302, f"code of {email} refused ({response.status_code})"
        return response


@pytest.fixture
def client(app: Flask) -> ViaticClient:
    return app.test_client()  # type: ignore[return-value]


# --- Communes, people, modules ----------------------------------------------------------------


def add_commune(app: Flask, insee: str, name: str) -> Any:
    from core.db import db
    from core.models import Commune

    with app.app_context():
        commune = Commune(insee=insee, name=name, postcodes=[], population=200)
        db.add(commune)
        db.commit()
        return commune


@pytest.fixture
def commune(app: Flask) -> Any:
    """Faux-Villecerf (10145), with no member and no module."""
    return add_commune(app, "10145", "Faux-Villecerf")


@pytest.fixture
def other_commune(app: Flask) -> Any:
    """Dierrey-Saint-Julien (10124): the commune a member of ``commune`` must never see."""
    return add_commune(app, "10124", "Dierrey-Saint-Julien")


@pytest.fixture
def make_member(app: Flask) -> Callable[..., Any]:
    """``make_member(commune, role="maire", admin=False, email=None)`` → a person whose
    password is ``core.testing.PASSWORD``. ``commune=None`` makes a person of no commune."""
    counter = iter(range(1, 10_000))

    def make(
        commune: Any = None,
        role: str = "maire",
        admin: bool = False,
        email: str | None = None,
        platform_admin: bool = False,
        name: str | None = None,
    ) -> Any:
        from core import auth
        from core.db import db
        from core.models import Membership, User

        n = next(counter)
        with app.app_context():
            address = email or f"{role}{n}@exemple.fr"
            user = db.scalar(select(User).where(User.email == address))
            if user is None:
                user = User(
                    email=address,
                    name=name or f"{role.title()} {n}",
                    is_platform_admin=platform_admin,
                )
                auth.set_password(user, PASSWORD)
                db.add(user)
                db.flush()
            if commune is not None:
                db.add(
                    Membership(
                        user_id=user.id, commune_id=commune.id, role=role, is_commune_admin=admin
                    )
                )
            db.commit()
            return user

    return make


@pytest.fixture
def enable_module(app: Flask) -> Callable[[Any, str], None]:
    """``enable_module(commune, "plugin")`` enables a module as a commune admin would."""

    def enable(commune: Any, name: str) -> None:
        from core import modules
        from core.db import db
        from core.models import Commune

        with app.app_context():
            modules.enable(db.get(Commune, commune.id), name)
            db.commit()

    return enable


# --- A served portal, and the catalogs -------------------------------------------------------


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free port of 127.0.0.1 (for a browser, or a client of
    its own); yields its base URL. ``url_for`` and redirects then point at this server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    host = f"127.0.0.1:{server.server_port}"
    app.config["SERVER_NAME"] = host
    thread = threading.Thread(target=server.serve_forever, name="viatic-live", daemon=True)
    thread.start()
    try:
        yield f"http://{host}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def untranslated(source: Path, catalog: Path) -> list[str]:
    """The messages of ``source`` (Python and templates, with the keywords the projects use)
    that the ``.po`` file ``catalog`` lacks, leaves empty or marks fuzzy."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.pofile import read_po

    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.do"}}
    found = {
        message[0] if isinstance(message, tuple) else message
        for _file, _line, message, _comments, _context in extract_from_dir(
            source, method_map, options, keywords=keywords
        )
    }
    with open(catalog, "rb") as po:
        entries = read_po(po)
    missing = []
    for msgid in sorted(found):
        entry = entries.get(msgid)
        strings = (
            []
            if entry is None
            else ([entry.string] if isinstance(entry.string, str) else entry.string)
        )
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(msgid)
    return missing
