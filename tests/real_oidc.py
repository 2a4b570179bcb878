"""The real OpenID Connect provider for the tests: node's certified ``oidc-provider`` (v8).

``make dev-install`` installs it under ``tests/oidc_provider/node_modules`` (``npm ci``); when
node or that folder is missing, the tests that need it are skipped (or fail under
``VIATIC_TEST_REQUIRE_ALL=1``) through ``core.testing.unavailable``.

Starting one::

    with oidc_provider_running([client_metadata(["http://viatic.test/cb"])], TEST_ACCOUNTS) as op:
        op.issuer, op.discovery_url

or, in a test module, import the fixtures (``from tests.real_oidc import
oidc_provider_factory``) and ask for ``oidc_provider_factory(redirect_uris=[...],
post_logout_redirect_uris=[...], **client_options)``: one provider per distinct set of
options, kept for the session, with the confidential client ``viatic-test`` and the
accounts ``alice`` and ``bob``.

A browser's part of the flow is played by ``login_at_provider`` (the development login and
consent forms) and ``end_session_at_provider`` (the logout confirmation): both follow the
redirects at the provider only and return the URL the provider sends the browser to, for the
caller to deliver to its own application.

(PYTEST_DONT_REWRITE: this module raises its own AssertionErrors, so that it can be imported
by test modules and loaded as a pytest plugin in any order without a rewrite warning.)
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from core.testing import unavailable

HARNESS_DIR = Path(__file__).resolve().parent / "oidc_provider"
SERVER_SCRIPT = HARNESS_DIR / "server.js"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0

TEST_CLIENT_ID = "viatic-test"
TEST_CLIENT_SECRET = "viatic-test-secret"
# Where the ``oidc_provider`` fixture's client says it lives: never requested by the helpers.
DEFAULT_REDIRECT_URI = "http://client.test/callback"
DEFAULT_POST_LOGOUT_REDIRECT_URI = "http://client.test/logged-out"

TEST_ACCOUNTS: dict[str, dict[str, Any]] = {
    "alice": {
        "email": "alice@example.org",
        "email_verified": True,
        "name": "Alice Martin",
        "given_name": "Alice",
        "family_name": "Martin",
    },
    "bob": {
        "email": "bob@example.org",
        "email_verified": True,
        "name": "Bob Durand",
        "given_name": "Bob",
        "family_name": "Durand",
    },
}

_running: set[RunningProvider] = set()


# --- Starting and stopping the provider -------------------------------------------------------


def node_executable() -> str:
    """The path of ``node``, or skip (fail under VIATIC_TEST_REQUIRE_ALL=1) with the reason."""
    node = shutil.which("node")
    if node is None:
        unavailable("the real OIDC provider needs node (Node.js 18+), which is not installed")
    if not (HARNESS_DIR / "node_modules" / "oidc-provider").is_dir():
        unavailable(
            "the real OIDC provider is not installed in tests/oidc_provider/node_modules: "
            "run `make dev-install` (or `make test`), which runs `npm ci` there"
        )
    return node  # type: ignore[return-value]


def client_metadata(
    redirect_uris: Iterable[str],
    post_logout_redirect_uris: Iterable[str] = (),
    **options: Any,
) -> dict[str, Any]:
    """Metadata of the confidential client ``viatic-test`` (``options`` add or override,
    e.g. ``userinfo_signed_response_alg="RS256"``)."""
    client: dict[str, Any] = {
        "client_id": TEST_CLIENT_ID,
        "client_secret": TEST_CLIENT_SECRET,
        "redirect_uris": list(redirect_uris),
        "post_logout_redirect_uris": list(post_logout_redirect_uris),
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    client.update(options)
    return client


class RunningProvider:
    """An ``oidc-provider`` process listening on 127.0.0.1."""

    def __init__(
        self, process: subprocess.Popen[str], issuer: str, port: int, config: dict[str, Any]
    ) -> None:
        self.process = process
        self.issuer = issuer
        self.port = port
        self.config = config
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._ready = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(process.stdout, self._stdout), daemon=True),
            threading.Thread(target=self._read, args=(process.stderr, self._stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)
            if lines is self._stdout and line.startswith("READY "):
                self._ready.set()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def clients(self) -> list[dict[str, Any]]:
        return self.config["clients"]

    def stderr(self) -> str:
        """What node has written to its standard error so far."""
        return "".join(self._stderr)

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                return True
            if self.process.poll() is not None:
                for reader in self._readers:
                    reader.join(1)
                return self._ready.is_set()
        return False

    def stop(self) -> None:
        """Terminate the process (SIGTERM), wait for it, kill it if it lingers."""
        _running.discard(self)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin:
            self.process.stdin.close()
        for reader in self._readers:
            reader.join(1)

    def __enter__(self) -> RunningProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningProvider {self.issuer} pid={self.pid}>"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_oidc_provider(
    clients: list[dict[str, Any]],
    accounts: dict[str, dict[str, Any]],
    ttl: dict[str, int] | None = None,
    timeout: float = START_TIMEOUT,
) -> RunningProvider:
    """Start ``tests/oidc_provider/server.js`` on a free port of 127.0.0.1 and wait for it.

    ``clients`` are oidc-provider client metadata (see ``client_metadata``), ``accounts`` map a
    login (the ``sub``) to its claims, ``ttl`` gives lifetimes in seconds by oidc-provider
    model name (``AuthorizationCode``, ``AccessToken``, ``IdToken``, ``RefreshToken``...).
    The process is stopped at ``stop()``, or at interpreter exit at the latest.
    """
    node = node_executable()
    for _attempt in range(3):
        port = _free_port()
        issuer = f"http://127.0.0.1:{port}"
        config = {
            "issuer": issuer,
            "port": port,
            "clients": clients,
            "accounts": accounts,
            "ttl": ttl or {},
            "watch_stdin": True,  # node exits when this process goes away, even killed
        }
        process = subprocess.Popen(
            [node, str(SERVER_SCRIPT), json.dumps(config)],
            cwd=HARNESS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        provider = RunningProvider(process, issuer, port, config)
        _running.add(provider)
        if provider.wait_ready(timeout):
            return provider
        exited = process.poll()
        provider.stop()
        if exited == 3:  # EADDRINUSE: the port was taken since it was probed
            continue
        if exited is None:
            why = f"did not print READY within {timeout:.0f} s"
        else:
            why = f"exited with code {exited} before it was ready"
        raise RuntimeError(f"oidc-provider {why}; node's stderr:\n{provider.stderr()}")
    raise RuntimeError(f"oidc-provider found no free port; node's stderr:\n{provider.stderr()}")


@contextmanager
def oidc_provider_running(
    clients: list[dict[str, Any]],
    accounts: dict[str, dict[str, Any]],
    ttl: dict[str, int] | None = None,
) -> Iterator[RunningProvider]:
    """``start_oidc_provider`` as a context manager: stopped on leaving the block."""
    provider = start_oidc_provider(clients, accounts, ttl)
    try:
        yield provider
    finally:
        provider.stop()


@atexit.register
def _stop_all() -> None:
    for provider in list(_running):
        provider.stop()


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def oidc_provider_factory() -> Iterator[Callable[..., RunningProvider]]:
    """``factory(redirect_uris=[...], post_logout_redirect_uris=[...], ttl=None,
    **client_options)`` → a running provider whose only client is ``viatic-test`` /
    ``viatic-test-secret`` with those URIs and options (e.g.
    ``userinfo_signed_response_alg="RS256"``), and whose accounts are ``alice`` and ``bob``
    (``TEST_ACCOUNTS``). The same options give the same provider for the whole session."""
    started: dict[str, RunningProvider] = {}

    def factory(
        redirect_uris: Iterable[str] = (DEFAULT_REDIRECT_URI,),
        post_logout_redirect_uris: Iterable[str] = (DEFAULT_POST_LOGOUT_REDIRECT_URI,),
        ttl: dict[str, int] | None = None,
        **client_options: Any,
    ) -> RunningProvider:
        client = client_metadata(redirect_uris, post_logout_redirect_uris, **client_options)
        key = json.dumps([client, ttl], sort_keys=True)
        provider = started.get(key)
        if provider is None or provider.process.poll() is not None:
            provider = started[key] = start_oidc_provider([client], TEST_ACCOUNTS, ttl)
        return provider

    yield factory
    for provider in started.values():
        provider.stop()


@pytest.fixture(scope="session")
def oidc_provider(oidc_provider_factory: Callable[..., RunningProvider]) -> RunningProvider:
    """A provider with ``viatic-test`` redirecting to ``DEFAULT_REDIRECT_URI`` and, after
    logout, to ``DEFAULT_POST_LOGOUT_REDIRECT_URI``."""
    return oidc_provider_factory()


# --- Playing the browser's part ---------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page: id, action, method and the fields a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = {
                "id": attributes.get("id", ""),
                "action": attributes.get("action", ""),
                "method": attributes.get("method", "get").lower(),
                "fields": {},
            }
            self.forms.append(self._current)
        elif tag == "input" and attributes.get("name"):
            if attributes.get("type", "text") in {"submit", "button", "image", "reset"}:
                return
            form = self._form_of(attributes)
            if form is not None:
                form["fields"][attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None

    def _form_of(self, attributes: dict[str, str]) -> dict[str, Any] | None:
        owner = attributes.get("form")
        if owner:
            return next((form for form in self.forms if form["id"] == owner), None)
        return self._current


def _forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _describe(response: requests.Response) -> str:
    text = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", response.text)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())
    return f"{response.request.method} {response.url} → {response.status_code}: {text[:2000]}"


def _follow(
    http: requests.Session,
    response: requests.Response,
    origin: tuple[str, str],
    on_page: Callable[[requests.Response], requests.Response | None],
    max_steps: int = 20,
) -> str:
    """Follow redirects and form pages at the provider's ``origin``; return the first URL
    outside it. ``on_page`` answers a page with the next response, or None to stop there."""
    for _step in range(max_steps):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if _origin(location) != origin:
                return location
            response = http.get(location, allow_redirects=False)
            continue
        if response.status_code != 200:
            raise AssertionError(f"the OIDC provider answered an error: {_describe(response)}")
        following = on_page(response)
        if following is None:
            return response.url
        response = following
    raise AssertionError(f"the OIDC provider redirected more than {max_steps} times")


def _submit(
    http: requests.Session, page: requests.Response, form: dict[str, Any], data: dict[str, str]
) -> requests.Response:
    action = urljoin(page.url, form["action"] or page.url)
    fields = {**form["fields"], **data}
    if form["method"] == "post":
        return http.post(action, data=fields, allow_redirects=False)
    return http.get(action, params=fields, allow_redirects=False)


def login_at_provider(
    http: requests.Session, authorize_url: str, login: str, password: str = "any-password"
) -> str:
    """Sign ``login`` in at the provider's development login form and consent, as a browser
    holding the cookies of ``http`` would, starting at ``authorize_url`` (the client's
    authorization request). Returns the URL the provider redirects to, towards the client's
    redirect_uri (with ``code``, ``state`` and ``iss``, or ``error``), without requesting it.
    A session already open at the provider skips the forms it does not need."""
    origin = _origin(authorize_url)

    def answer(page: requests.Response) -> requests.Response:
        for form in _forms(page.text):
            prompt = form["fields"].get("prompt")
            if prompt == "login":
                return _submit(http, page, form, {"login": login, "password": password})
            if prompt == "consent":
                return _submit(http, page, form, {})
        raise AssertionError(f"no login or consent form on the page: {_describe(page)}")

    first = http.get(authorize_url, allow_redirects=False)
    return _follow(http, first, origin, answer)


def end_session_at_provider(
    http: requests.Session, end_session_url: str, confirm: bool = True
) -> str:
    """Answer oidc-provider's "Do you want to sign-out?" page (``logout=yes`` with its
    ``xsrf`` field, or "No, stay signed in" when ``confirm`` is false) reached from
    ``end_session_url``, as a browser holding the cookies of ``http`` would. Returns the URL
    the provider redirects to, the client's post_logout_redirect_uri (with ``state``), without
    requesting it; or, with no post_logout_redirect_uri, the provider's own final page."""
    origin = _origin(end_session_url)

    def answer(page: requests.Response) -> requests.Response | None:
        for form in _forms(page.text):
            if form["id"] == "op.logoutForm" or "xsrf" in form["fields"]:
                return _submit(http, page, form, {"logout": "yes"} if confirm else {})
        return None  # the provider's own "signed out" page

    first = http.get(end_session_url, allow_redirects=False)
    return _follow(http, first, origin, answer)
