"""The Académie's rules, shared by its pages, its JSON API, its jobs and its outbox handler.

Every operation goes through ``toolkit.capability(commune, "lms")``: nothing here knows which
provider serves the commune. Pages read local tables only (the catalogue and the progress
are copied in by the scheduled jobs, or on demand); an enrolment is written locally at once
and reaches a remote provider through the outbox, so that a provider that is down delays it
("inscription en cours") without losing it. A provider that refuses the commune's settings
(``toolkit.SettingsRefused``) is not an outage: its enrolments wait ("inscription en attente"),
the commune admins are told once, and a job sends them when the settings work again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import abort
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import ngettext
from plugins.academie.models import (
    ACTIVE,
    COMPLETED,
    FAILED,
    LEVELS,
    PENDING,
    WAITING,
    Course,
    Enrolment,
)

log = logging.getLogger(__name__)

ENROL_KIND = "academie.enrol"
SETTINGS_REFUSED = "academie.settings_refused"  # the notification type of commune admins
SEARCH_MAX = 100
COMPLETE = 100.0


class AcademieError(Exception):
    """A request the rules refuse; ``message`` is for the person (French, translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the provider ---------------------------------------------------------------------------


def provider(commune: toolkit.Commune) -> Any | None:
    """The commune's ``lms`` provider, or None when it has none (pages then say so)."""
    try:
        return toolkit.capability(commune, "lms")
    except toolkit.CapabilityUnavailable as error:
        log.info("No lms provider for %s: %s", commune.insee, error)
        return None


def learner_of(user: toolkit.User) -> toolkit.Learner:
    return toolkit.Learner(user_id=user.id, email=user.email, name=user.name)


# --- the catalogue --------------------------------------------------------------------------


def refresh_catalogue(commune: toolkit.Commune, lms: Any | None = None) -> int:
    """Copy the provider's catalogue into the commune's; courses it no longer lists are marked
    removed (their enrolments stay). Returns the number of courses listed. Raises the
    provider's error when it fails: the job records it, the page shows it."""
    lms = lms if lms is not None else provider(commune)
    if lms is None:
        return 0
    listed = {info.id: info for info in lms.list_courses()}
    known = {
        c.external_id: c
        for c in toolkit.db.scalars(
            select(Course).where(Course.commune_id == commune.id, Course.provider == lms.key)
        )
    }
    now = toolkit.utcnow()
    for external_id, info in listed.items():
        course = known.get(external_id)
        if course is None:
            course = Course(commune_id=commune.id, provider=lms.key, external_id=external_id)
            toolkit.db.add(course)
        course.title = info.title[:300]
        course.description = info.description
        course.duration_minutes = info.duration_minutes
        course.level = info.level if info.level in LEVELS else ""
        course.themes = list(info.themes)
        course.url = info.url[:500]
        course.removed_at = None
        course.refreshed_at = now
    for external_id, course in known.items():
        if external_id not in listed and course.removed_at is None:
            course.removed_at = now
    toolkit.db.flush()
    return len(listed)


@dataclass(frozen=True)
class Catalogue:
    courses: list[Course]
    themes: list[tuple[str, str]]  # (value, what to show): the filter's choices
    available: bool  # False: the commune has no provider, or its provider failed just now
    provider_label: str = ""  # the name of the tool that serves these courses
    copied: bool = False  # a remote provider's courses, as the last refresh copied them
    titles: dict[str, str] = field(default_factory=dict)  # référentiel titles by code

    def theme_names(self, course: Course) -> list[str]:
        return named_themes(course, self.titles)


def theme_titles() -> dict[str, str]:
    """The référentiel's theme titles by code (courses are tagged with its codes, or with
    free words: a Chamilo category, an author's own)."""
    return {t.code: t.title for t in toolkit.referentiel_themes()}


def named_themes(course: Course, titles: dict[str, str]) -> list[str]:
    """A course's themes as people read them: a référentiel code by its title."""
    return [titles.get(t, t) for t in course.themes]


def catalogue(
    commune: toolkit.Commune, query: str = "", theme: str = "", level: str = ""
) -> Catalogue:
    """The current provider's courses, filtered. A local provider is read afresh (it costs
    one query); a remote one is read from the copy the jobs keep."""
    lms = provider(commune)
    if lms is None:
        return Catalogue([], [], False)
    available = True
    if not lms.remote:
        refresh_catalogue(commune, lms)
    statement = select(Course).where(
        Course.commune_id == commune.id, Course.provider == lms.key, Course.removed_at.is_(None)
    )
    every = list(toolkit.db.scalars(statement.order_by(Course.title)))
    titles = theme_titles()
    themes = sorted(
        {(t, titles.get(t, t)) for c in every for t in c.themes}, key=lambda p: p[1].casefold()
    )
    words = query.strip().casefold().split()[:10]

    def text(c: Course) -> str:
        names = " ".join(titles.get(t, t) for t in c.themes)
        return f"{c.title} {c.description} {names}".casefold()

    found = [
        c
        for c in every
        if (not theme or theme in c.themes)
        and (not level or c.level == level)
        and all(w in text(c) for w in words)
    ]
    return Catalogue(found, themes, available, str(lms.label), bool(lms.remote), titles)


def get_course(commune: toolkit.Commune, course_id: int) -> Course:
    """A course of the commune's catalogue (of any provider it had), or 404."""
    course = toolkit.db.get(Course, course_id)
    if course is None or course.commune_id != commune.id:
        abort(404)
    return course


def current_provider_key(commune: toolkit.Commune) -> str | None:
    lms = provider(commune)
    return lms.key if lms is not None else None


def provider_label(commune: toolkit.Commune, key: str) -> str:
    """The name of the tool that serves (or served) a course, as its pages show it; empty
    once that provider is no longer enabled for the commune."""
    try:
        return str(toolkit.capability(commune, "lms", provider=key).label)
    except toolkit.CapabilityUnavailable:
        return ""


# --- enrolments -----------------------------------------------------------------------------


def enrolment_of(user: toolkit.User | None, course: Course) -> Enrolment | None:
    if user is None:
        return None
    return toolkit.db.scalar(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)
    )


