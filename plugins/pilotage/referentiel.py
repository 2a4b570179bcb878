"""The référentiel « métier de l'élu local »: loading it from the YAML files shipped in
``referentiel/``, the platform admins' edits, and each commune's use of it (the themes it
adopts, the members involved in each, who covers what).

The files are the source: ``viatic pilotage referentiel`` loads them (and loads them again
after an upgrade). A theme whose file entry changed gets a new version, so that the
communes that adopted it see the change; a theme whose entry did not change keeps what a
platform admin wrote on it; a theme gone from the files is retired, not deleted (the
adoptions and the diagnostic answers that name it stay readable).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import load_only, selectinload
from werkzeug.exceptions import Forbidden

from core import toolkit
from core.toolkit import gettext as _
from plugins.pilotage.models import Adoption, Domain, Interest, Skills, Theme

PLUGIN = "pilotage"
FOLDER = Path(__file__).parent / "referentiel"
CODE_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
TITLE_MAX = 200
SKILLS_MAX = 2000
# What separates an obligation from its legal reference in the admin's edit form.
REF_SEPARATOR = " | "


class ReferentielError(Exception):
    """Input that cannot be accepted: ``errors`` maps each field at fault to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


# --- The files --------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ObligationEntry(_Strict):
    text: str = Field(min_length=1)
    ref: str = Field(min_length=1)


class ThemeEntry(_Strict):
    code: str = Field(pattern=CODE_PATTERN, max_length=60)
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    must: list[ObligationEntry] = []
    may: list[str] = []
    projects: list[str] = []
    indicators: list[str] = []

    def content(self) -> dict[str, object]:
        return self.model_dump(exclude={"code"})


class DomainEntry(_Strict):
    code: str = Field(pattern=CODE_PATTERN, max_length=60)
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = ""
    themes: list[ThemeEntry] = Field(min_length=1)


class FileError(Exception):
    """A file of the référentiel cannot be read; the message names it and the fault."""


def read_folder(folder: Path = FOLDER) -> list[DomainEntry]:
    """Every ``*.yaml`` of ``folder``, in the order of their names, validated."""
    domains: list[DomainEntry] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            domains.append(DomainEntry.model_validate(data))
        except yaml.YAMLError as exc:
            raise FileError(f"{path.name} : YAML invalide ({exc})") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise FileError(f"{path.name} : {where} : {first['msg']}") from exc
    if not domains:
        raise FileError(f"aucun fichier .yaml dans {folder}")
    for kind, codes in (
        ("domaine", [d.code for d in domains]),
        ("thème", [t.code for d in domains for t in d.themes]),
    ):
        seen: set[str] = set()
        for code in codes:
            if code in seen:
                raise FileError(f"le code de {kind} « {code} » apparaît deux fois")
            seen.add(code)
    return domains


def _digest(content: dict[str, object]) -> str:
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


@dataclass
class LoadSummary:
    domains: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0


def load(entries: list[DomainEntry]) -> LoadSummary:
    """Bring the tables in line with the files' ``entries``; the caller commits."""
    summary = LoadSummary(domains=len(entries))
    now = toolkit.utcnow()
    domains = {d.code: d for d in toolkit.db.scalars(select(Domain))}
    themes = {t.code: t for t in toolkit.db.scalars(select(Theme))}
    seen: set[str] = set()
    for d_position, entry in enumerate(entries):
        domain = domains.get(entry.code)
        if domain is None:
            domain = Domain(code=entry.code)
            toolkit.db.add(domain)
        domain.title, domain.description, domain.position = (
            entry.title,
            entry.description,
            d_position,
        )
        for t_position, theme_entry in enumerate(entry.themes):
            seen.add(theme_entry.code)
            content = theme_entry.content()
            digest = _digest(content)
            theme = themes.get(theme_entry.code)
            if theme is None:
                theme = Theme(code=theme_entry.code, version=1, changed_at=now)
                toolkit.db.add(theme)
                summary.added.append(theme_entry.code)
            elif theme.source_digest != digest or theme.retired_at is not None:
                theme.version += 1
                theme.changed_at = now
                theme.retired_at = None
                summary.changed.append(theme_entry.code)
            else:
                summary.unchanged += 1
                theme.domain, theme.position = domain, t_position
                continue
            theme.domain, theme.position, theme.source_digest = domain, t_position, digest
            theme.title = theme_entry.title
            theme.must = [o.model_dump() for o in theme_entry.must]
            theme.may, theme.projects = theme_entry.may, theme_entry.projects
            theme.indicators = theme_entry.indicators
    for code, theme in themes.items():
        if code not in seen and theme.retired_at is None:
            theme.retired_at = now
            summary.retired.append(code)
    toolkit.db.flush()
    toolkit.audit(
        "pilotage.referentiel_loaded",
        module=PLUGIN,
        object_type="referentiel",
        actor_label="cli",
        details={
            "added": summary.added,
            "changed": summary.changed,
            "retired": summary.retired,
        },
    )
    return summary


