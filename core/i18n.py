"""Translated labels the core shows in several places."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "maire": _l("Maire"),
    "adjoint": _l("Adjoint·e"),
    "conseiller": _l("Conseiller·ère municipal·e"),
    "agent": _l("Agent·e"),
    "citoyen": _l("Citoyen·ne"),
    "partenaire": _l("Partenaire"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))
