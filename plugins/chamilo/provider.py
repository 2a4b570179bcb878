"""The ``lms`` capability served by a commune's Chamilo, through ``connectors.chamilo``.

Built per commune and per use by the core (``toolkit.capability(commune, "lms")``) from the
commune's settings. It keeps the admin's API key encrypted in ``chamilo_credential`` and
each learner's account in ``chamilo_account``:

- an official gets a Chamilo account the first time they enrol (``username_exist``, then
  ``save_user`` as a learner carrying our user id, then ``get_user_api_key``), found again
  later; name and e-mail changes follow (``update_user_from_username``);
- progress is read as the learner (``course_learnpaths`` reports the caller's own), many
  learners at once over a bounded pool of threads: a Chamilo server is small;
- an enrolment that Chamilo refuses because of the commune's settings (the admin's password,
  its admin-only web services switched off, an address whose server refuses the call) raises
  ``toolkit.SettingsRefused``, saying what to fix: the Académie keeps it until then.

The core builds a provider at each use and nobody closes it, so the provider holds no
connection: each operation opens its client (one HTTP session, whose connections the
operation's calls and threads share) and closes it before returning. Database work stays on
the calling thread; the threads only make HTTP calls.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

import nh3
from sqlalchemy import select

from connectors import chamilo
from connectors.http import ConnectorError, ConnectorRejected, ConnectorUnavailable
from core import toolkit
from core.toolkit import gettext as _
from plugins.chamilo.models import Account, Credential

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
TIMEOUT = (5.0, 20.0)


def too_old() -> str:
    """What an ``InvalidAction`` means to a commune admin (translated when it is said)."""
    return _("Ce Chamilo est trop ancien (version 1.11.20 au moins).")


def credentials_refused() -> str:
    return _(
        "Chamilo refuse les identifiants enregistrés : vérifiez l'utilisateur et le mot de "
        "passe dans les réglages du module."
    )


def admin_only_refused(username: str) -> str:
    return _(
        "Chamilo refuse à « %(user)s » ses services web réservés aux administrateurs, dont les "
        "inscriptions ont besoin. Dans Chamilo, activez-les (réglage "
        "webservice_enable_adminonly_api) et vérifiez que cet utilisateur est administrateur "
        "de la plateforme.",
        user=username,
    )


def settings_problem(error: ConnectorError, username: str) -> str | None:
    """What a commune admin must fix when ``error`` is Chamilo refusing the module's settings,
    rather than an outage or a refusal of one request (a course gone); None otherwise."""
    if isinstance(error, chamilo.CredentialsRefused):
        return credentials_refused()
    if isinstance(error, chamilo.NotAllowed):
        return admin_only_refused(username)
    if isinstance(error, ConnectorRejected):  # 401, 403, 404...: an address or access rule
        return _(
            "Le serveur à l'adresse enregistrée refuse l'appel au service web de Chamilo "
            "(HTTP %(status)d) : vérifiez l'adresse dans les réglages du module et l'accès à "
            "ce serveur.",
            status=error.status,
        )
    return None


def connection_problem(error: ConnectorError) -> str:
    """Why « Tester la connexion » failed, in words a commune admin can act on."""
    if isinstance(error, chamilo.FeatureMissing):
        return too_old()
    if isinstance(error, chamilo.ChamiloRefused):
        return credentials_refused()
    if isinstance(error, chamilo.NotChamilo | ConnectorRejected):
        return _(
            "Cette adresse ne répond pas comme un Chamilo : vérifiez l'URL (la racine du site)."
        )
    if isinstance(error, ConnectorUnavailable):
        return _("Chamilo ne répond pas : service momentanément indisponible.")
    return _("Cette adresse n'est pas valide.")


def loginname_of(user_id: int) -> str:
    return f"viatic-{user_id}"


def split_name(name: str) -> tuple[str, str]:
    """Chamilo wants a first and a last name; the portal has one name."""
    first, _sep, last = name.strip().partition(" ")
    return first or name, last or first or name


def profile_digest(learner: toolkit.Learner) -> str:
    """What the account's profile was built from: a change means an update to send."""
    return hashlib.sha256(f"{learner.name}\n{learner.email}".encode()).hexdigest()


