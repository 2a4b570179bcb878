"""English is available: every message of the core's code and templates is translated."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

CORE = Path(__file__).resolve().parent.parent / "core"


def test_every_message_of_the_core_has_an_english_translation():
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.do"}}
    found = {
        message[0] if isinstance(message, tuple) else message
        for _file, _line, message, _comments, _context in extract_from_dir(
            CORE, method_map, options, keywords=keywords
        )
    }
    with open(CORE / "translations" / "en" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    missing = []
    for msgid in sorted(found):
        entry = catalog.get(msgid)
        strings = (
            []
            if entry is None
            else ([entry.string] if isinstance(entry.string, str) else entry.string)
        )
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(msgid)
    assert missing == [], "run `pybabel extract` and `pybabel update`, then translate these"