# --- Reading it -------------------------------------------------------------------------------


def domains() -> list[tuple[Domain, list[Theme]]]:
    """The domains, each with its themes in use (retired ones left out)."""
    found = toolkit.db.scalars(
        select(Domain).options(selectinload(Domain.themes)).order_by(Domain.position)
    ).all()
    listed = [(d, [t for t in d.themes if t.retired_at is None]) for d in found]
    return [(domain, themes) for domain, themes in listed if themes]


def theme_list() -> list[toolkit.ReferentielTheme]:
    """The themes in use, in order, as the other modules read them (their code, title and
    domain only: what tagging a course needs)."""
    rows = toolkit.db.execute(
        select(Theme.code, Theme.title, Domain.title)
        .join(Domain, Domain.id == Theme.domain_id)
        .where(Theme.retired_at.is_(None))
        .order_by(Domain.position, Theme.position)
    )
    return [toolkit.ReferentielTheme(code, title, domain) for code, title, domain in rows]


def _is_code(code: str) -> bool:
    """Whether ``code`` has a code's shape: anything else names nothing, and is not sent to
    the database (PostgreSQL refuses a NUL character, say)."""
    return len(code) <= 60 and re.fullmatch(CODE_PATTERN, code) is not None


def get_domain(code: str) -> Domain:
    domain = (
        toolkit.db.scalar(select(Domain).where(Domain.code == code)) if _is_code(code) else None
    )
    if domain is None:
        toolkit.refuse(_("Ce domaine n'existe pas dans le référentiel."), 404)
    return domain


def get_theme(code: str) -> Theme:
    theme = toolkit.db.scalar(select(Theme).where(Theme.code == code)) if _is_code(code) else None
    if theme is None:
        toolkit.refuse(_("Ce thème n'existe pas dans le référentiel."), 404)
    return theme


def edit_theme(
    user: toolkit.User,
    theme: Theme,
    title: str,
    must: str,
    may: str,
    projects: str,
    indicators: str,
) -> bool:
    """A platform admin's change to a theme's content; returns whether anything changed.

    ``must`` holds one obligation a line, ``texte | référence``; the others one item a line.
    """
    if not user.is_platform_admin:
        raise Forbidden()
    errors: dict[str, str] = {}
    title = _plain(title).strip()
    if not title:
        errors["title"] = _("Donnez un titre au thème.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Le titre ne doit pas dépasser 200 caractères.")
    obligations = []
    for line in _lines(must):
        text, _sep, ref = line.partition(REF_SEPARATOR.strip())
        if not text.strip() or not ref.strip():
            errors["must"] = _(
                "Chaque obligation tient sur une ligne : le texte, une barre verticale « | », "
                "puis la référence du texte de loi."
            )
            break
        obligations.append({"text": text.strip(), "ref": ref.strip()})
    if errors:
        raise ReferentielError(errors)
    after = {
        "title": title,
        "must": obligations,
        "may": _lines(may),
        "projects": _lines(projects),
        "indicators": _lines(indicators),
    }
    before = {name: getattr(theme, name) for name in after}
    if before == after:
        return False
    for name, value in after.items():
        setattr(theme, name, value)
    theme.version += 1
    theme.changed_at = toolkit.utcnow()
    toolkit.audit(
        "pilotage.theme_edited",
        module=PLUGIN,
        object_type="theme",
        object_id=theme.code,
        details={"version": theme.version, "before": before, "after": after},
        actor=user,
        commune=None,
    )
    return True


