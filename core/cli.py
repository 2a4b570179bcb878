"""The ``viatic`` command: run the portal, migrate, import communes, manage modules and users."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy import select

from core.plugins import PluginError


def _app() -> Flask:
    from core.app import create_app

    try:
        return create_app()
    except PluginError as exc:
        raise click.ClickException(f"Un plugin empêche le démarrage : {exc}") from exc
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


class _CoreAndPluginCommands(click.Group):
    """The core's commands, and ``viatic <plugin> ...`` for each plugin that brings a command
    group (hook ``viatic_cli_group``). The portal is built only when a plugin's group is
    asked for (or listed), and its commands run inside its application context."""

    def _plugin_groups(self, ctx: click.Context) -> dict[str, click.Group]:
        if "viatic.plugin_groups" not in ctx.meta:
            app = _app()
            ctx.with_resource(app.app_context())
            ctx.meta["viatic.plugin_groups"] = {
                name: plugin.cli_group
                for name, plugin in app.extensions["viatic.plugins"].plugins.items()
                if plugin.cli_group is not None
            }
        return ctx.meta["viatic.plugin_groups"]

    def list_commands(self, ctx: click.Context) -> list[str]:
        core_commands = super().list_commands(ctx)
        try:
            plugin_commands = sorted(self._plugin_groups(ctx))
        except click.ClickException:
            plugin_commands = []  # the help still lists the core's commands
        return core_commands + [n for n in plugin_commands if n not in core_commands]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._plugin_groups(ctx).get(cmd_name)


@click.group(
    cls=_CoreAndPluginCommands,
    help="Viatic, le portail des élus locaux. Chaque commande a son --help.",
)
@click.version_option(package_name="viatic")
def main() -> None:
    pass


@main.command(help="Sert le portail (serveur de développement ; en production, utilisez gunicorn).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--port", default=5000, show_default=True, help="Port d'écoute.")
@click.option(
    "--with-scheduler/--without-scheduler",
    default=True,
    show_default=True,
    help="Lance aussi les tâches planifiées dans ce processus.",
)
def run(host: str, port: int, with_scheduler: bool) -> None:
    app = _app()
    if with_scheduler:
        from core.scheduler import build_scheduler

        build_scheduler(app, background=True).start()
    app.run(host=host, port=port, debug=False, use_reloader=False)


@main.group(help="Base de données.")
def db() -> None:
    pass


@db.command("upgrade", help="Met la base à jour : le socle et chaque plugin installé.")
def db_upgrade() -> None:
    from core.migrate import upgrade

    app = _app()
    with app.app_context():
        upgrade()
    click.echo("Base de données à jour.")


@db.command("revision", help="Écrit une nouvelle migration (autogénérée) du socle ou d'un plugin.")
@click.option("-m", "--message", required=True, help="Ce que change la migration.")
@click.option("--plugin", help="Le plugin dont la branche reçoit la migration (sinon : le socle).")
def db_revision(message: str, plugin: str | None) -> None:
    from core.migrate import revision

    app = _app()
    with app.app_context():
        if plugin is not None and plugin not in app.extensions["viatic.plugins"].plugins:
            raise click.ClickException(f"Plugin inconnu : {plugin}.")
        try:
            revision(message, plugin)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc


@main.command(help="Lance les tâches planifiées des plugins (processus à part en production).")
def scheduler() -> None:
    from core.scheduler import build_scheduler

    sched = build_scheduler(_app())
    # A process manager stops us with SIGTERM: let the running job finish, then leave.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sched.shutdown())
    click.echo("Planificateur démarré (Ctrl+C pour arrêter).")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        sched.start()


@main.command(help="Installe les données de démonstration (sans effet si elles y sont déjà).")
def demo() -> None:
    from core import demo as demo_module
    from core.db import db as session

    app = _app()
    with app.app_context():
        logins = demo_module.run(echo=click.echo)
        session.commit()
    click.echo("")
    click.echo(f"Comptes de démonstration (mot de passe : {demo_module.PASSWORD}) :")
    for email, role in logins:
        click.echo(f"  {email:45} {role}")
    click.echo(
        "Les administrateurs activent une double authentification à leur première connexion "
        "(VIATIC_ADMIN_TOTP_REQUIRED=false l'épargne à une démonstration)."
    )


@main.group(help="Référentiel des communes.")
def communes() -> None:
    pass


@communes.command(
    "import",
    help="Importe les fichiers Etalab « découpage administratif » de DIR "
    "(communes.json, epci.json, departements.json, regions.json). "
    "Un nouvel import met à jour ; un fichier invalide n'importe rien.",
)
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def communes_import(directory: Path) -> None:
    from core import audit
    from core import communes_import as importer
    from core.db import db as session

    app = _app()
    with app.app_context(), click.progressbar(length=4, label="Import", show_pos=True) as bar:

        def progress(table: str, count: int) -> None:
            bar.label = f"{table} ({count})"
            bar.update(1)

        try:
            summary = importer.import_folder(session, directory, progress)
        except importer.ImportFileError as exc:
            raise click.ClickException(f"Rien n'a été importé. {exc}") from exc
        audit.record("communes.imported", actor_label="cli", details=dataclasses.asdict(summary))
        session.commit()
    click.echo(
        f"Importé : {summary.regions} régions, {summary.departements} départements, "
        f"{summary.epci} EPCI, {summary.communes} communes."
    )


@main.group(help="Plugins installés.")
def plugins() -> None:
    pass


@plugins.command(
    "list", help="Liste les plugins installés, leur version, leurs services et leur état."
)
def plugins_list() -> None:
    from core.modules import Usage, usage

    app = _app()
    registry = app.extensions["viatic.plugins"]
    with app.app_context():
        counts = usage()
    for plugin in registry.plugins.values():
        provides = ", ".join(plugin.capabilities) or "—"
        if plugin.essential:
            state = "chargé, toujours actif"
        else:
            used = counts.get(plugin.name, Usage(0, 0))
            state = f"chargé, actif dans {used.communes} commune(s), {used.failing} en erreur"
        click.echo(f"{plugin.name:16} {plugin.info.version:8} services : {provides:14} {state}")
        if plugin.info.description:
            click.echo(f"    {plugin.info.description}")


@main.group(help="Modules d'une commune.")
def modules() -> None:
    pass


def _commune(insee: str) -> Any:
    from core.db import db as session
    from core.models import Commune

    commune = session.scalar(select(Commune).where(Commune.insee == insee))
    if commune is None:
        raise click.ClickException(f"Commune inconnue : {insee} (importez d'abord les communes).")
    return commune


def _toggle(insee: str, plugin: str, enable: bool) -> None:
    from core import modules as service
    from core.db import db as session

    app = _app()
    with app.app_context():
        commune = _commune(insee)
        try:
            changed = (service.enable if enable else service.disable)(commune, plugin)
        except service.ModuleError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        state = "activé" if enable else "désactivé"
        click.echo(
            f"Module {plugin} {state} pour {commune.name}."
            if changed
            else f"Module {plugin} déjà {state} pour {commune.name}."
        )


@modules.command("enable", help="Active le module PLUGIN pour la commune de code INSEE.")
@click.argument("insee")
@click.argument("plugin")
def modules_enable(insee: str, plugin: str) -> None:
    _toggle(insee, plugin, True)


@modules.command(
    "disable", help="Désactive le module PLUGIN pour la commune INSEE (ses données restent)."
)
@click.argument("insee")
@click.argument("plugin")
def modules_disable(insee: str, plugin: str) -> None:
    _toggle(insee, plugin, False)


@main.group(help="Comptes.")
def users() -> None:
    pass


@users.command("create", help="Crée un compte, et éventuellement son rôle dans une commune.")
@click.option("--email", required=True, help="Adresse e-mail (identifiant de connexion).")
@click.option("--password", required=True, help="Mot de passe (10 caractères au moins).")
@click.option("--name", required=True, help="Prénom et nom.")
@click.option("--commune", "insee", help="Code INSEE de la commune à rejoindre.")
@click.option(
    "--role",
    type=click.Choice(["maire", "adjoint", "conseiller", "agent", "citoyen", "partenaire"]),
    help="Rôle dans la commune.",
)
@click.option("--commune-admin", is_flag=True, help="Administrateur de la commune.")
@click.option("--platform-admin", is_flag=True, help="Administrateur de la plateforme.")
def users_create(
    email: str,
    password: str,
    name: str,
    insee: str | None,
    role: str | None,
    commune_admin: bool,
    platform_admin: bool,
) -> None:
    from email_validator import EmailNotValidError, validate_email

    from core import audit, auth
    from core.db import db as session
    from core.models import Membership, User

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="--email") from exc
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise click.BadParameter(
            f"{auth.MIN_PASSWORD_LENGTH} caractères au moins.", param_hint="--password"
        )
    if (insee is None) != (role is None):
        raise click.UsageError("--commune et --role vont ensemble.")
    if commune_admin and insee is None:
        raise click.UsageError("--commune-admin demande --commune et --role.")
    app = _app()
    with app.app_context():
        if auth.find_user(email) is not None:
            raise click.ClickException(f"Un compte existe déjà pour {email}.")
        commune = _commune(insee) if insee else None
        user = User(
            email=auth.normalize_email(email), name=name.strip(), is_platform_admin=platform_admin
        )
        auth.set_password(user, password)
        session.add(user)
        session.flush()
        audit.record(
            "user.created",
            object_type="user",
            object_id=user.id,
            actor_label="cli",
            details={"platform_admin": platform_admin},
        )
        if commune is not None:
            session.add(
                Membership(
                    user_id=user.id,
                    commune_id=commune.id,
                    role=role,
                    is_commune_admin=commune_admin,
                )
            )
            audit.record(
                "member.added",
                commune=commune,
                object_type="user",
                object_id=user.id,
                actor_label="cli",
                details={"role": role, "commune_admin": commune_admin},
            )
        session.commit()
    click.echo(
        f"Compte créé : {email}" + (f" ({role} à {commune.name})" if commune is not None else "")
    )


@users.command(
    "remove-second-factor",
    help="Retire la double authentification d'un compte (téléphone et codes de secours perdus).",
)
@click.argument("email")
def users_remove_second_factor(email: str) -> None:
    from core import audit, auth, totp
    from core.db import db as session

    app = _app()
    with app.app_context():
        user = auth.find_user(email)
        if user is None:
            raise click.ClickException(f"Aucun compte pour {email}.")
        if user.totp_secret is None:
            click.echo(f"{user.email} n'a pas de double authentification.")
            return
        totp.disable(user)
        audit.record(
            "totp.disabled",
            actor_label="cli",
            object_type="user",
            object_id=user.id,
            details={"with": "cli"},
        )
        session.commit()
    click.echo(
        f"Double authentification retirée pour {user.email} : le mot de passe suffit à la "
        "prochaine connexion (un administrateur devra la réactiver)."
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
