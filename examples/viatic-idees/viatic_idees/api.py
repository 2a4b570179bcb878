"""The ideas box's JSON API: list, read and propose ideas, through the same services.

Mounted by the core under ``/api/v1/c/<INSEE>/idees/``. Errors are problems (RFC 9457,
``application/problem+json``) with a ``detail`` in the person's language: 400 naming the
``field`` at fault for bad input (below), and the core's own for the rest (``toolkit.refuse``,
401/403/404). A POST carries the session's CSRF token in the ``X-CSRFToken`` header, like any
form.
"""

from __future__ import annotations

from typing import Any

from core import toolkit
from core.toolkit import gettext as _
from flask import Blueprint, request, url_for

from viatic_idees import services
from viatic_idees.models import Idea

bp = Blueprint("idees_api", __name__)


@bp.errorhandler(services.IdeaError)
def _invalid(error: services.IdeaError) -> Any:
    # The core's error answer, plus the field at fault, so a client can point at it.
    return toolkit.problem(400, _("Demande incorrecte"), error.message, field=error.field)


class IdeaOut(toolkit.ApiSchema):
    """An idea as the API shows it; ``author`` only where the commune shows authors."""

    id: int
    title: str
    body: str
    status: str
    status_label: str
    author: str | None
    created_at: str
    answer: str | None
    answered_at: str | None
    hidden: bool
    url: str


class IdeaList(toolkit.ApiSchema):
    ideas: list[IdeaOut]


def _as_json(idea: Idea) -> dict[str, Any]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return {
        "id": idea.id,
        "title": idea.title,
        "body": idea.body,
        "status": idea.status,
        "status_label": idea.status_label,
        "author": (
            idea.author.name
            if idea.author is not None and services.shows_author(commune, user, idea)
            else None
        ),
        "created_at": idea.created_at.isoformat(),
        "answer": idea.answer,
        "answered_at": idea.answered_at.isoformat() if idea.answered_at else None,
        "hidden": idea.hidden_at is not None,
        "url": services.idea_url(commune, idea, external=True),
    }


@bp.get("/")
@toolkit.requires("idees.view")
@toolkit.api_operation(
    "Les idées de la commune", response=IdeaList, tags=["idées"], scopes=["idees:read"]
)
def list_ideas() -> Any:
    ideas = services.list_ideas(toolkit.current_commune(), toolkit.current_user())
    return {"ideas": [_as_json(idea) for idea in ideas]}


@bp.get("/<int:idea_id>")
@toolkit.requires("idees.view")
@toolkit.api_operation("Une idée", response=IdeaOut, tags=["idées"], scopes=["idees:read"])
def get_idea(idea_id: int) -> Any:
    return _as_json(services.get_idea(toolkit.current_commune(), toolkit.current_user(), idea_id))


@bp.post("/")
@toolkit.requires("idees.propose")
@toolkit.api_operation(
    "Proposer une idée", response=IdeaOut, status=201, tags=["idées"], scopes=["idees:write"]
)
def propose() -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        # No field to point at: the core's error answer says it all.
        toolkit.refuse(_("Envoyez un objet JSON avec un titre (« title ») et un texte (« body »)."))
    commune = toolkit.current_commune()
    idea = services.propose(commune, toolkit.current_user(), data.get("title"), data.get("body"))
    toolkit.db.commit()
    return _as_json(idea), 201, {"Location": url_for(".get_idea", idea_id=idea.id)}
