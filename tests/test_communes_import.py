"""Import of Etalab's "découpage administratif": whole or nothing, re-import in place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import communes_import
from core.db import db
from core.models import Commune, Epci

DEMO = Path(communes_import.__file__).parent / "demo_data"
ETALAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "decoupage-administratif"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "etalab"
    shutil.copytree(DEMO, folder)
    for file in folder.iterdir():
        file.chmod(0o644)
    return folder


def _edit(folder: Path, name: str, change) -> None:
    path = folder / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_import_creates_communes_with_their_epci(app, tmp_path):
    with app.app_context():
        summary = communes_import.import_folder(db, _copy(tmp_path))
        commune = db.scalar(select(Commune).where(Commune.insee == "10145"))
        assert summary.communes == 431
        assert (commune.name, commune.siren, commune.postcodes, commune.departement.name) == (
            "Faux-Villecerf",
            "211001391",
            ["10290"],
            "Aube",
        )
        assert commune.region.name == "Grand Est"
        assert commune.epci.name == "CC de l'Orvin et de l'Ardusson"
        assert len(commune.epci.members) == 25


def test_reimport_updates_in_place(app, tmp_path):
    folder = _copy(tmp_path)
    with app.app_context():
        communes_import.import_folder(db, folder)
        first_id = db.scalar(select(Commune.id).where(Commune.insee == "10145"))

        def rename(communes):
            next(c for c in communes if c["code"] == "10145")["population"] = 230

        _edit(folder, "communes.json", rename)
        communes_import.import_folder(db, folder)
        db.expire_all()
        commune = db.scalar(select(Commune).where(Commune.insee == "10145"))
        assert (commune.id, commune.population) == (first_id, 230)
        assert db.scalar(select(func.count()).select_from(Commune)) == 431


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        (
            "communes.json",
            lambda d: d[3].update(nom=""),
            "communes.json, record 4 (code 10005), field 'nom'",
        ),
        ("communes.json", lambda d: d[0].update(codesPostaux=["1029"]), "field 'codesPostaux'"),
        (
            "communes.json",
            lambda d: d[0].update(population="beaucoup"),
            "field 'population': a whole number",
        ),
        ("communes.json", lambda d: d[0].update(departement="99"), "unknown département '99'"),
        (
            "epci.json",
            lambda d: d[0].update(code="12"),
            "epci.json, record 1 (code 12), field 'code'",
        ),
        (
            "epci.json",
            lambda d: d[0]["membres"].append({"code": "99999"}),
            "unknown member commune '99999'",
        ),
        ("regions.json", lambda d: d.append(3), "regions.json, record 27, field '*'"),
    ],
)
def test_a_malformed_file_names_file_record_and_field_and_imports_nothing(
    app, tmp_path, file, change, message
):
    folder = _copy(tmp_path)
    _edit(folder, file, change)
    with app.app_context():
        with pytest.raises(communes_import.ImportFileError) as error:
            communes_import.import_folder(db, folder)
        assert message in str(error.value)
        assert db.scalar(select(func.count()).select_from(Commune)) == 0
        assert db.scalar(select(func.count()).select_from(Epci)) == 0


def test_a_file_that_is_not_json_is_named(app, tmp_path):
    folder = _copy(tmp_path)
    (folder / "epci.json").write_text('[{"code": ')
    with (
        app.app_context(),
        pytest.raises(communes_import.ImportFileError, match=r"epci\.json: not valid JSON"),
    ):
        communes_import.import_folder(db, folder)


def test_a_missing_file_is_named(app, tmp_path):
    folder = _copy(tmp_path)
    (folder / "regions.json").unlink()
    with (
        app.app_context(),
        pytest.raises(communes_import.ImportFileError, match=r"regions\.json: file not found"),
    ):
        communes_import.import_folder(db, folder)


@pytest.mark.slow
def test_the_full_etalab_set_imports(app):
    if not ETALAB.is_dir():
        pytest.skip("the Etalab files of shared/ are not beside the repository")
    with app.app_context():
        summary = communes_import.import_folder(db, ETALAB)
        assert (summary.communes, summary.epci) == (34969, 1255)
        assert (
            db.scalar(
                select(func.count()).select_from(Commune).where(Commune.epci_siren.is_not(None))
            )
            == 34871
        )