def enrol(commune: toolkit.Commune, user: toolkit.User, course: Course) -> Enrolment:
    """Enrol ``user`` in ``course``; a second request (a double click) returns the first
    enrolment. A remote provider is reached through the outbox; a local one at once."""
    toolkit.check("academie.enrol", commune, user)
    existing = enrolment_of(user, course)
    if existing is not None and existing.status != FAILED:
        return existing
    lms = provider(commune)
    if lms is None or course.removed_at is not None or course.provider != lms.key:
        raise AcademieError(_("Cette formation n'est plus proposée : l'inscription est fermée."))
    enrolment = existing or Enrolment(commune_id=commune.id, user_id=user.id, course_id=course.id)
    enrolment.status, enrolment.error = PENDING, None
    if not toolkit.add_once(enrolment):
        # Two clicks raced past the check above: the other one won; show its enrolment.
        found = enrolment_of(user, course)
        assert found is not None
        return found
    toolkit.audit(
        "academie.enrolment.requested",
        commune=commune,
        object_type="academie_course",
        object_id=str(course.id),
        details={"provider": course.provider, "title": course.title},
    )
    if lms.remote:
        waiting = first_waiting(commune)
        if waiting is not None:
            # The provider refuses the settings: this one waits with the others, and
            # leaves with them once the settings are fixed (waiting_job).
            enrolment.status, enrolment.error = WAITING, waiting.error
            return enrolment
        # No idempotency key of ours: the enrolment row is the guard (a message finding it
        # no longer pending does nothing), and the provider's enrol() is idempotent.
        toolkit.outbox_put(ENROL_KIND, {"enrolment_id": enrolment.id}, commune=commune)
    else:
        _deliver(enrolment, lms)
    return enrolment


def deliver(message: toolkit.OutboxMessage) -> None:
    """Outbox handler: hand a pending enrolment to the commune's provider. Raises while the
    provider cannot be reached (the outbox retries); a refusal is final and recorded; refused
    settings make it wait for the commune's admins (the outbox is done with it)."""
    enrolment = toolkit.db.get(Enrolment, message.payload.get("enrolment_id"))
    if enrolment is None or enrolment.status != PENDING:
        return  # already delivered, or the person's account is gone
    commune = toolkit.db.get(toolkit.Commune, enrolment.commune_id)
    lms = provider(commune)
    if lms is None:
        raise toolkit.CapabilityUnavailable(f"no lms provider for commune {commune.insee}")
    _deliver(enrolment, lms)
    toolkit.db.commit()


def _deliver(enrolment: Enrolment, lms: Any) -> None:
    course = enrolment.course
    if course.provider != lms.key:
        enrolment.status = FAILED
        enrolment.error = "provider_changed"
        return
    commune = toolkit.db.get(toolkit.Commune, enrolment.commune_id)
    try:
        lms.enrol(course.external_id, learner_of(enrolment.user))
    except toolkit.EnrolmentRefused as refused:
        enrolment.status = FAILED
        enrolment.error = str(refused)[:300]
        log.warning("Enrolment %s refused by %s: %s", enrolment.id, lms.key, refused)
        return
    except toolkit.SettingsRefused as refused:
        _wait_for_settings(commune, enrolment, lms, str(refused))
        return
    enrolment.status, enrolment.error = ACTIVE, None
    enrolment.active_at = toolkit.utcnow()
    toolkit.notify(
        [enrolment.user],
        "academie.enrolled",
        _("Inscription confirmée : %(title)s", title=course.title),
        _("Vous pouvez commencer la formation quand vous le souhaitez."),
        course_url(commune, course),
        commune=commune,
    )


