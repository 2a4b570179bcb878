"""English is available: every message of the core's code and templates is translated."""

from __future__ import annotations

from pathlib import Path

from core.testing import untranslated

CORE = Path(__file__).resolve().parent.parent / "core"


def test_every_message_of_the_core_has_an_english_translation():
    missing = untranslated(CORE, CORE / "translations" / "en" / "LC_MESSAGES" / "messages.po")
    assert missing == [], "run `pybabel extract` and `pybabel update`, then translate these"
