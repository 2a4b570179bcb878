"""The `viatic` command: each subcommand, its errors, and its help."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core import demo
from core.cli import main
from core.db import db
from core.models import AuditEvent, Commune, CommuneModule, Membership, User

DEMO_DATA = Path(demo.__file__).parent / "demo_data"


@pytest.fixture
def cli(app, monkeypatch, tmp_path):
    """Runs `viatic ...` on the test app's database, as an admin would in a shell."""
    monkeypatch.setenv("VIATIC_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("VIATIC_SECRET_KEY", app.config["SECRET_KEY"])
    monkeypatch.setenv("VIATIC_ARGON2_PROFILE", "CHEAPEST")
    monkeypatch.setenv("VIATIC_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["db", "upgrade"],
        ["scheduler"],
        ["demo"],
        ["communes", "import"],
        ["plugins", "list"],
        ["modules", "enable"],
        ["modules", "disable"],
        ["users", "create"],
    ],
)
def test_every_command_has_help_in_plain_french(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert any(
        word in result.output
        for word in (
            "commune",
            "Commune",
            "module",
            "plugin",
            "Base",
            "tâches",
            "portail",
            "Compte",
            "compte",
            "démonstration",
        )
    )


def test_users_create_makes_an_account_that_can_sign_in(app, cli, client, commune):
    result = cli(
        "users",
        "create",
        "--email",
        "Marie@Exemple.fr",
        "--password",
        "un mot de passe",
        "--name",
        "Marie Curie",
        "--commune",
        "10145",
        "--role",
        "maire",
        "--commune-admin",
    )
    assert result.exit_code == 0, result.output
    assert "Compte créé : Marie@Exemple.fr (maire à Faux-Villecerf)" in result.output
    client.login("marie@exemple.fr", "un mot de passe")
    assert client.get("/c/10145/admin/membres").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "pas-une-adresse"], "--email"),
        (["--password", "court"], "10 caractères au moins"),
        (["--commune", "99999", "--role", "maire"], "Commune inconnue : 99999"),
        (["--commune", "10145"], "--commune et --role vont ensemble."),
        (["--role", "roi", "--commune", "10145"], "'roi' is not one of"),
    ],
)
def test_users_create_refuses_bad_input_and_writes_nothing(app, cli, commune, args, message):
    base = {"--email": "a@exemple.fr", "--password": "assez long oui", "--name": "A"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    result = cli("users", "create", *[x for pair in base.items() for x in pair])
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(User)) == 0


def test_users_create_refuses_a_second_account_for_an_address(cli, commune):
    args = (
        "users",
        "create",
        "--email",
        "a@exemple.fr",
        "--password",
        "assez long oui",
        "--name",
        "A",
    )
    assert cli(*args).exit_code == 0
    again = cli(*args)
    assert again.exit_code == 1 and "Un compte existe déjà pour a@exemple.fr." in again.output


def test_modules_enable_and_disable(app, cli, commune):
    assert (
        "Module idees activé pour Faux-Villecerf."
        in cli("modules", "enable", "10145", "idees").output
    )
    assert "déjà activé" in cli("modules", "enable", "10145", "idees").output
    assert (
        "Module idees désactivé pour Faux-Villecerf."
        in cli("modules", "disable", "10145", "idees").output
    )
    with app.app_context():
        row = db.scalar(select(CommuneModule))
        assert (row.plugin, row.enabled) == ("idees", False)
        actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["module.enabled", "module.disabled"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["10145", "inconnu"], "Module inconnu : « inconnu »."),
        (["99999", "idees"], "Commune inconnue : 99999"),
    ],
)
def test_modules_commands_name_what_is_unknown(cli, commune, args, message):
    for action in ("enable", "disable"):
        result = cli("modules", action, *args)
        assert result.exit_code == 1
        assert message in result.output


def test_plugins_list_shows_installed_plugins_and_their_use(app, cli, commune):
    cli("modules", "enable", "10145", "idees")
    with app.app_context():
        from core import modules

        modules.record_error(commune.id, "idees", "délai dépassé", "job idees.sync")
        db.commit()
    result = cli("plugins", "list")
    assert result.exit_code == 0
    assert "core             0.1.0" in result.output
    assert "idees" in result.output and "actif dans 1 commune(s), 1 en erreur" in result.output


def test_communes_import_reports_counts(cli, tmp_path):
    result = cli("communes", "import", str(DEMO_DATA))
    assert result.exit_code == 0, result.output
    assert "Importé : 26 régions, 109 départements, 13 EPCI, 431 communes." in result.output


def test_the_platform_admin_sees_the_last_import(cli, client, make_member):
    cli("communes", "import", str(DEMO_DATA))
    client.login(make_member(None, platform_admin=True).email)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Dernier import :" in page and "431 communes" in page


def test_communes_import_of_a_malformed_file_imports_nothing(app, cli, tmp_path):
    folder = tmp_path / "etalab"
    shutil.copytree(DEMO_DATA, folder)
    (folder / "communes.json").chmod(0o644)
    communes = json.loads((folder / "communes.json").read_text())
    communes[10]["codesPostaux"] = "10290"
    (folder / "communes.json").write_text(json.dumps(communes))
    result = cli("communes", "import", str(folder))
    assert result.exit_code == 1
    assert "Rien n'a été importé. communes.json, record 11" in result.output
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Commune)) == 0


def test_demo_is_idempotent_and_prints_the_logins(app, cli):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    assert "maire@faux-villecerf.example.org" in first.output and demo.PASSWORD in first.output
    with app.app_context():
        counts = [
            db.scalar(select(func.count()).select_from(t))
            for t in (User, Membership, CommuneModule, Commune)
        ]
    assert cli("demo").exit_code == 0
    with app.app_context():
        assert [
            db.scalar(select(func.count()).select_from(t))
            for t in (User, Membership, CommuneModule, Commune)
        ] == counts


def test_demo_logins_work_with_every_role(app, cli, client):
    cli("demo")
    for person in demo.PEOPLE:
        client.login(person.email, demo.PASSWORD)
        assert client.get(f"/c/{person.commune}/").status_code == 200


def test_db_upgrade_creates_the_schema(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("VIATIC_DATABASE_URL", url)
    monkeypatch.setenv("VIATIC_SECRET_KEY", "x")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0 and "Base de données à jour." in result.output
    again = CliRunner().invoke(main, ["db", "upgrade"])
    assert again.exit_code == 0


def test_migrated_schema_matches_the_models_of_core_and_plugins(app):
    """What every branch's migrations create is exactly what the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from core.db import Base
    from core.scheduler import JOBS_TABLE

    with app.app_context(), db.get_bind().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, Base.metadata) if JOBS_TABLE not in str(d)]
    assert diff == []


def test_hook_viatic_cli_group(cli):
    # A plugin's group is a `viatic` sub-command, listed in the help, run in the app context.
    listed = cli("--help")
    assert listed.exit_code == 0 and "pilotage" in listed.output
    loaded = cli("pilotage", "referentiel")
    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.startswith("Référentiel chargé : 23 domaines")
    unknown = cli("inconnu")
    assert unknown.exit_code == 2 and "No such command 'inconnu'" in unknown.output
