"""The pages of projects and tasks: the project list with its filters, a project with its
milestones, tasks, comments and activity feed, the forms, the tasks as a list and as a
kanban (a form moves a card: no script needed), « Mes tâches », the timeline of the
mandate, and the projects published to citizens.

Thin on purpose: parse the request, call ``projects`` and ``tasks``, render.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.pilotage import documents, projects, referentiel, tasks
from plugins.pilotage.models import (
    HEALTHS,
    PRIORITIES,
    PROJECT_STATUSES,
    TASK_STATUSES,
    Project,
    Task,
)
from plugins.pilotage.views import bp, show_errors

# --- Forms ------------------------------------------------------------------------------------


def _choices(labels: dict[str, Any], keys: tuple[str, ...]) -> list[SelectChoice]:
    return [SelectChoice(k, labels[k]) for k in keys]


class ProjectForm(toolkit.Form):
    # The services check every rule and name the field at fault; the API goes through them
    # too. InputRequired marks the field as required on the page.
    title = StringField(
        _l("Titre"),
        [InputRequired(_l("Donnez un titre au projet."))],
        render_kw={"maxlength": projects.TITLE_MAX},
    )
    description = TextAreaField(_l("Description"), render_kw={"rows": 5})
    themes = SelectMultipleField(
        _l("Thèmes du référentiel"),
        description=_l("Parmi les thèmes adoptés par la commune."),
        validate_choice=False,
    )
    lead = SelectField(_l("Élu ou agent responsable"), validate_choice=False)
    members = SelectMultipleField(_l("Équipe du projet"), validate_choice=False)
    status = SelectField(
        _l("Statut"),
        choices=_choices(projects.STATUS_LABELS, PROJECT_STATUSES),
        validate_choice=False,
    )
    priority = SelectField(
        _l("Priorité"),
        choices=_choices(projects.PRIORITY_LABELS, PRIORITIES),
        default="normale",
        validate_choice=False,
    )
    start_date = StringField(_l("Date de début"), render_kw={"type": "date"})
    end_date = StringField(_l("Date de fin"), render_kw={"type": "date"})
    budget_planned = StringField(
        _l("Budget prévu (€)"),
        render_kw={"inputmode": "decimal"},
        description=_l("Par exemple 12500 ou 12500,50."),
    )
    budget_committed = StringField(_l("Budget engagé (€)"), render_kw={"inputmode": "decimal"})
    budget_spent = StringField(_l("Budget dépensé (€)"), render_kw={"inputmode": "decimal"})
    progress = StringField(
        _l("Avancement (%)"),
        default="0",
        render_kw={"type": "number", "min": 0, "max": 100, "inputmode": "numeric"},
    )
    health = SelectField(
        _l("Santé du projet"),
        choices=_choices(projects.HEALTH_LABELS, HEALTHS),
        validate_choice=False,
    )
    health_reason = TextAreaField(
        _l("Pourquoi ?"),
        description=_l("Obligatoire quand le projet est à risque ou bloqué."),
        render_kw={"rows": 3},
    )
    citizen_summary = TextAreaField(
        _l("Résumé pour les habitants"),
        description=_l("Ce que les habitants liront une fois le projet publié."),
        render_kw={"rows": 4},
    )
    published = BooleanField(_l("Publier le résumé aux habitants"))


class MilestoneForm(toolkit.Form):
    milestone_title = StringField(_l("Jalon"), render_kw={"maxlength": projects.TITLE_MAX})
    milestone_date = StringField(_l("Date du jalon"), render_kw={"type": "date"})


class DocumentForm(toolkit.Form):
    file = FileField(
        _l("Ajouter un document"),
        description=_l("PDF, bureautique, texte ou photo ; 10 Mo au plus."),
    )


class CommentForm(toolkit.Form):
    body = TextAreaField(_l("Votre commentaire"), render_kw={"rows": 3})


class TaskForm(toolkit.Form):
    title = StringField(
        _l("Titre"),
        [InputRequired(_l("Donnez un titre à la tâche."))],
        render_kw={"maxlength": projects.TITLE_MAX},
    )
    project = SelectField(_l("Projet"), validate_choice=False)
    assignee = SelectField(_l("Confiée à"), validate_choice=False)
    due_date = StringField(_l("Échéance"), render_kw={"type": "date"})
    priority = SelectField(
        _l("Priorité"),
        choices=_choices(projects.PRIORITY_LABELS, PRIORITIES),
        default="normale",
        validate_choice=False,
    )
    status = SelectField(
        _l("Statut"), choices=_choices(tasks.STATUS_LABELS, TASK_STATUSES), validate_choice=False
    )
    description = TextAreaField(_l("Description"), render_kw={"rows": 4})
    checklist = TextAreaField(
        _l("Liste de points à vérifier"),
        description=_l("Un point par ligne."),
        render_kw={"rows": 4},
    )


PROJECT_FIELDS = projects.FIELDS
TASK_FIELDS = (
    "title",
    "project",
    "assignee",
    "due_date",
    "priority",
    "status",
    "description",
    "checklist",
)


def _people_choices(commune: toolkit.Commune) -> list[SelectChoice]:
    return [SelectChoice(str(u.id), u.name) for u in projects.team_of(commune)]


def _project_form_choices(
    form: ProjectForm, commune: toolkit.Commune, project: Project | None
) -> None:
    themes = referentiel.adopted_themes(commune)
    if project is not None:
        themes += [t for t in project.themes if t not in themes]
    form.themes.choices = [SelectChoice(t.code, t.title) for t in themes]
    people = _people_choices(commune)
    form.lead.choices = [SelectChoice("", _("Personne pour l'instant")), *people]
    form.members.choices = people


def _project_data(form: ProjectForm) -> dict[str, Any]:
    return {name: form[name].data for name in PROJECT_FIELDS}


def _prefill_project(form: ProjectForm, project: Project) -> None:
    for name in PROJECT_FIELDS:
        value = getattr(project, name if name != "lead" else "lead_id")
        if name == "themes":
            value = [t.code for t in value]
        elif name == "members":
            value = [str(m.id) for m in value]
        elif name == "lead":
            value = str(value) if value else ""
        elif value is None:
            value = ""
        elif not isinstance(value, bool | list):
            value = str(value)
        form[name].data = value


# --- Projects ---------------------------------------------------------------------------------


@bp.get("/projets")
@toolkit.requires("pilotage.view")
def project_list() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = projects.list_projects(commune, projects.Filters.of(request.args))
    return toolkit.render(
        "pilotage/projects.html",
        found=found,
        themes=referentiel.adopted_themes(commune, content=False),
        can_create=projects.can_create(commune, user),
        status_labels=projects.translated(projects.STATUS_LABELS),
        health_labels=projects.translated(projects.HEALTH_LABELS),
    )


def _project_form_page(form: ProjectForm, project: Project | None, status: int) -> tuple[str, int]:
    return toolkit.render("pilotage/project_form.html", form=form, project=project), status


@bp.route("/projets/nouveau", methods=["GET", "POST"])
@toolkit.requires("pilotage.project_create")
def project_create() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form = ProjectForm()
    _project_form_choices(form, commune, None)
    if form.is_submitted():
        form.validate()
        try:
            project = projects.create_project(commune, user, _project_data(form))
        except projects.PilotageError as error:
            show_errors(form, error.errors)
            return _project_form_page(form, None, 400)
        toolkit.db.commit()
        flash(_("Projet « %(title)s » créé.", title=project.title), "success")
        return redirect(url_for(".project", project_id=project.id))
    # « Créer un projet » from a theme (a weak one of the diagnostic, say).
    theme_code = request.args.get("theme", "")
    if theme_code in {c.value for c in form.themes.choices}:
        form.themes.data = [theme_code]
    form.lead.data = str(user.id)
    return _project_form_page(form, None, 200)


@bp.route("/projets/<int:project_id>/modifier", methods=["GET", "POST"])
@toolkit.requires("pilotage.view")
def project_edit(project_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    project = projects.get_project(commune, project_id)
    projects.check_edit(commune, user, project)
    form = ProjectForm()
    _project_form_choices(form, commune, project)
    if form.is_submitted():
        form.validate()
        try:
            changed = projects.update_project(commune, user, project, _project_data(form))
        except projects.PilotageError as error:
            toolkit.db.rollback()
            show_errors(form, error.errors)
            return _project_form_page(form, project, 400)
        if changed:
            toolkit.db.commit()
            flash(_("Projet enregistré."), "success")
        else:
            flash(_("Rien n'a changé."), "info")
        return redirect(url_for(".project", project_id=project.id))
    _prefill_project(form, project)
    return _project_form_page(form, project, 200)


def _project_page(
    project: Project,
    milestone_form: MilestoneForm | None = None,
    comment_form: CommentForm | None = None,
    document_form: DocumentForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    activity = projects.activity(commune, project)
    return (
        toolkit.render(
            "pilotage/project.html",
            project=project,
            tasks=tasks.project_tasks(project),
            comments=projects.comments_of(project),
            activity=activity,
            actors=projects.actor_names(activity),
            can_edit=projects.can_edit(commune, user, project),
            can_add_task=tasks.can_write(commune, user)
            and projects.can_edit(commune, user, project),
            milestone_form=milestone_form or MilestoneForm(),
            comment_form=comment_form or CommentForm(),
            document_form=document_form or DocumentForm(),
            documents=documents.documents_of(project),
            status_labels=projects.STATUS_LABELS,
            health_labels=projects.HEALTH_LABELS,
            priority_labels=projects.PRIORITY_LABELS,
            task_labels=projects.translated(tasks.STATUS_LABELS),
            action_labels=projects.ACTION_LABELS,
            overdue=tasks.is_overdue,
        ),
        status,
    )


@bp.get("/projets/<int:project_id>")
@toolkit.requires("pilotage.view")
def project(project_id: int) -> tuple[str, int]:
    return _project_page(projects.get_project(toolkit.current_commune(), project_id))


@bp.post("/projets/<int:project_id>/jalons")
@toolkit.requires("pilotage.view")
def milestone_add(project_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    project = projects.get_project(commune, project_id)
    form = MilestoneForm()
    try:
        projects.add_milestone(
            commune, user, project, form.milestone_title.data, form.milestone_date.data
        )
    except projects.PilotageError as error:
        toolkit.db.rollback()
        show_errors(form, error.errors)
        return _project_page(project, milestone_form=form, status=400)
    toolkit.db.commit()
    flash(_("Jalon ajouté."), "success")
    return redirect(url_for(".project", project_id=project.id, _anchor="jalons"))


@bp.post("/projets/<int:project_id>/jalons/<int:milestone_id>")
@toolkit.requires("pilotage.view")
def milestone_toggle(project_id: int, milestone_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    project = projects.get_project(commune, project_id)
    projects.toggle_milestone(commune, user, project, milestone_id)
    toolkit.db.commit()
    return redirect(url_for(".project", project_id=project.id, _anchor="jalons"))


@bp.post("/projets/<int:project_id>/commentaires")
@toolkit.requires("pilotage.view")
def project_comment(project_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    project = projects.get_project(commune, project_id)
    return _comment(
        lambda body: projects.add_comment(commune, user, project, body),
        lambda form: _project_page(project, comment_form=form, status=400),
        url_for(".project", project_id=project.id, _anchor="commentaires"),
    )


def _comment(add: Callable[[str], Any], page: Callable[[CommentForm], Any], back: str) -> Any:
    """A comment posted under a project or a task: ``add`` it, or show ``page`` again with
    the form's errors."""
    form = CommentForm()
    try:
        add(form.body.data)
    except projects.PilotageError as error:
        show_errors(form, error.errors)
        return page(form)
    toolkit.db.commit()
    flash(_("Commentaire publié."), "success")
    return redirect(back)