class ChamiloProvider:
    key = "chamilo"
    label = "Chamilo"
    remote = True

    def __init__(self, commune: toolkit.Commune, settings: dict[str, Any]) -> None:
        url, username, password = (
            settings.get("url"),
            settings.get("username"),
            settings.get("password"),
        )
        if not (url and username and password):
            raise ValueError("the Chamilo settings are incomplete")
        self.commune = commune
        self.url = str(url).rstrip("/")
        self.username = str(username)
        self.concurrency = max(
            1, min(int(settings.get("concurrency") or DEFAULT_CONCURRENCY), MAX_CONCURRENCY)
        )
        self._password = str(password)
        self._fresh_key: str | None = None

    @contextmanager
    def _chamilo(self) -> Iterator[chamilo.ChamiloClient]:
        """The Chamilo's client for one operation, with the admin's stored key: closed at the
        operation's end, and the key Chamilo gave meanwhile stored."""
        client = chamilo.ChamiloClient(
            self.url,
            self.username,
            self._password,
            api_key=self._stored_key(),
            on_api_key=self._remember,
            timeout=TIMEOUT,
            on_call=toolkit.connector_logger(self.commune),
            pool_size=self.concurrency,
        )
        try:
            yield client
        finally:
            client.close()
            self._save_key()

    # -- the admin's key

    def _stored_key(self) -> str | None:
        """The key kept for these settings (new settings mean a new key)."""
        stored = toolkit.db.get(Credential, self.commune.id)
        if stored is None or (stored.url, stored.username) != (self.url, self.username):
            return None
        return toolkit.decrypt_secret(stored.api_key)

    def _remember(self, key: str) -> None:
        self._fresh_key = key  # may run on a worker thread: stored by _save_key()

    def _save_key(self) -> None:
        if self._fresh_key is None:
            return
        stored = toolkit.db.get(Credential, self.commune.id)
        if stored is None:
            stored = Credential(commune_id=self.commune.id)
            toolkit.db.add(stored)
        stored.url, stored.username = self.url, self.username
        stored.api_key = toolkit.encrypt_secret(self._fresh_key)
        stored.obtained_at = toolkit.utcnow()
        self._fresh_key = None
        toolkit.db.flush()

    # -- the capability

    def list_courses(self) -> list[toolkit.CourseInfo]:
        with self._chamilo() as client:
            courses = client.courses()
        return [
            toolkit.CourseInfo(
                id=str(course.id),
                title=course.title,
                description=nh3.clean(course.description, tags=set()).strip(),
                themes=(course.category,) if course.category else (),
                url=f"{self.url}/courses/{course.directory or course.code}/index.php",
            )
            for course in courses
        ]

    def enrol(self, course_id: str, learner: toolkit.Learner) -> None:
        try:
            with self._chamilo() as client:
                account = self._account(client, learner)
                target = int(course_id)
                if client.subscribe(account.chamilo_id, target):
                    return
                # [false]: already subscribed (a delivery repeated), or no such course any more.
                if target in client.user_course_ids(account.chamilo_id):
                    return
        except chamilo.FeatureMissing:
            # InvalidAction: retrying cannot help until the Chamilo is upgraded.
            raise toolkit.EnrolmentRefused(too_old()) from None
        except (chamilo.ChamiloRefused, ConnectorRejected) as error:
            problem = settings_problem(error, self.username)
            if problem is None:
                raise
            raise toolkit.SettingsRefused(problem) from None
        raise toolkit.EnrolmentRefused(
            _("Chamilo a refusé l'inscription : la formation n'y existe peut-être plus.")
        )

    def _account(self, client: chamilo.ChamiloClient, learner: toolkit.Learner) -> Account:
        """The learner's Chamilo account: made once, found again, its profile kept current."""
        row = toolkit.db.scalar(
            select(Account).where(Account.url == self.url, Account.user_id == learner.user_id)
        )
        digest = profile_digest(learner)
        if row is not None:
            if row.profile_digest != digest:
                self._send_profile(client, row.loginname, learner)
                row.profile_digest = digest
            return row
        loginname = loginname_of(learner.user_id)
        firstname, lastname = split_name(learner.name)
        if client.username_exists(loginname):
            self._send_profile(client, loginname, learner)  # found again: bring it up to date
        else:
            client.create_learner(
                loginname=loginname,
                # Never used: officials come in through single sign-on (see the README).
                password=secrets.token_urlsafe(24),
                firstname=firstname,
                lastname=lastname,
                email=learner.email,
                original_id=str(learner.user_id),
                extra={"oauth2_id": str(learner.user_id)},
            )
        found = client.account(loginname)
        row = Account(
            url=self.url,
            user_id=learner.user_id,
            chamilo_id=found.id,
            loginname=loginname,
            api_key=toolkit.encrypt_secret(found.api_key),
            profile_digest=digest,
        )
        toolkit.db.add(row)
        toolkit.db.flush()
        return row

    def _send_profile(
        self, client: chamilo.ChamiloClient, loginname: str, learner: toolkit.Learner
    ) -> None:
        firstname, lastname = split_name(learner.name)
        client.update_user(loginname, firstname=firstname, lastname=lastname, email=learner.email)

    def progress(
        self, items: Sequence[tuple[str, toolkit.Learner]]
    ) -> dict[tuple[str, int], float | None]:
        """Each learner's progress in each course; a pair left out could not be read. Raises
        the connector's error when Chamilo could not be reached at all, or is too old to
        report progress."""
        rows = {
            row.user_id: row
            for row in toolkit.db.scalars(
                select(Account).where(
                    Account.url == self.url,
                    Account.user_id.in_({learner.user_id for _c, learner in items}),
                )
            )
        }
        learners = {learner.user_id: learner for _c, learner in items}
        # Each learner's key decrypted once, not once per course.
        accounts = {
            user_id: chamilo.Account(
                row.chamilo_id, row.loginname, toolkit.decrypt_secret(row.api_key) or ""
            )
            for user_id, row in rows.items()
        }
        work = [
            (course_id, learner.user_id, accounts[learner.user_id])
            for course_id, learner in items
            if learner.user_id in accounts
        ]
        with self._chamilo() as client:
            for user_id, row in rows.items():
                digest = profile_digest(learners[user_id])
                if row.profile_digest != digest:
                    self._send_profile(client, row.loginname, learners[user_id])
                    row.profile_digest = digest
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="chamilo") as pool:
                outcomes = list(pool.map(partial(self._read_progress, client), work))
        results: dict[tuple[str, int], float | None] = {}
        failures: list[ConnectorError] = []
        for (course_id, user_id, _account), (value, new_key, error) in zip(
            work, outcomes, strict=True
        ):
            if new_key is not None:
                rows[user_id].api_key = toolkit.encrypt_secret(new_key)
            if error is not None:
                failures.append(error)
            elif value is not None:
                results[(course_id, user_id)] = value
        if failures and len(failures) == len(work):
            raise failures[0]
        return results

    def _read_progress(
        self, client: chamilo.ChamiloClient, job: tuple[str, int, chamilo.Account]
    ) -> tuple[float | None, str | None, ConnectorError | None]:
        """(progress, the learner's new key if it had to be fetched again, an outage)."""
        course_id, _user_id, account = job
        try:
            try:
                return client.progress(account, int(course_id)), None, None
            except chamilo.InvalidApiKey:
                fresh = client.account(account.username)
                return client.progress(fresh, int(course_id)), fresh.api_key, None
        except chamilo.FeatureMissing as error:
            return None, None, error  # too old a Chamilo: the sync fails, and says why
        except chamilo.ChamiloRefused:
            return None, None, None  # the course was removed there: nothing to read
        except ConnectorError as error:
            return None, None, error

    def check(self) -> toolkit.Health:
        """Whether these settings reach a Chamilo that accepts them, in words a commune admin
        can act on: the catalogue, then a fresh authentication and the admin-only call that
        enrolments need (the client's probe of the admin-only web services, which Chamilo
        refuses while they are switched off or to a user who is not a platform admin)."""
        with self._chamilo() as client:
            try:
                count = len(client.courses())
                refused = client.refuses_admin_calls()
            except ConnectorError as error:
                return toolkit.Health(False, connection_problem(error))
        if refused:
            return toolkit.Health(
                False,
                _(
                    "Identifiants acceptés et catalogue lu, mais %(problem)s",
                    problem=admin_only_refused(self.username),
                ),
            )
        return toolkit.Health(
            True,
            toolkit.ngettext(
                "Connexion réussie : %(num)d formation disponible.",
                "Connexion réussie : %(num)d formations disponibles.",
                count,
            ),
        )
