"""The pages of the self-diagnostic: the results (scores per domain as a radar and as a
table, strengths and weaknesses, the comparison, the history) and one theme's
questionnaire. Thin: parse, call ``diagnostic``, render."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from core import toolkit
from core.toolkit import gettext as _
from plugins.pilotage import diagnostic, referentiel
from plugins.pilotage.projects import PilotageError
from plugins.pilotage.views import bp


@bp.get("/diagnostic")
@toolkit.requires("pilotage.view")
def diagnostic_index() -> str:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    round_ = diagnostic.current(commune)
    found = diagnostic.results(commune, round_)
    strong, weak = diagnostic.strengths_and_weaknesses(found)
    sharing = diagnostic.is_sharing(commune)
    rounds = diagnostic.history(commune)
    return toolkit.render(
        "pilotage/diagnostic.html",
        round=round_,
        results=found,
        radar=diagnostic.radar(found),
        strong=strong,
        weak=weak,
        sharing=sharing,
        comparison=diagnostic.comparison(commune) if sharing else None,
        min_group=diagnostic.MIN_GROUP,
        rounds=rounds,
        by_round=diagnostic.scores_by_round(commune),
        can_answer=toolkit.has_permission(user, commune, "pilotage.diagnose"),
        can_share=toolkit.has_permission(user, commune, "pilotage.adopt"),
        can_create=toolkit.has_permission(user, commune, "pilotage.project_create"),
        form=toolkit.Form(),
    )


def _theme_page(theme: Any, values: dict[str, str], errors: dict[str, str], status: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    round_ = diagnostic.current(commune)
    return (
        toolkit.render(
            "pilotage/diagnostic_theme.html",
            theme=theme,
            questions=diagnostic.questions(theme),
            answers=diagnostic.answers_of(round_, theme),
            values=values,
            errors=errors,
            labels=diagnostic.ANSWER_LABELS,
            can_answer=toolkit.has_permission(user, commune, "pilotage.diagnose"),
            adopted=theme.id in {t.id for t in referentiel.adopted_themes(commune)},
            form=toolkit.Form(),
        ),
        status,
    )


@bp.route("/diagnostic/theme/<code>", methods=["GET", "POST"])
@toolkit.requires("pilotage.view")
def diagnostic_theme(code: str) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    theme = referentiel.get_theme(code)
    if request.method == "POST":
        toolkit.check("pilotage.diagnose")
        values = request.form.to_dict()
        try:
            changed = diagnostic.answer_theme(commune, user, theme, values)
        except PilotageError as error:
            toolkit.db.rollback()
            return _theme_page(theme, values, error.errors, 400)
        toolkit.db.commit()
        flash(
            _("Réponses enregistrées (%(count)d modifiée(s)).", count=changed)
            if changed
            else _("Rien n'a changé."),
            "success" if changed else "info",
        )
        return redirect(url_for(".diagnostic_index", _anchor=f"domaine-{theme.domain.code}"))
    answers = diagnostic.answers_of(diagnostic.current(commune), theme)
    values = {}
    for key, answer in answers.items():
        values[key] = answer.value
        values[f"{key}-comment"] = answer.comment
        values[f"{key}-evidence"] = answer.evidence_url
    return _theme_page(theme, values, {}, 200)


@bp.post("/diagnostic/recommencer")
@toolkit.requires("pilotage.diagnose")
def diagnostic_restart() -> Any:
    diagnostic.start_again(toolkit.current_commune(), toolkit.current_user())
    toolkit.db.commit()
    flash(_("Un nouveau diagnostic commence ; le précédent reste dans l'historique."), "success")
    return redirect(url_for(".diagnostic_index"))


@bp.post("/diagnostic/partage")
@toolkit.requires("pilotage.adopt")
def diagnostic_sharing() -> Any:
    opted_in = request.form.get("opted_in") == "1"
    diagnostic.set_sharing(toolkit.current_commune(), toolkit.current_user(), opted_in)
    toolkit.db.commit()
    flash(
        _("Les scores de la commune comptent désormais dans la comparaison anonyme.")
        if opted_in
        else _("Les scores de la commune ne comptent plus dans la comparaison."),
        "success",
    )
    return redirect(url_for(".diagnostic_index", _anchor="comparaison"))
