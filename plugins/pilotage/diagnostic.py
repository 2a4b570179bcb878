"""The self-diagnostic: a short questionnaire per adopted theme, derived from the
référentiel, the scores per theme and per domain, strengths and weaknesses, the history of
the rounds, and the anonymous comparison with other communes.

Questions of a theme: one per obligation (« est-elle remplie ? »), then « des projets en
cours ? » and « des demandes d'habitants en attente ? ». Answers score 100 (oui), 50 (en
partie) or 0 (non), the other way round for pending requests; « je ne sais pas » counts
for nothing. A theme's score is the mean of its scored answers; a domain's, the mean of its
scored themes. The domain scores of the current round are stored as answers come in.

The comparison: a commune that opts in lets its latest domain scores count; a job computes
each domain's median per population stratum and per EPCI, and keeps only groups of at
least ``MIN_GROUP`` communes, so that no commune can be recognised. A commune sees the
comparison once it shares its own scores.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import referentiel
from plugins.pilotage.models import (
    ANSWERS,
    Answer,
    Benchmark,
    Diagnostic,
    Domain,
    DomainScore,
    Sharing,
    Theme,
)
from plugins.pilotage.projects import PilotageError, text

PLUGIN = "pilotage"
MIN_GROUP = 5
STRONG = 75  # a theme at or above is a strength
WEAK = 50  # a theme under is a weakness
COMMENT_MAX = 2000
URL_MAX = 500
# Population strata (lower bounds), as the comparison groups communes.
STRATA = (0, 500, 2000, 3500, 10000, 50000)
STRATUM_LABELS = (
    _l("moins de 500 habitants"),
    _l("de 500 à 1 999 habitants"),
    _l("de 2 000 à 3 499 habitants"),
    _l("de 3 500 à 9 999 habitants"),
    _l("de 10 000 à 49 999 habitants"),
    _l("50 000 habitants et plus"),
)
ANSWER_LABELS = {
    "oui": _l("Oui"),
    "partiel": _l("En partie"),
    "non": _l("Non"),
    "nsp": _l("Je ne sais pas"),
}
POINTS = {"oui": 100, "partiel": 50, "non": 0}
# For pending requests, « non » is the good answer.
INVERTED = {"requests"}


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    reference: str = ""


def questions(theme: Theme) -> list[Question]:
    asked = [
        Question(
            f"must-{i}",
            _("Obligation remplie : %(text)s", text=o["text"]),
            o.get("ref", ""),
        )
        for i, o in enumerate(theme.must)
    ]
    asked.append(Question("projects", _("Des projets sont-ils en cours sur ce thème ?")))
    asked.append(
        Question("requests", _("Des demandes d'habitants sont-elles en attente sur ce thème ?"))
    )
    return asked


def points(question: str, value: str) -> int | None:
    if value not in POINTS:
        return None
    return 100 - POINTS[value] if question in INVERTED else POINTS[value]


def theme_score(answers: Iterable[Answer]) -> float | None:
    scored = [p for a in answers if (p := points(a.question, a.value)) is not None]
    return round(sum(scored) / len(scored), 1) if scored else None


# --- Rounds -----------------------------------------------------------------------------------


def current(commune: toolkit.Commune) -> Diagnostic | None:
    return toolkit.db.scalar(
        select(Diagnostic)
        .where(Diagnostic.commune_id == commune.id, Diagnostic.closed_at.is_(None))
        .order_by(Diagnostic.id.desc())
        .limit(1)
    )


def history(commune: toolkit.Commune) -> list[Diagnostic]:
    return list(
        toolkit.db.scalars(
            select(Diagnostic)
            .where(Diagnostic.commune_id == commune.id)
            .order_by(Diagnostic.started_at, Diagnostic.id)
        )
    )


def start_again(commune: toolkit.Commune, user: toolkit.User) -> Diagnostic:
    """Close the current round (its scores stay in the history) and open a new one."""
    toolkit.check("pilotage.diagnose", commune=commune, user=user)
    previous = current(commune)
    if previous is not None:
        previous.closed_at = toolkit.utcnow()
    round_ = Diagnostic(commune_id=commune.id, started_by_id=user.id)
    toolkit.db.add(round_)
    toolkit.db.flush()
    toolkit.audit(
        "pilotage.diagnostic_started",
        commune=commune,
        module=PLUGIN,
        object_type="diagnostic",
        object_id=round_.id,
        actor=user,
    )
    return round_


def answers_of(diagnostic: Diagnostic | None, theme: Theme) -> dict[str, Answer]:
    if diagnostic is None:
        return {}
    return {
        a.question: a
        for a in toolkit.db.scalars(
            select(Answer)
            .where(Answer.diagnostic_id == diagnostic.id, Answer.theme_id == theme.id)
            .options(selectinload(Answer.answered_by))
        )
    }


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def answer_theme(
    commune: toolkit.Commune, user: toolkit.User, theme: Theme, data: Mapping[str, Any]
) -> int:
    """Record the team's answers to ``theme`` (``data`` holds ``<key>``,
    ``<key>-comment`` and ``<key>-evidence`` per question); returns how many changed.
    A theme the commune has not adopted is refused, and nothing is written on any error."""
    toolkit.check("pilotage.diagnose", commune=commune, user=user)
    if theme.id not in {t.id for t in referentiel.adopted_themes(commune)}:
        raise PilotageError(
            {"theme": _("La commune n'a pas adopté ce thème : adoptez-le avant d'y répondre.")}
        )
    asked = questions(theme)
    errors: dict[str, object] = {}
    wanted: dict[str, tuple[str, str, str]] = {}
    for question in asked:
        value = text(data.get(question.key))
        comment = text(data.get(f"{question.key}-comment"))
        evidence = text(data.get(f"{question.key}-evidence"))
        if not value and not comment and not evidence:
            continue
        if value not in ANSWERS:
            errors[question.key] = _("Choisissez une réponse.")
        if len(comment) > COMMENT_MAX:
            errors[f"{question.key}-comment"] = _("Le commentaire compte 2 000 caractères au plus.")
        if evidence and (len(evidence) > URL_MAX or not _valid_url(evidence)):
            errors[f"{question.key}-evidence"] = _(
                "Le lien doit être une adresse web complète (https://…)."
            )
        wanted[question.key] = (value, comment, evidence)
    if errors:
        raise PilotageError(errors)
    round_ = current(commune) or start_again(commune, user)
    existing = answers_of(round_, theme)
    changed = 0
    now = toolkit.utcnow()
    for key, (value, comment, evidence) in wanted.items():
        answer = existing.get(key)
        if answer is None:
            answer = Answer(diagnostic_id=round_.id, theme_id=theme.id, question=key)
            toolkit.db.add(answer)
        elif (answer.value, answer.comment, answer.evidence_url) == (value, comment, evidence):
            continue
        answer.value, answer.comment, answer.evidence_url = value, comment, evidence
        answer.answered_by_id, answer.answered_at = user.id, now
        changed += 1
    if changed:
        toolkit.db.flush()
        store_domain_score(commune, round_, theme.domain)
        toolkit.audit(
            "pilotage.diagnostic_answered",
            commune=commune,
            module=PLUGIN,
            object_type="diagnostic",
            object_id=round_.id,
            details={"theme": theme.code, "answers": changed},
            actor=user,
        )
    return changed


# --- Scores -----------------------------------------------------------------------------------


@dataclass
class ThemeResult:
    theme: Theme
    score: float | None
    answered: int
    asked: int


@dataclass
class DomainResult:
    domain: Domain
    score: float | None
    themes: list[ThemeResult]


def _theme_scores(diagnostic: Diagnostic, themes: list[Theme]) -> dict[int, list[Answer]]:
    found: dict[int, list[Answer]] = defaultdict(list)
    if not themes:
        return found
    for answer in toolkit.db.scalars(
        select(Answer).where(
            Answer.diagnostic_id == diagnostic.id,
            Answer.theme_id.in_([t.id for t in themes]),
        )
    ):
        found[answer.theme_id].append(answer)
    return found


def _mean(values: Iterable[float | None]) -> float | None:
    scored = [v for v in values if v is not None]
    return round(sum(scored) / len(scored), 1) if scored else None


def store_domain_score(commune: toolkit.Commune, diagnostic: Diagnostic, domain: Domain) -> None:
    adopted = [t for t in referentiel.adopted_themes(commune) if t.domain_id == domain.id]
    answers = _theme_scores(diagnostic, adopted)
    score = _mean(theme_score(answers[t.id]) for t in adopted)
    toolkit.db.execute(
        delete(DomainScore).where(
            DomainScore.diagnostic_id == diagnostic.id, DomainScore.domain_id == domain.id
        )
    )
    if score is not None:
        toolkit.db.add(
            DomainScore(
                diagnostic_id=diagnostic.id,
                commune_id=commune.id,
                domain_id=domain.id,
                score=score,
            )
        )


def results(commune: toolkit.Commune, diagnostic: Diagnostic | None) -> list[DomainResult]:
    """Each domain with adopted themes, its score and its themes' scores, for a round."""
    adopted = referentiel.adopted_themes(commune)
    answers = _theme_scores(diagnostic, adopted) if diagnostic is not None else {}
    by_domain: dict[int, DomainResult] = {}
    for theme in adopted:
        given = answers.get(theme.id, [])
        item = ThemeResult(theme, theme_score(given), len(given), len(questions(theme)))
        by_domain.setdefault(theme.domain_id, DomainResult(theme.domain, None, [])).themes.append(
            item
        )
    for result in by_domain.values():
        result.score = _mean(t.score for t in result.themes)
    return list(by_domain.values())