def _wait_for_settings(
    commune: toolkit.Commune, enrolment: Enrolment, lms: Any, reason: str
) -> None:
    """Keep the enrolment until the commune's settings work; the commune admins are told
    when the first enrolment starts waiting, not at each one."""
    told = first_waiting(commune) is not None  # read before this one waits too
    enrolment.status, enrolment.error = WAITING, reason[:300]
    log.warning("Enrolment %s waits for the settings of %s: %s", enrolment.id, lms.key, reason)
    if told:
        return
    toolkit.notify(
        toolkit.commune_admins(commune),
        SETTINGS_REFUSED,
        _("Formations : les inscriptions attendent la connexion à %(tool)s", tool=lms.label),
        " ".join(
            (
                reason,
                _(
                    "Les inscriptions demandées sont gardées : elles partiront d'elles-mêmes "
                    "dès que la connexion fonctionnera."
                ),
            )
        ),
        _path("admin.modules", insee=commune.insee),
        commune=commune,
    )


def first_waiting(commune: toolkit.Commune) -> Enrolment | None:
    """The oldest of the commune's enrolments that wait for its settings, if any."""
    return toolkit.db.scalar(
        select(Enrolment)
        .where(Enrolment.commune_id == commune.id, Enrolment.status == WAITING)
        .order_by(Enrolment.created_at, Enrolment.id)
        .limit(1)
    )


def waiting_job(commune: toolkit.Commune) -> None:
    """Scheduled: try the enrolments that wait for the commune's settings again, the oldest
    first. While the provider still refuses the settings, one call says so: this raises, and
    the scheduler shows its words as the module's last error. Once one goes through, the
    others go back to the outbox."""
    if first_waiting(commune) is None:
        return  # the usual case, before building any provider
    lms = provider(commune)
    if lms is None:
        return  # no provider to try: they wait for one
    while (enrolment := first_waiting(commune)) is not None:
        _deliver(enrolment, lms)  # goes through, is refused for good, or waits again
        if enrolment.status == WAITING:
            waiting = toolkit.db.scalar(
                select(func.count())
                .select_from(Enrolment)
                .where(Enrolment.commune_id == commune.id, Enrolment.status == WAITING)
            )
            raise toolkit.SettingsRefused(
                ngettext(
                    "%(num)d inscription attend : %(reason)s",
                    "%(num)d inscriptions attendent : %(reason)s",
                    waiting,
                    reason=enrolment.error,
                )
            )
        if enrolment.status == ACTIVE:
            break
    for enrolment in toolkit.db.scalars(
        select(Enrolment).where(Enrolment.commune_id == commune.id, Enrolment.status == WAITING)
    ):
        enrolment.status, enrolment.error = PENDING, None
        toolkit.outbox_put(ENROL_KIND, {"enrolment_id": enrolment.id}, commune=commune)


def course_url(commune: toolkit.Commune, course: Course) -> str:
    return _path("academie.course", course_id=course.id, insee=commune.insee)


def _path(endpoint: str, **values: Any) -> str:
    """A page's path, built without a request: the outbox and the jobs run in the scheduler,
    where ``url_for`` fails unless VIATIC_SERVER_NAME is set (notifications complete it)."""
    from flask import current_app

    return current_app.url_map.bind("").build(endpoint, values)


# --- progress -------------------------------------------------------------------------------


def sync_progress(commune: toolkit.Commune, user: toolkit.User | None = None) -> int:
    """Ask the provider for the progress of the commune's active enrolments on it (or of one
    person's), store it, mark completions. Returns how many enrolments were updated."""
    lms = provider(commune)
    if lms is None:
        return 0
    query = (
        select(Enrolment)
        .join(Course)
        .options(joinedload(Enrolment.course), joinedload(Enrolment.user))
        .where(
            Enrolment.commune_id == commune.id,
            Enrolment.status == ACTIVE,
            Course.provider == lms.key,
        )
    )
    if user is not None:
        query = query.where(Enrolment.user_id == user.id)
    enrolments = list(toolkit.db.scalars(query).unique())
    if not enrolments:
        return 0
    items = [(e.course.external_id, learner_of(e.user)) for e in enrolments]
    reported = lms.progress(items)
    now, updated = toolkit.utcnow(), 0
    for enrolment in enrolments:
        value = reported.get((enrolment.course.external_id, enrolment.user_id))
        if value is None:
            continue
        enrolment.progress, enrolment.progress_at = float(value), now
        updated += 1
        if value >= COMPLETE:
            _complete(commune, enrolment, now)
    toolkit.db.flush()
    return updated


