"""The ideas box's logic, shared by the HTML pages, the JSON API and the hooks.

Each action checks its permission here, validates its input, writes its audit record and
sends its notifications, so that a rule holds whichever page, API call or script uses it.
Like the core's own services, these functions add to the session and leave the commit to
the caller: the change, its audit record and its notifications are saved together or not
at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from core.toolkit import ngettext
from flask import url_for
from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from viatic_idees.models import (
    ACCEPTED,
    DECLINED,
    NEW,
    UNDER_STUDY,
    Idea,
)

PLUGIN = "idees"
TITLE_MAX = 150
DEFAULT_MAX_LENGTH = 2000
LIST_LIMIT = 100
WIDGET_LIMIT = 5
# An answer moves an idea out of "nouvelle"; it never goes back there.
ANSWER_STATUSES = (UNDER_STUDY, ACCEPTED, DECLINED)

# Lazy: the forms of views.py use them too, at import time.
TITLE_REQUIRED = _l("Donnez un titre à votre idée.")
BODY_REQUIRED = _l("Décrivez votre idée en quelques phrases.")
ANSWER_REQUIRED = _l("Rédigez la réponse que lira l'auteur de l'idée.")
STATUS_REQUIRED = _l("Choisissez l'état de l'idée : à l'étude, retenue ou écartée.")


class IdeaError(Exception):
    """Input that cannot be accepted. ``message`` is for the person who sent it, in their
    language; ``field`` names the form field (or JSON key) at fault."""

    def __init__(self, message: object, field: str | None = None) -> None:
        super().__init__(message)
        self.message = str(message)  # a lazy string would not go into JSON
        self.field = field


@dataclass(frozen=True)
class BoxSettings:
    """The commune admin's settings of the ideas box (see ``viatic_settings_schema``)."""

    intro: str
    visible_before_answer: bool
    max_length: int


def box_settings(commune: toolkit.Commune) -> BoxSettings:
    values = toolkit.module_settings(commune, PLUGIN)
    max_length = values.get("max_length")
    # The settings form accepts any integer: fall back to the default rather than refuse
    # every idea because an admin typed 0.
    if not isinstance(max_length, int) or max_length < 1:
        max_length = DEFAULT_MAX_LENGTH
    return BoxSettings(
        intro=values.get("intro") or "",
        visible_before_answer=bool(values.get("visible_before_answer")),
        max_length=max_length,
    )


# --- Who may do what --------------------------------------------------------------------------


def can_answer(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, "idees.answer")


def can_moderate(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, "idees.moderate")


def shows_author(commune: toolkit.Commune, user: toolkit.User | None, idea: Idea) -> bool:
    """Whether ``user`` sees who proposed ``idea``: the elected team does, and the author.

    Neighbours do not: in a village of 200, a name next to an idea can keep people from
    proposing one.
    """
    return user is not None and (idea.author_id == user.id or can_answer(commune, user))


def visible_ideas(commune: toolkit.Commune, user: toolkit.User | None) -> Select[tuple[Idea]]:
    """The ideas of ``commune`` that ``user`` may see, as a query to refine."""
    query = select(Idea).where(Idea.commune_id == commune.id)
    if user is None or not toolkit.has_permission(user, commune, "idees.view"):
        return query.where(false())
    if not can_moderate(commune, user):
        # A hidden idea stays visible to its author, with a notice that it is hidden.
        query = query.where(or_(Idea.hidden_at.is_(None), Idea.author_id == user.id))
    if not can_answer(commune, user) and not box_settings(commune).visible_before_answer:
        query = query.where(or_(Idea.answered_at.is_not(None), Idea.author_id == user.id))
    return query


# --- Reading ----------------------------------------------------------------------------------


def list_ideas(
    commune: toolkit.Commune, user: toolkit.User | None, limit: int = LIST_LIMIT
) -> list[Idea]:
    query = (
        visible_ideas(commune, user)
        .options(selectinload(Idea.author))
        .order_by(Idea.created_at.desc(), Idea.id.desc())
        .limit(limit)
    )
    return list(toolkit.db.scalars(query))


def latest(commune: toolkit.Commune, user: toolkit.User | None) -> list[Idea]:
    return list_ideas(commune, user, limit=WIDGET_LIMIT)


def get_idea(commune: toolkit.Commune, user: toolkit.User | None, idea_id: int) -> Idea:
    """The idea, if it belongs to ``commune`` and ``user`` may see it; 404 otherwise (the
    same answer whether it does not exist or is not for this person)."""
    idea = toolkit.db.scalar(visible_ideas(commune, user).where(Idea.id == idea_id))
    if idea is None:
        toolkit.refuse(_("Cette idée n'existe pas, ou elle ne vous est pas visible."), 404)
    return idea


