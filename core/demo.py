"""``viatic demo``: the Aube's communes, three demo communes, their members and modules
(every installed one, but an external tool's provider where an in-house one can serve).

Idempotent: running it again changes nothing that is already there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from core import auth, communes_import, modules, settings
from core.db import db
from core.models import Commune, Membership, User
from core.plugins import LoadedPlugin

DATA = Path(__file__).parent / "demo_data"
PASSWORD = "demo-viatic-2026"
MAIN_COMMUNE = "10145"  # Faux-Villecerf
NEIGHBOURS = (
    "10124",
    "10038",
)  # Dierrey-Saint-Julien, Bercenay-le-Hayer (CC de l'Orvin et de l'Ardusson)


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    commune: str
    role: str
    commune_admin: bool = False


PEOPLE = (
    DemoPerson("maire@faux-villecerf.example.org", "Claire Martin", MAIN_COMMUNE, "maire", True),
    DemoPerson("adjoint@faux-villecerf.example.org", "Paul Girard", MAIN_COMMUNE, "adjoint"),
    DemoPerson(
        "conseillere@faux-villecerf.example.org", "Nadia Benali", MAIN_COMMUNE, "conseiller"
    ),
    DemoPerson("secretaire@faux-villecerf.example.org", "Julie Morel", MAIN_COMMUNE, "agent"),
    DemoPerson("habitant@faux-villecerf.example.org", "Louis Petit", MAIN_COMMUNE, "citoyen"),
    DemoPerson(
        "partenaire@faux-villecerf.example.org", "Sophie Laurent", MAIN_COMMUNE, "partenaire"
    ),
    DemoPerson("maire@dierrey-saint-julien.example.org", "Henri Lefèvre", "10124", "maire", True),
    DemoPerson("maire@bercenay-le-hayer.example.org", "Anne Roux", "10038", "maire", True),
    # The maire of Faux-Villecerf also sits in a neighbour's council: two communes, one login.
    DemoPerson("maire@faux-villecerf.example.org", "Claire Martin", "10124", "conseiller"),
)
PLATFORM_ADMIN = ("admin@viatic.example.org", "Administration Viatic")


def _user(email: str, name: str) -> User:
    user = auth.find_user(email)
    if user is None:
        user = User(email=email, name=name)
        auth.set_password(user, PASSWORD)
        db.add(user)
        db.flush()
    return user


def _left_off(commune: Commune, plugin: LoadedPlugin) -> bool:
    """A provider of an external tool (Chamilo, Vimeo) lacks the settings the demo cannot
    make up, while another provider of the same capability works without any: it is left
    off, and the in-house provider serves the demo commune alone, chosen as the only one."""
    registry = current_app.extensions["viatic.plugins"]
    return not _configured(commune, plugin) and any(
        other != plugin.name and _configured(commune, registry.plugins[other])
        for capability in plugin.capabilities
        for other in registry.providers_of(capability)
    )


def _configured(commune: Commune, plugin: LoadedPlugin) -> bool:
    values = settings.current_values(plugin.settings, modules.module_row(commune, plugin.name))
    return all(values.get(s.name) not in (None, "") for s in plugin.settings if s.required)


def run(echo: Callable[[str], None] = print) -> list[tuple[str, str]]:
    """Set the demo up; returns the (e-mail, description) of each login."""
    summary = communes_import.import_folder(db, DATA)
    echo(f"Territoire : {summary.communes} communes de l'Aube, {summary.epci} intercommunalités.")
    communes = {
        c.insee: c
        for c in db.scalars(select(Commune).where(Commune.insee.in_((MAIN_COMMUNE, *NEIGHBOURS))))
    }
    admin = _user(*PLATFORM_ADMIN)
    admin.is_platform_admin = True
    logins = [(admin.email, "administration de la plateforme")]
    for person in PEOPLE:
        user = _user(person.email, person.name)
        commune = communes[person.commune]
        membership = db.scalar(
            select(Membership).where(
                Membership.user_id == user.id, Membership.commune_id == commune.id
            )
        )
        if membership is None:
            db.add(
                Membership(
                    user_id=user.id,
                    commune_id=commune.id,
                    role=person.role,
                    is_commune_admin=person.commune_admin,
                )
            )
        if person.email not in {email for email, _ in logins}:
            logins.append((person.email, f"{person.role}, {commune.name}"))
    db.flush()
    registry = current_app.extensions["viatic.plugins"]
    for commune in communes.values():
        for plugin in registry.modules:
            if not _left_off(commune, plugin):
                modules.enable(commune, plugin.name)
            elif plugin.name in registry.enabled_for(commune):
                modules.disable(commune, plugin.name)  # enabled unconfigured by an older demo
        db.flush()
        for name in sorted(registry.enabled_for(commune)):
            registry.call_on(name, "viatic_demo_content", commune=commune)
    db.commit()
    return logins