def strengths_and_weaknesses(
    found: list[DomainResult],
) -> tuple[list[ThemeResult], list[ThemeResult]]:
    themes = [t for d in found for t in d.themes if t.score is not None]
    strong = sorted((t for t in themes if t.score >= STRONG), key=lambda t: -t.score)
    weak = sorted((t for t in themes if t.score < WEAK), key=lambda t: t.score)
    return strong, weak


def scores_by_round(commune: toolkit.Commune) -> dict[int, dict[int, float]]:
    """{diagnostic id: {domain id: score}} for every round of the commune."""
    table: dict[int, dict[int, float]] = defaultdict(dict)
    for row in toolkit.db.execute(
        select(DomainScore.diagnostic_id, DomainScore.domain_id, DomainScore.score).where(
            DomainScore.commune_id == commune.id
        )
    ):
        table[row.diagnostic_id][row.domain_id] = row.score
    return table


# --- The radar chart --------------------------------------------------------------------------


@dataclass
class Radar:
    """The points of an SVG radar (0-100 on each axis), drawn in a 200 × 200 box."""

    axes: list[tuple[str, float, float, float, float]]  # label, axis end x/y, label x/y
    points: str
    rings: list[str]


def radar(found: list[DomainResult]) -> Radar | None:
    """A radar needs three axes at least; otherwise the table alone says it."""
    scored = [d for d in found if d.score is not None]
    if len(scored) < 3:
        return None
    centre, radius = 100.0, 70.0

    def at(index: int, value: float, scale: float = 1.0) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * index / len(scored)
        r = radius * value / 100 * scale
        return round(centre + r * math.cos(angle), 1), round(centre + r * math.sin(angle), 1)

    axes = []
    for i, d in enumerate(scored):
        end, label = at(i, 100), at(i, 100, 1.2)
        axes.append((d.domain.title, *end, *label))
    points = " ".join(f"{x},{y}" for x, y in (at(i, d.score) for i, d in enumerate(scored)))
    rings = [
        " ".join(f"{x},{y}" for x, y in (at(i, level) for i in range(len(scored))))
        for level in (25, 50, 75, 100)
    ]
    return Radar(axes, points, rings)


