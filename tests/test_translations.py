"""English is available: every message of the core's code and templates is translated."""

from __future__ import annotations

from pathlib import Path

from core.testing import untranslated

CORE = Path(__file__).resolve().parent.parent / "core"


def test_every_message_of_the_core_has_an_english_translation():
    missing = untranslated(CORE, CORE / "translations" / "en" / "LC_MESSAGES" / "messages.po")
    assert missing == [], "run `pybabel extract` and `pybabel update`, then translate these"


def test_a_message_has_one_english_version_across_the_merged_catalogs():
    """The core's and every plugin's catalogs are merged into one (Flask-Babel), the later
    winning: a message translated two ways would show one plugin's wording in another's
    page. Where the meaning differs, the French must differ too."""
    from babel.messages.pofile import read_po

    repo = CORE.parent
    catalogs = [CORE / "translations" / "en" / "LC_MESSAGES" / "messages.po"]
    catalogs += sorted(repo.glob("plugins/*/translations/en/LC_MESSAGES/messages.po"))
    catalogs += sorted(repo.glob("examples/*/*/translations/en/LC_MESSAGES/messages.po"))
    first: dict[object, tuple[str, object]] = {}
    clashes = []
    for path in catalogs:
        with path.open("rb") as po:
            for message in read_po(po):
                if not message.id or not message.string:
                    continue
                owner = str(path.relative_to(repo)).split("/translations/")[0]
                seen = first.setdefault(message.id, (owner, message.string))
                if seen[1] != message.string:
                    clashes.append(f"{message.id!r}: {seen} / {(owner, message.string)}")
    assert clashes == []
