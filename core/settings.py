"""Per-commune module settings: the form generated from a plugin's schema, and secrets.

Secret values are encrypted with a key derived from ``VIATIC_SECRET_KEY`` (or given as
``VIATIC_ENCRYPTION_KEY``), are never rendered back into a form, and never reach the audit log.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, Email, InputRequired, Length, Optional

from core.audit import SECRET_MASK
from core.forms import Form
from core.models import CommuneModule
from core.types import Setting

ENCRYPTED_PREFIX = "enc:"


def _fernet() -> Fernet:
    configured = current_app.config.get("ENCRYPTION_KEY")
    if configured:
        return Fernet(configured)
    secret = current_app.secret_key
    secret_bytes = secret.encode() if isinstance(secret, str) else secret
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"viatic-settings").derive(
        secret_bytes
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str) -> str:
    return ENCRYPTED_PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str | None:
    """The clear value, or None when it cannot be read (the key changed)."""
    try:
        return _fernet().decrypt(stored.removeprefix(ENCRYPTED_PREFIX).encode()).decode()
    except InvalidToken:
        return None


def current_values(schema: tuple[Setting, ...], row: CommuneModule | None) -> dict[str, Any]:
    """The decrypted settings of a module for a commune, defaults filled in."""
    stored = row.settings if row is not None else {}
    values: dict[str, Any] = {}
    for setting in schema:
        value = stored.get(setting.name, setting.default)
        if setting.secret and isinstance(value, str) and value.startswith(ENCRYPTED_PREFIX):
            value = decrypt(value)
        values[setting.name] = value
    return values


def build_form(schema: tuple[Setting, ...], row: CommuneModule | None) -> Form:
    """A form for ``schema``, filled with the current values (secrets left empty)."""

    class SettingsForm(Form):
        pass

    stored = row.settings if row is not None else {}
    for setting in schema:
        setattr(
            SettingsForm, setting.name, _field(setting, has_secret=bool(stored.get(setting.name)))
        )
    data = {s.name: v for s, v in zip(schema, current_values(schema, row).values(), strict=True)}
    for setting in schema:
        if setting.secret:
            data[setting.name] = ""
    return SettingsForm(data=data)


def _field(setting: Setting, has_secret: bool) -> Any:
    validators: list[Any] = []
    if setting.type == "boolean":
        return BooleanField(setting.label, description=setting.help)
    if setting.required and not (setting.secret and has_secret):
        validators.append(InputRequired(message=_l("Ce champ est obligatoire.")))
    else:
        validators.append(Optional())
    description = setting.help
    if setting.secret and has_secret:
        description = (setting.help + " " if setting.help else "") + str(
            _l("Une valeur est enregistrée ; laissez vide pour la garder.")
        )
    match setting.type:
        case "text":
            return TextAreaField(setting.label, validators, description=description)
        case "integer":
            return IntegerField(
                setting.label,
                validators,
                description=description,
                render_kw={"inputmode": "numeric"},
            )
        case "url":
            validators.append(
                URL(
                    require_tld=False, message=_l("Saisissez une adresse web complète (https://…).")
                )
            )
            return URLField(setting.label, validators, description=description)
        case "email":
            validators.append(Email(message=_l("Saisissez une adresse e-mail valide.")))
            return EmailField(setting.label, validators, description=description)
        case "choice":
            return SelectField(
                setting.label,
                validators,
                choices=[SelectChoice(value, label) for value, label in setting.choices],
                description=description,
                validate_choice=True,
            )
        case "secret":
            return PasswordField(
                setting.label,
                validators,
                description=description,
                render_kw={"autocomplete": "off"},
            )
        case _:
            validators.append(Length(max=500, message=_l("500 caractères au plus.")))
            return StringField(setting.label, validators, description=description)


def apply_form(
    schema: tuple[Setting, ...], form: Form, row: CommuneModule
) -> dict[str, tuple[Any, Any]]:
    """Store the validated form into ``row``; return ``{name: (before, after)}`` of what
    changed, with secrets masked so the result can go to the audit log as it is."""
    stored = dict(row.settings or {})
    changes: dict[str, tuple[Any, Any]] = {}
    for setting in schema:
        value = form[setting.name].data
        if setting.secret:
            if not value:
                continue  # an empty secret field keeps the stored value
            stored[setting.name] = encrypt(value)
            changes[setting.name] = (SECRET_MASK, SECRET_MASK)
            continue
        if isinstance(value, str):
            value = value.strip()
        before = stored.get(setting.name, setting.default)
        if value != before:
            changes[setting.name] = (before, value)
        stored[setting.name] = value
    row.settings = stored
    return changes