def _plain(text: str | None) -> str:
    """Typed text without NUL characters, which PostgreSQL refuses in a string."""
    return (text or "").replace("\x00", "")


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in _plain(text).splitlines() if line.strip()]


# --- A commune's themes -----------------------------------------------------------------------


def adoptions(commune: toolkit.Commune) -> dict[int, Adoption]:
    """The commune's adoptions, by theme id (retired themes included: their history stays)."""
    return {
        a.theme_id: a
        for a in toolkit.db.scalars(
            select(Adoption)
            .where(Adoption.commune_id == commune.id)
            .options(selectinload(Adoption.theme))
        )
    }


def adopted_themes(commune: toolkit.Commune, content: bool = True) -> list[Theme]:
    """The themes the commune works on, in the référentiel's order.

    ``content=False`` leaves their obligations, possibilities, projects and indicators
    unread, for the lists that show titles: a commune may adopt the 236 themes, and decoding
    all that JSON doubled the dashboard's time."""
    query = (
        select(Theme)
        .join(Adoption, Adoption.theme_id == Theme.id)
        .join(Domain, Domain.id == Theme.domain_id)
        .where(Adoption.commune_id == commune.id, Theme.retired_at.is_(None))
        .order_by(Domain.position, Theme.position)
    )
    if not content:
        query = query.options(load_only(Theme.id, Theme.code, Theme.title, Theme.domain_id))
    return list(toolkit.db.scalars(query))


