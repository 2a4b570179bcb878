"""The plugin authors' guide keeps up with the contract, every hook has its test, and the
built-in plugins hold to the contract as a third party's would."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from core import hookspecs, toolkit

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
HOOKS = {
    name: function
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("viatic_")
}


def test_every_hookspec_is_a_documented_pluggy_spec():
    for name, function in HOOKS.items():
        assert hasattr(function, "viatic_spec"), f"{name} is not marked @hookspec"
        assert function.__doc__ and function.__doc__.strip(), f"{name} has no docstring"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_documented_with_its_exact_signature(name):
    signature = f"{name}({', '.join(inspect.signature(HOOKS[name]).parameters)})"
    assert f"### `{signature}`" in GUIDE, f"docs/plugins.md lacks a section '### `{signature}`'"


def test_the_guide_documents_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^### `(viatic_\w+)\(", GUIDE, flags=re.MULTILINE))
    assert documented == set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_has_a_test(name):
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    assert f"def test_hook_{name}(" in sources


def test_every_toolkit_name_is_in_the_guide():
    tables = "\n".join(line for line in GUIDE.splitlines() if line.startswith("| "))
    missing = [name for name in toolkit.__all__ if not re.search(rf"`{name}[`(]", tables)]
    assert not missing, f"docs/plugins.md's toolkit table lacks {missing}"


def core_imports(path: Path) -> list[str]:
    """The modules of the core that ``path`` imports, ``core.toolkit`` aside."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [
            name
            for name in names
            if name.split(".")[0] == "core"
            and name not in ("core.toolkit", "core")
            and not name.startswith("core.toolkit.")
        ]
    return found


def test_the_plugins_import_the_core_only_through_the_toolkit():
    # The built-in ones and the example's code. Migrations are Alembic's: they name the
    # core's column types, as generated; tests may look inside.
    sources = [
        path
        for folder in (ROOT / "plugins", ROOT / "examples")
        for path in folder.rglob("*.py")
        if not {"migrations", "tests"} & set(path.relative_to(ROOT).parts)
    ]
    assert sources
    wrong = {str(path.relative_to(ROOT)): core_imports(path) for path in sources}
    assert {path: names for path, names in wrong.items() if names} == {}
