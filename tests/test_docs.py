"""The plugin authors' guide keeps up with the contract, and every hook has its test."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from core import hookspecs

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