def set_adoptions(
    commune: toolkit.Commune, user: toolkit.User, domain: Domain, chosen: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Adopt the ``chosen`` theme codes of ``domain`` and drop its others; returns the codes
    added and removed. Dropping a theme keeps its projects and answers."""
    toolkit.check("pilotage.adopt", commune=commune, user=user)
    themes = {t.code: t for t in domain.themes if t.retired_at is None}
    wanted = set(chosen)
    unknown = wanted - set(themes)
    if unknown:
        raise ReferentielError(
            {"themes": _("Choisissez des thèmes du domaine « %(domain)s ».", domain=domain.title)}
        )
    current = adoptions(commune)
    added, removed = [], []
    for code, theme in themes.items():
        adoption = current.get(theme.id)
        if code in wanted and adoption is None:
            new = Adoption(
                commune_id=commune.id,
                theme_id=theme.id,
                seen_version=theme.version,
                adopted_by_id=user.id,
            )
            if not toolkit.add_once(new):  # the same choice sent twice at the same instant
                continue  # adopted by the other request: not ours to record
            added.append(code)
        elif code not in wanted and adoption is not None:
            toolkit.db.delete(adoption)
            removed.append(code)
    if added or removed:
        toolkit.audit(
            "pilotage.themes_adopted",
            commune=commune,
            module=PLUGIN,
            object_type="domain",
            object_id=domain.code,
            details={"added": added, "removed": removed},
            actor=user,
        )
    return added, removed


def mark_seen(commune: toolkit.Commune, user: toolkit.User, theme: Theme) -> None:
    """The team has read the theme's latest version."""
    toolkit.check("pilotage.view", commune=commune, user=user)
    adoption = adoptions(commune).get(theme.id)
    if adoption is not None and adoption.seen_version != theme.version:
        toolkit.audit(
            "pilotage.theme_seen",
            commune=commune,
            module=PLUGIN,
            object_type="theme",
            object_id=theme.code,
            details={"before": adoption.seen_version, "after": theme.version},
            actor=user,
        )
        adoption.seen_version = theme.version


# --- Members' interests and skills ------------------------------------------------------------


def interests_of(commune: toolkit.Commune, user: toolkit.User) -> set[int]:
    return set(
        toolkit.db.scalars(
            select(Interest.theme_id).where(
                Interest.commune_id == commune.id, Interest.user_id == user.id
            )
        )
    )


def skills_of(commune: toolkit.Commune, user: toolkit.User) -> str:
    found = toolkit.db.scalar(
        select(Skills.text).where(Skills.commune_id == commune.id, Skills.user_id == user.id)
    )
    return found or ""


def set_interests(
    commune: toolkit.Commune, user: toolkit.User, theme_ids: Iterable[int], skills: str
) -> None:
    """Declare the adopted themes ``user`` wants to be involved in, and their skills."""
    toolkit.check("pilotage.view", commune=commune, user=user)
    wanted = set(theme_ids)
    adopted = {t.id for t in adopted_themes(commune)}
    errors: dict[str, str] = {}
    if wanted - adopted:
        errors["themes"] = _("Choisissez parmi les thèmes adoptés par la commune.")
    skills = _plain(skills).strip()
    if len(skills) > SKILLS_MAX:
        errors["skills"] = _("Décrivez vos compétences en 2 000 caractères au plus.")
    if errors:
        raise ReferentielError(errors)
    before = interests_of(commune, user)
    toolkit.db.execute(
        delete(Interest).where(
            Interest.commune_id == commune.id,
            Interest.user_id == user.id,
            Interest.theme_id.in_(before - wanted),
        )
    )
    for theme_id in wanted - before:
        toolkit.db.add(Interest(commune_id=commune.id, user_id=user.id, theme_id=theme_id))
    row = toolkit.db.scalar(
        select(Skills).where(Skills.commune_id == commune.id, Skills.user_id == user.id)
    )
    if row is None:
        row = Skills(commune_id=commune.id, user_id=user.id)
        toolkit.db.add(row)
    row.text = skills
    toolkit.audit(
        "pilotage.interests_declared",
        commune=commune,
        module=PLUGIN,
        object_type="user",
        object_id=user.id,
        details={"themes": sorted(wanted)},
        actor=user,
    )


@dataclass
class Coverage:
    """Who covers what: each adopted theme with the members involved, and the others."""

    themes: list[tuple[Theme, list[toolkit.User]]]
    skills: dict[int, str]

    @property
    def uncovered(self) -> list[Theme]:
        return [theme for theme, people in self.themes if not people]


def coverage(commune: toolkit.Commune) -> Coverage:
    themes = adopted_themes(commune, content=False)
    people: dict[int, list[toolkit.User]] = {t.id: [] for t in themes}
    # Only people who are still members of the commune cover a theme.
    rows = toolkit.db.execute(
        select(Interest.theme_id, toolkit.User)
        .join(toolkit.User, toolkit.User.id == Interest.user_id)
        .join(
            toolkit.Membership,
            (toolkit.Membership.user_id == Interest.user_id)
            & (toolkit.Membership.commune_id == commune.id),
        )
        .where(Interest.commune_id == commune.id, toolkit.User.is_active.is_(True))
        .order_by(toolkit.User.name)
    )
    for theme_id, user in rows:
        if theme_id in people:
            people[theme_id].append(user)
    skills = dict(
        toolkit.db.execute(
            select(Skills.user_id, Skills.text).where(
                Skills.commune_id == commune.id, Skills.text != ""
            )
        ).all()
    )
    return Coverage(themes=[(t, people[t.id]) for t in themes], skills=skills)


def search(query: str, limit: int) -> list[Theme]:
    """Themes in use whose title matches ``query``."""
    words = query.strip()
    if not words:
        return []
    return list(
        toolkit.db.scalars(
            select(Theme)
            .where(Theme.retired_at.is_(None), Theme.title.icontains(words, autoescape=True))
            .order_by(Theme.title)
            .limit(limit)
        )
    )
