"""``viatic pilotage ...``: the operator's commands of the pilotage module.

The core runs them inside the portal's application context (hook ``viatic_cli_group``).
"""

from __future__ import annotations

from pathlib import Path

import click

from core import toolkit
from plugins.pilotage import referentiel


@click.group("pilotage", help="Pilotage de la commune : référentiel, diagnostic, projets.")
def group() -> None:
    pass


@group.command(
    "referentiel",
    help="Charge le référentiel « métier de l'élu local » (les fichiers livrés avec Viatic, "
    "ou ceux de DOSSIER). Un nouveau chargement met à jour : les thèmes modifiés changent "
    "de version, les thèmes retirés restent lisibles. Un fichier invalide ne charge rien.",
)
@click.option(
    "--dossier",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=referentiel.FOLDER,
    help="Dossier des fichiers YAML du référentiel.",
)
def load_referentiel(dossier: Path) -> None:
    try:
        entries = referentiel.read_folder(dossier)
    except referentiel.FileError as exc:
        raise click.ClickException(f"Rien n'a été chargé. {exc}") from exc
    summary = referentiel.load(entries)
    toolkit.db.commit()
    click.echo(
        f"Référentiel chargé : {summary.domains} domaines ; {len(summary.added)} thème(s) "
        f"ajouté(s), {len(summary.changed)} modifié(s), {len(summary.retired)} retiré(s), "
        f"{summary.unchanged} inchangé(s)."
    )