def _complete(commune: toolkit.Commune, enrolment: Enrolment, now: Any) -> None:
    enrolment.status, enrolment.completed_at = COMPLETED, now
    toolkit.notify(
        [enrolment.user],
        "academie.completed",
        _("Formation terminée : %(title)s", title=enrolment.course.title),
        _("Bravo ! Votre formation apparaît comme terminée dans « Mes formations »."),
        course_url(commune, enrolment.course),
        commune=commune,
    )


def sync_if_local(commune: toolkit.Commune, user: toolkit.User) -> None:
    """A local provider's progress is read on each page (it costs one query)."""
    lms = provider(commune)
    if lms is not None and not lms.remote:
        sync_progress(commune, user)


def refresh_catalogue_now(commune: toolkit.Commune, user: toolkit.User | None) -> int:
    """A commune admin's « Actualiser le catalogue »: the copy made now rather than at the
    job's next run (say, right after the provider's settings were entered)."""
    if not toolkit.is_commune_admin(user, commune):
        abort(403)
    count = refresh_catalogue(commune)
    toolkit.audit("academie.catalogue.refreshed", commune=commune, details={"courses": count})
    return count


def catalogue_job(commune: toolkit.Commune) -> None:
    """Scheduled: refresh a remote provider's catalogue (a local one is read on each page)."""
    lms = provider(commune)
    if lms is not None and lms.remote:
        refresh_catalogue(commune, lms)


def progress_job(commune: toolkit.Commune) -> None:
    """Scheduled: refresh the progress of the commune's enrolments."""
    sync_progress(commune)


# --- what people see ------------------------------------------------------------------------


def my_enrolments(commune: toolkit.Commune, user: toolkit.User) -> list[Enrolment]:
    """The person's enrolments in this commune, whatever provider served them: the progress
    earned on a provider the commune left stays visible."""
    return list(
        toolkit.db.scalars(
            select(Enrolment)
            .options(joinedload(Enrolment.course))
            .where(Enrolment.commune_id == commune.id, Enrolment.user_id == user.id)
            .order_by(Enrolment.created_at.desc(), Enrolment.id.desc())
        )
    )


def require_reader(commune: toolkit.Commune, user: toolkit.User | None) -> None:
    """403 unless ``user`` may open the catalogue here, or has enrolments here: an official
    who left the council still reads their own, a stranger reads nothing."""
    if toolkit.has_permission(user, commune, "academie.view"):
        return
    if user is None or not user.is_active:
        abort(403)
    mine = toolkit.db.scalar(
        select(Enrolment.id)
        .where(Enrolment.commune_id == commune.id, Enrolment.user_id == user.id)
        .limit(1)
    )
    if mine is None:
        abort(403)


def in_progress(commune: toolkit.Commune, user: toolkit.User, limit: int) -> list[Enrolment]:
    underway = (PENDING, WAITING, ACTIVE)
    return [e for e in my_enrolments(commune, user) if e.status in underway][:limit]


def can_see_team(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    """The maire, and the commune's admins (``academie.team`` is declared for them)."""
    return toolkit.has_permission(user, commune, "academie.team")


@dataclass(frozen=True)
class TeamMember:
    user: toolkit.User
    role: str
    enrolments: list[Enrolment]


def team(commune: toolkit.Commune, user: toolkit.User) -> list[TeamMember]:
    """Who of the commune's current members follows what, and how far. Former members drop
    out of it (their enrolments stay theirs)."""
    if not can_see_team(commune, user):
        abort(403)
    rows = toolkit.db.execute(
        select(toolkit.User, toolkit.Membership.role)
        .join(toolkit.Membership, toolkit.Membership.user_id == toolkit.User.id)
        .where(toolkit.Membership.commune_id == commune.id, toolkit.User.is_active.is_(True))
        .order_by(toolkit.User.name)
    ).all()
    enrolments: dict[int, list[Enrolment]] = {}
    for enrolment in toolkit.db.scalars(
        select(Enrolment)
        .options(joinedload(Enrolment.course))
        .where(Enrolment.commune_id == commune.id)
        .order_by(Enrolment.created_at)
    ):
        enrolments.setdefault(enrolment.user_id, []).append(enrolment)
    return [TeamMember(member, role, enrolments.get(member.id, [])) for member, role in rows]


def search(commune: toolkit.Commune, query: str, limit: int) -> list[Course]:
    lms_key = current_provider_key(commune)
    words = query.strip().split()[:5]
    if lms_key is None or not words:
        return []
    statement = select(Course).where(
        Course.commune_id == commune.id, Course.provider == lms_key, Course.removed_at.is_(None)
    )
    for word in words:
        pattern = f"%{word.lower()}%"
        statement = statement.where(
            or_(
                func.lower(Course.title).like(pattern), func.lower(Course.description).like(pattern)
            )
        )
    return list(toolkit.db.scalars(statement.order_by(Course.title).limit(limit)))