# --- Sharing and the comparison ---------------------------------------------------------------


def is_sharing(commune: toolkit.Commune) -> bool:
    return bool(toolkit.db.scalar(select(Sharing.opted_in).where(Sharing.commune_id == commune.id)))


def set_sharing(commune: toolkit.Commune, user: toolkit.User, opted_in: bool) -> None:
    toolkit.check("pilotage.adopt", commune=commune, user=user)
    row = toolkit.db.get(Sharing, commune.id)
    if row is None:
        row = Sharing(commune_id=commune.id)
        toolkit.db.add(row)
    row.opted_in, row.changed_at = opted_in, toolkit.utcnow()
    toolkit.audit(
        "pilotage.sharing_changed",
        commune=commune,
        module=PLUGIN,
        object_type="commune",
        object_id=commune.id,
        details={"opted_in": opted_in},
        actor=user,
    )


def stratum(population: int | None) -> int | None:
    if population is None:
        return None
    return max(i for i, floor in enumerate(STRATA) if population >= floor)


def compute_benchmarks() -> int:
    """The scheduler's job: each domain's median per stratum and per EPCI, over the latest
    round of each opted-in commune; groups under MIN_GROUP are left out. Returns how many
    medians were stored."""
    latest = (
        select(Diagnostic.commune_id, func.max(Diagnostic.id).label("diagnostic_id"))
        .join(Sharing, (Sharing.commune_id == Diagnostic.commune_id) & Sharing.opted_in)
        .group_by(Diagnostic.commune_id)
        .subquery()
    )
    rows = toolkit.db.execute(
        select(
            DomainScore.domain_id,
            DomainScore.score,
            toolkit.Commune.population,
            toolkit.Commune.epci_siren,
        )
        .join(latest, latest.c.diagnostic_id == DomainScore.diagnostic_id)
        .join(toolkit.Commune, toolkit.Commune.id == DomainScore.commune_id)
    )
    groups: dict[tuple[str, int], list[float]] = defaultdict(list)
    for domain_id, score, population, epci in rows:
        level = stratum(population)
        if level is not None:
            groups[(f"strate:{level}", domain_id)].append(score)
        if epci:
            groups[(f"epci:{epci}", domain_id)].append(score)
    now = toolkit.utcnow()
    toolkit.db.execute(delete(Benchmark))
    stored = [
        {
            "group_key": key,
            "domain_id": domain_id,
            "median": round(statistics.median(scores), 1),
            "communes": len(scores),
            "computed_at": now,
        }
        for (key, domain_id), scores in groups.items()
        if len(scores) >= MIN_GROUP
    ]
    if stored:
        toolkit.db.execute(Benchmark.__table__.insert(), stored)
    return len(stored)


@dataclass
class Comparison:
    stratum_label: str | None
    epci_name: str | None
    # {domain id: (stratum median, EPCI median)}; None where the group is too small.
    medians: dict[int, tuple[float | None, float | None]]
    computed_at: dt.datetime | None


def comparison(commune: toolkit.Commune) -> Comparison:
    level = stratum(commune.population)
    keys = {}
    if level is not None:
        keys[f"strate:{level}"] = 0
    if commune.epci_siren:
        keys[f"epci:{commune.epci_siren}"] = 1
    medians: dict[int, list[float | None]] = defaultdict(lambda: [None, None])
    computed_at = None
    if keys:
        for row in toolkit.db.scalars(select(Benchmark).where(Benchmark.group_key.in_(keys))):
            if row.communes >= MIN_GROUP:  # never shown under the threshold
                medians[row.domain_id][keys[row.group_key]] = row.median
                computed_at = row.computed_at
    return Comparison(
        stratum_label=str(STRATUM_LABELS[level]) if level is not None else None,
        epci_name=commune.epci.name if commune.epci_siren and commune.epci else None,
        medians={k: (v[0], v[1]) for k, v in medians.items()},
        computed_at=computed_at,
    )
