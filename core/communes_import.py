"""Import of Etalab's "découpage administratif": régions, départements, EPCI and communes.

The four JSON files are read and checked whole before anything is written; the writes are
then one transaction of bulk upserts, so a malformed file imports nothing and a re-import
updates in place. Only current communes (``type: commune-actuelle``) are tenants.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.models import Commune, Departement, Epci, Region

FILES = ("regions.json", "departements.json", "epci.json", "communes.json")
BATCH = 2000
INSEE = re.compile(r"^(\d[\dAB]\d{3})$")
SIREN = re.compile(r"^\d{9}$")
POSTCODE = re.compile(r"^\d{5}$")


class ImportFileError(Exception):
    """A file cannot be imported; the message names the file, the record and the field."""


@dataclass
class ImportSummary:
    regions: int = 0
    departements: int = 0
    epci: int = 0
    communes: int = 0


@dataclass
class _Record:
    file: str
    index: int
    data: dict[str, Any]

    def fail(self, field: str, problem: str) -> ImportFileError:
        code = self.data.get("code") if isinstance(self.data, dict) else None
        where = f"record {self.index + 1}" + (f" (code {code})" if code else "")
        return ImportFileError(f"{self.file}, {where}, field '{field}': {problem}")

    def text(
        self, field: str, pattern: re.Pattern[str] | None = None, required: bool = True
    ) -> str | None:
        value = self.data.get(field)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "a non-empty text is expected")
        if pattern is not None and not pattern.match(value):
            raise self.fail(field, f"'{value}' is not in the expected form")
        return value

    def number(self, field: str) -> int | None:
        value = self.data.get(field)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(field, "a whole number is expected")
        return value


def _records(folder: Path, name: str) -> Iterator[_Record]:
    path = folder / name
    if not path.is_file():
        raise ImportFileError(f"{name}: file not found in {folder}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{name}: not UTF-8 text ({exc.reason})") from exc
    if not isinstance(data, list):
        raise ImportFileError(f"{name}: a JSON list of records is expected")
    for index, item in enumerate(data):
        record = _Record(name, index, item if isinstance(item, dict) else {})
        if not isinstance(item, dict):
            raise record.fail("*", "a JSON object is expected")
        yield record


def read_folder(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Read and check the four files; returns the rows to write, table by table."""
    regions = [
        {"code": r.text("code"), "name": r.text("nom")} for r in _records(folder, "regions.json")
    ]
    region_codes = {r["code"] for r in regions}
    departements = []
    for r in _records(folder, "departements.json"):
        region = r.text("region")
        if region not in region_codes:
            raise r.fail("region", f"unknown région '{region}'")
        departements.append({"code": r.text("code"), "name": r.text("nom"), "region_code": region})
    departement_codes = {d["code"] for d in departements}

    communes: dict[str, dict[str, Any]] = {}
    for r in _records(folder, "communes.json"):
        if r.data.get("type", "commune-actuelle") != "commune-actuelle":
            continue  # communes déléguées, associées, arrondissements: not tenants
        code = r.text("code", INSEE)
        assert code is not None
        departement = r.text("departement")
        if departement not in departement_codes:
            raise r.fail("departement", f"unknown département '{departement}'")
        region = r.text("region")
        if region not in region_codes:
            raise r.fail("region", f"unknown région '{region}'")
        postcodes = r.data.get("codesPostaux", [])
        if not isinstance(postcodes, list) or not all(
            isinstance(p, str) and POSTCODE.match(p) for p in postcodes
        ):
            raise r.fail("codesPostaux", "a list of five-digit postcodes is expected")
        if code in communes:
            raise r.fail("code", "this INSEE code appears twice")
        communes[code] = {
            "insee": code,
            "name": r.text("nom"),
            "siren": r.text("siren", SIREN, required=False),
            "postcodes": postcodes,
            "departement_code": departement,
            "region_code": region,
            "population": r.number("population"),
            "epci_siren": None,
        }

    epcis = []
    for r in _records(folder, "epci.json"):
        siren = r.text("code", SIREN)
        members = r.data.get("membres")
        if not isinstance(members, list):
            raise r.fail("membres", "a list of member communes is expected")
        for member in members:
            code = member.get("code") if isinstance(member, dict) else None
            if code not in communes:
                raise r.fail("membres", f"unknown member commune '{code}'")
            communes[code]["epci_siren"] = siren
        epcis.append(
            {
                "siren": siren,
                "name": r.text("nom"),
                "kind": r.text("type"),
                "population": r.number("populationTotale"),
            }
        )
    return {
        "region": regions,
        "departement": departements,
        "epci": epcis,
        "commune": list(communes.values()),
    }


def _upsert(session: Session, table: Table, rows: list[dict[str, Any]], key: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        statement = insert(table)
        columns = {c: statement.excluded[c] for c in batch[0] if c != key}
        session.execute(statement.on_conflict_do_update(index_elements=[key], set_=columns), batch)


def import_folder(
    session: Session, folder: Path, progress: Callable[[str, int], None] | None = None
) -> ImportSummary:
    """Import the Etalab files of ``folder`` in one transaction (committed here)."""
    tables = read_folder(folder)
    steps = [
        (Region.__table__, tables["region"], "code"),
        (Departement.__table__, tables["departement"], "code"),
        (Epci.__table__, tables["epci"], "siren"),
        (Commune.__table__, tables["commune"], "insee"),
    ]
    try:
        for table, rows, key in steps:
            if rows:
                _upsert(session, table, rows, key)
            if progress is not None:
                progress(table.name, len(rows))
        session.commit()
    except Exception:
        session.rollback()
        raise
    return ImportSummary(
        regions=len(tables["region"]),
        departements=len(tables["departement"]),
        epci=len(tables["epci"]),
        communes=len(tables["commune"]),
    )
