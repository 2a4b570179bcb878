"""A project's documents: uploads through the core's file support (recognised by content,
images cleaned of their metadata), served only to those who may see the project, traced in
its activity feed."""

from __future__ import annotations

from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import projects
from plugins.pilotage.models import Document, Project
from plugins.pilotage.projects import PilotageError

MAX_BYTES = 10 * 2**20
KINDS = {"image", "document"}
PER_PROJECT = 50
TOO_MANY = _l("Un projet garde 50 documents au plus : retirez-en avant d'en ajouter.")


def documents_of(project: Project) -> list[Document]:
    return list(
        toolkit.db.scalars(
            select(Document)
            .where(Document.project_id == project.id)
            .options(selectinload(Document.stored))
            .order_by(Document.added_at, Document.id)
        )
    )


def get_document(project: Project, document_id: int) -> Document:
    """A document of ``project`` (the caller has found the project in the commune)."""
    found = toolkit.db.scalar(
        select(Document).where(Document.id == document_id, Document.project_id == project.id)
    )
    if found is None:
        toolkit.refuse(_("Ce document n'existe pas dans ce projet."), 404)
    return found


def add(
    commune: toolkit.Commune, user: toolkit.User, project: Project, upload: IO[bytes] | None
) -> Document:
    projects.check_edit(commune, user, project)
    if upload is None or not getattr(upload, "filename", ""):
        raise PilotageError({"file": _("Choisissez un fichier.")})
    if len(documents_of(project)) >= PER_PROJECT:
        raise PilotageError({"file": TOO_MANY})
    try:
        stored = toolkit.files.save(
            upload,
            commune=commune,
            plugin="pilotage",
            kinds=KINDS,
            max_bytes=MAX_BYTES,
            uploader=user,
        )
    except toolkit.files.Refused as refused:
        raise PilotageError({"file": refused.message}) from refused
    document = Document(project_id=project.id, stored=stored)
    toolkit.db.add(document)
    toolkit.db.flush()
    projects.record(commune, user, project, "document_added", title=stored.original_name)
    return document


def remove(
    commune: toolkit.Commune, user: toolkit.User, project: Project, document: Document
) -> None:
    projects.check_edit(commune, user, project)
    stored, name = document.stored, document.stored.original_name
    toolkit.db.delete(document)
    toolkit.files.delete(stored)  # the bytes go once this is committed
    projects.record(commune, user, project, "document_removed", title=name)