def search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[Idea]:
    words = query.strip()
    if not words:
        return []
    matches = or_(
        Idea.title.icontains(words, autoescape=True), Idea.body.icontains(words, autoescape=True)
    )
    return list(
        toolkit.db.scalars(
            visible_ideas(commune, user)
            .where(matches)
            .order_by(Idea.created_at.desc(), Idea.id.desc())
            .limit(limit)
        )
    )


def idea_url(commune: toolkit.Commune, idea: Idea, external: bool = False) -> str:
    return url_for("idees.show", insee=commune.insee, idea_id=idea.id, _external=external)


def excerpt(text: str, length: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


# --- Changing ---------------------------------------------------------------------------------


def _clean(value: object) -> str:
    """The text of a field: browsers send CRLF line ends, which would count twice."""
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").strip()


def propose(commune: toolkit.Commune, author: toolkit.User, title: object, body: object) -> Idea:
    """Add an idea of ``author`` to the commune's box and tell the elected team."""
    toolkit.check("idees.propose", commune=commune, user=author)
    title, body = _clean(title), _clean(body)
    if not title:
        raise IdeaError(TITLE_REQUIRED, "title")
    if len(title) > TITLE_MAX:
        raise IdeaError(
            _(
                "Le titre ne doit pas dépasser %(limit)d caractères (%(count)d actuellement).",
                limit=TITLE_MAX,
                count=len(title),
            ),
            "title",
        )
    if not body:
        raise IdeaError(BODY_REQUIRED, "body")
    limit = box_settings(commune).max_length
    if len(body) > limit:
        # The limit is the commune's setting, so it may be 1: ngettext picks the form.
        raise IdeaError(
            ngettext(
                "Le texte de l'idée ne doit pas dépasser %(num)d caractère "
                "(%(count)d actuellement).",
                "Le texte de l'idée ne doit pas dépasser %(num)d caractères "
                "(%(count)d actuellement).",
                limit,
                count=len(body),
            ),
            "body",
        )

    idea = Idea(commune_id=commune.id, author_id=author.id, title=title, body=body, status=NEW)
    toolkit.db.add(idea)
    toolkit.db.flush()  # the audit record and the link need the idea's id
    toolkit.audit(
        "idees.idea_proposed",
        commune=commune,
        module=PLUGIN,
        object_type="idea",
        object_id=idea.id,
        details={"title": title},
        actor=author,
    )
    # ``commune`` is given although notify defaults to the request's: a service acts on the
    # commune it is handed, and may run outside a request (a script, a scheduled job).
    toolkit.notify(
        answerers(commune, besides=author),
        "idees.new_idea",
        _("Nouvelle idée : %(title)s", title=title),
        body=excerpt(body),
        url=idea_url(commune, idea, external=True),
        commune=commune,
    )
    return idea


def answer(
    commune: toolkit.Commune, user: toolkit.User, idea: Idea, status: object, text: object
) -> Idea:
    """Answer ``idea`` (or change the answer) and tell its author."""
    toolkit.check("idees.answer", commune=commune, user=user)
    if idea.commune_id != commune.id:
        raise NotFound()
    if status not in ANSWER_STATUSES:
        raise IdeaError(STATUS_REQUIRED, "status")
    text = _clean(text)
    if not text:
        raise IdeaError(ANSWER_REQUIRED, "answer")
    limit = box_settings(commune).max_length
    if len(text) > limit:
        raise IdeaError(
            ngettext(
                "La réponse ne doit pas dépasser %(num)d caractère (%(count)d actuellement).",
                "La réponse ne doit pas dépasser %(num)d caractères (%(count)d actuellement).",
                limit,
                count=len(text),
            ),
            "answer",
        )

    before = {"status": idea.status, "answer": idea.answer}
    idea.status = str(status)
    idea.answer = text
    idea.answered_by_id = user.id
    idea.answered_at = toolkit.utcnow()
    toolkit.audit(
        "idees.idea_answered",
        commune=commune,
        module=PLUGIN,
        object_type="idea",
        object_id=idea.id,
        details={"before": before, "after": {"status": idea.status, "answer": text}},
        actor=user,
    )
    if idea.author is not None and idea.author_id != user.id:
        toolkit.notify(
            [idea.author],
            "idees.answered",
            _("Réponse à votre idée : %(title)s", title=idea.title),
            body=f"{idea.status_label} — {excerpt(text)}",
            url=idea_url(commune, idea, external=True),
            commune=commune,
        )
    return idea


def set_hidden(commune: toolkit.Commune, user: toolkit.User, idea: Idea, hidden: bool) -> bool:
    """Hide an idea from everyone but the moderators and its author, or show it again.

    Moderation never deletes: the commune keeps the trace of what was proposed. Returns
    whether anything changed.
    """
    toolkit.check("idees.moderate", commune=commune, user=user)
    if idea.commune_id != commune.id:
        raise NotFound()
    if (idea.hidden_at is not None) == hidden:
        return False
    idea.hidden_at = toolkit.utcnow() if hidden else None
    toolkit.audit(
        "idees.idea_hidden" if hidden else "idees.idea_restored",
        commune=commune,
        module=PLUGIN,
        object_type="idea",
        object_id=idea.id,
        actor=user,
    )
    return True


def answerers(commune: toolkit.Commune, besides: toolkit.User | None = None) -> list[toolkit.User]:
    """The active members of ``commune`` who may answer ideas there (the commune admin may
    have changed who does), ``besides`` left out."""
    members = toolkit.members_with_permission(commune, "idees.answer")
    return [member for member in members if besides is None or member.id != besides.id]


# --- Demonstration content --------------------------------------------------------------------


@dataclass(frozen=True)
class DemoIdea:
    title: str
    body: str
    status: str = NEW
    answer: str | None = None


DEMO_IDEAS = (
    DemoIdea(
        "Un banc près de l'église",
        "Beaucoup d'anciens montent à pied jusqu'à l'église et au monument aux morts. "
        "Un banc à l'ombre du tilleul, sur la place, permettrait de faire une pause "
        "et de discuter un moment.",
        ACCEPTED,
        "Merci pour cette proposition. Le conseil municipal a voté l'achat de deux bancs "
        "en chêne lors de sa dernière séance ; l'agent communal les posera avant l'été.",
    ),
    DemoIdea(
        "Un jardin partagé derrière la mairie",
        "Le terrain en herbe derrière la mairie ne sert à rien. On pourrait y faire un "
        "potager partagé : quelques carrés de légumes, un récupérateur d'eau de pluie et "
        "un coin pour les enfants du regroupement scolaire.",
    ),
    DemoIdea(
        "Sécuriser l'arrêt du car scolaire",
        "Les enfants attendent le car de ramassage au bord de la départementale, sans abri "
        "ni passage piéton. Un marquage au sol, un panneau « attention enfants » et un "
        "abri rassureraient les parents, surtout l'hiver quand il fait nuit.",
    ),
    DemoIdea(
        "Une boîte à livres dans l'ancienne cabine téléphonique",
        "La cabine téléphonique de la place ne fonctionne plus depuis longtemps. "
        "Avec quelques étagères, elle ferait une boîte à livres où chacun dépose et "
        "emprunte des livres.",
    ),
)


def add_demo_content(commune: toolkit.Commune) -> int:
    """Add the demo ideas that ``commune`` does not have yet; returns how many were added.

    Recognised by title, so that running the demo twice adds nothing.
    """
    existing = set(toolkit.db.scalars(select(Idea.title).where(Idea.commune_id == commune.id)))
    members = toolkit.db.execute(
        select(toolkit.User, toolkit.Membership.role)
        .join(toolkit.Membership, toolkit.Membership.user_id == toolkit.User.id)
        .where(toolkit.Membership.commune_id == commune.id)
        .order_by(toolkit.User.id)
    ).all()
    # Ideas come from the inhabitants; with none among the members, they stay anonymous
    # rather than show an elected member answering their own idea.
    author = _first_with_role(members, ("citoyen", "agent", "partenaire"))
    mayor = _first_with_role(members, ("maire", "adjoint"))
    added = 0
    for demo in DEMO_IDEAS:
        if demo.title in existing:
            continue
        idea = Idea(
            commune_id=commune.id,
            author_id=author.id if author is not None else None,
            title=demo.title,
            body=demo.body,
            status=demo.status,
        )
        if demo.answer:
            idea.answer = demo.answer
            idea.answered_by_id = mayor.id if mayor is not None else None
            idea.answered_at = toolkit.utcnow()
        toolkit.db.add(idea)
        toolkit.db.flush()
        toolkit.audit(
            "idees.demo_idea_added",
            commune=commune,
            module=PLUGIN,
            object_type="idea",
            object_id=idea.id,
            actor_label="viatic demo",
        )
        added += 1
    return added


def _first_with_role(
    members: list[tuple[toolkit.User, str]], roles: tuple[str, ...]
) -> toolkit.User | None:
    for role in roles:
        for user, member_role in members:
            if member_role == role:
                return user
    return None