@bp.post("/projets/<int:project_id>/documents")
@toolkit.requires("pilotage.view")
def document_add(project_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    project = projects.get_project(commune, project_id)
    form = DocumentForm()
    try:
        added = documents.add(commune, user, project, form.file.data)
    except projects.PilotageError as error:
        toolkit.db.rollback()
        show_errors(form, error.errors)
        return _project_page(project, document_form=form, status=400)
    toolkit.db.commit()
    flash(_("Document « %(name)s » ajouté.", name=added.stored.original_name), "success")
    return redirect(url_for(".project", project_id=project.id, _anchor="documents"))


@bp.get("/projets/<int:project_id>/documents/<int:document_id>")
@toolkit.requires("pilotage.view")
def document(project_id: int, document_id: int) -> Any:
    # Served only once the project is found in this commune, to its team.
    project = projects.get_project(toolkit.current_commune(), project_id)
    found = documents.get_document(project, document_id)
    return toolkit.files.response(found.stored, thumbnail=request.args.get("miniature") == "1")


@bp.post("/projets/<int:project_id>/documents/<int:document_id>/retirer")
@toolkit.requires("pilotage.view")
def document_remove(project_id: int, document_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    project = projects.get_project(commune, project_id)
    documents.remove(commune, user, project, documents.get_document(project, document_id))
    toolkit.db.commit()
    flash(_("Document retiré."), "success")
    return redirect(url_for(".project", project_id=project.id, _anchor="documents"))


@bp.get("/projets-publics")
@toolkit.requires("pilotage.public")
def public_projects() -> str:
    return toolkit.render(
        "pilotage/public.html",
        projects=projects.published_projects(toolkit.current_commune()),
        status_labels=projects.STATUS_LABELS,
    )


@bp.get("/calendrier")
@toolkit.requires("pilotage.view")
def timeline() -> str:
    commune = toolkit.current_commune()
    return toolkit.render("pilotage/timeline.html", timeline=projects.timeline(commune))


# --- Tasks ------------------------------------------------------------------------------------


def _task_form_choices(form: TaskForm, commune: toolkit.Commune) -> None:
    form.assignee.choices = [
        SelectChoice("", _("Personne pour l'instant")),
        *_people_choices(commune),
    ]
    form.project.choices = [
        SelectChoice("", _("Aucun (tâche isolée)")),
        *[SelectChoice(str(p.id), p.title) for p in projects.open_projects(commune)],
    ]


def _task_data(form: TaskForm) -> dict[str, Any]:
    return {name: form[name].data for name in TASK_FIELDS}


def _task_form_page(form: TaskForm, task: Task | None, status: int) -> tuple[str, int]:
    return toolkit.render("pilotage/task_form.html", form=form, task=task), status


@bp.get("/taches")
@toolkit.requires("pilotage.view")
def task_list() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    status = request.args.get("statut", "")
    return toolkit.render(
        "pilotage/tasks.html",
        tasks=tasks.commune_tasks(commune, status=status, open_only=not status),
        status=status if status in TASK_STATUSES else "",
        labels=projects.translated(tasks.STATUS_LABELS),
        can_write=tasks.can_write(commune, user),
        overdue=tasks.is_overdue,
        limit=tasks.LIST_LIMIT,
    )


@bp.get("/taches/kanban")
@toolkit.requires("pilotage.view")
def kanban() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return toolkit.render(
        "pilotage/kanban.html",
        columns=tasks.kanban(commune),
        labels=projects.translated(tasks.STATUS_LABELS),
        can_edit=lambda task: tasks.can_edit(commune, user, task),
        can_write=tasks.can_write(commune, user),
        overdue=tasks.is_overdue,
    )


@bp.get("/mes-taches")
@toolkit.requires("pilotage.view")
def my_tasks() -> str:
    page = max(request.args.get("page", 1, type=int), 1)
    return toolkit.render(
        "pilotage/my_tasks.html",
        mine=tasks.my_tasks(toolkit.current_user(), page),
        labels=projects.translated(tasks.STATUS_LABELS),
        overdue=tasks.is_overdue,
    )


@bp.route("/taches/nouvelle", methods=["GET", "POST"])
@toolkit.requires("pilotage.task_write")
def task_create() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    form = TaskForm()
    _task_form_choices(form, commune)
    if form.is_submitted():
        form.validate()
        try:
            task = tasks.create_task(commune, user, _task_data(form))
        except projects.PilotageError as error:
            toolkit.db.rollback()
            show_errors(form, error.errors)
            return _task_form_page(form, None, 400)
        toolkit.db.commit()
        flash(_("Tâche « %(title)s » créée.", title=task.title), "success")
        if task.project_id:
            return redirect(url_for(".project", project_id=task.project_id, _anchor="taches"))
        return redirect(url_for(".task", task_id=task.id))
    form.project.data = request.args.get("projet", "")
    return _task_form_page(form, None, 200)


def _task_page(
    task: Task, comment_form: CommentForm | None = None, status: int = 200
) -> tuple[str, int]:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return (
        toolkit.render(
            "pilotage/task.html",
            task=task,
            comments=tasks.comments_of(task),
            can_edit=tasks.can_edit(commune, user, task),
            comment_form=comment_form or CommentForm(),
            labels=projects.translated(tasks.STATUS_LABELS),
            priority_labels=projects.PRIORITY_LABELS,
            overdue=tasks.is_overdue(task),
        ),
        status,
    )


@bp.get("/taches/<int:task_id>")
@toolkit.requires("pilotage.view")
def task(task_id: int) -> tuple[str, int]:
    return _task_page(tasks.get_task(toolkit.current_commune(), task_id))


@bp.route("/taches/<int:task_id>/modifier", methods=["GET", "POST"])
@toolkit.requires("pilotage.task_write")
def task_edit(task_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = tasks.get_task(commune, task_id)
    tasks.check_edit(commune, user, found)
    form = TaskForm()
    _task_form_choices(form, commune)
    if form.is_submitted():
        form.validate()
        try:
            changed = tasks.update_task(commune, user, found, _task_data(form))
        except projects.PilotageError as error:
            toolkit.db.rollback()
            show_errors(form, error.errors)
            return _task_form_page(form, found, 400)
        if changed:
            toolkit.db.commit()
            flash(_("Tâche enregistrée."), "success")
        else:
            flash(_("Rien n'a changé."), "info")
        return redirect(url_for(".task", task_id=found.id))
    form.title.data, form.description.data = found.title, found.description
    form.project.data = str(found.project_id or "")
    form.assignee.data = str(found.assignee_id or "")
    form.due_date.data = found.due_date.isoformat() if found.due_date else ""
    form.priority.data, form.status.data = found.priority, found.status
    form.checklist.data = "\n".join(item["text"] for item in found.checklist)
    return _task_form_page(form, found, 200)


@bp.post("/taches/<int:task_id>/statut")
@toolkit.requires("pilotage.task_write")
def task_move(task_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = tasks.get_task(commune, task_id)
    try:
        moved = tasks.move(commune, user, found, request.form.get("status"))
    except projects.PilotageError as error:
        toolkit.refuse(error.errors["status"])
    toolkit.db.commit()
    if moved:
        flash(
            _(
                "« %(title)s » : %(status)s.",
                title=found.title,
                status=tasks.STATUS_LABELS[found.status],
            ),
            "success",
        )
    back = request.form.get("back")
    return redirect(url_for(".kanban") if back == "kanban" else url_for(".task", task_id=found.id))


@bp.post("/taches/<int:task_id>/liste/<int:index>")
@toolkit.requires("pilotage.task_write")
def task_item(task_id: int, index: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = tasks.get_task(commune, task_id)
    tasks.toggle_item(commune, user, found, index)
    toolkit.db.commit()
    return redirect(url_for(".task", task_id=found.id, _anchor="liste"))


@bp.post("/taches/<int:task_id>/commentaires")
@toolkit.requires("pilotage.view")
def task_comment(task_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = tasks.get_task(commune, task_id)
    return _comment(
        lambda body: tasks.add_comment(commune, user, found, body),
        lambda form: _task_page(found, comment_form=form, status=400),
        url_for(".task", task_id=found.id, _anchor="commentaires"),
    )
