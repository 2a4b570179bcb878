"""The portal in a real Chromium (Playwright): a maire's journey through the commune switcher
and the modules admin, and axe-core on every core page, at desktop width and on a phone.

The app is served over HTTP on 127.0.0.1 by a werkzeug server in a thread; the browser runs
on SQLite only (the database layer is covered on both backends by the other tests).
Chromium is the Debian package at /usr/bin/chromium; without it these tests skip (or fail
when ``VIATIC_TEST_REQUIRE_ALL=1``). Screenshots of the dashboard are left in the test's
temporary directory (``.../screenshots``) for a human to look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.testing import PASSWORD, unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}

MAIRE = "maire@faux-villecerf.fr"
PLATFORM_ADMIN = "plateforme@viatic.fr"

# The browser journeys run on SQLite only: the flow tests the UI, not the database.
sqlite_only = pytest.mark.parametrize("database_backend", ["sqlite"], indirect=True)


# --- Browser and server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Python playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium_browser: Any, live_server: str) -> Iterator[Callable[[], Any]]:
    """``new_page()`` → a page in a fresh browser context (its own cookies) on the server."""
    contexts = []

    def make() -> Any:
        context = chromium_browser.new_context(
            base_url=live_server, viewport=DESKTOP, locale="fr-FR", service_workers="block"
        )
        # Nothing but the test server: a request elsewhere fails instead of leaving the host.
        context.route(
            re.compile(r"^(?!" + re.escape(live_server) + r"/).*"),
            lambda route: route.abort(),
        )
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:  # before the server stops
        context.close()


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    from playwright.sync_api import expect

    page.goto("/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("link", name="Se connecter")).to_have_count(0)


def main_nav(page: Any) -> Any:
    return page.get_by_role("navigation", name="Menu principal")


def h1(page: Any) -> Any:
    return page.get_by_role("heading", level=1)


# --- Signing in through an identity provider --------------------------------------------------


@pytest.mark.browser
@sqlite_only
def test_a_citizen_signs_in_and_out_through_the_real_oidc_provider(
    app, chromium_browser, live_server, oidc_provider_factory
):
    """The whole round trip in Chromium: the portal's button, the provider's login and
    consent pages, back signed in; then the logout ends the provider's session too."""
    from playwright.sync_api import expect

    from core import federation
    from tests.real_oidc import TEST_CLIENT_ID, TEST_CLIENT_SECRET

    provider = oidc_provider_factory(
        redirect_uris=[f"{live_server}/connexion/avec/mairie/retour"],
        post_logout_redirect_uris=[f"{live_server}/deconnexion/retour"],
    )
    app.extensions["viatic.oidc_providers"] = federation.environment_providers(
        {
            "OIDC_PROVIDERS": [
                {
                    "slug": "mairie",
                    "kind": "generic",
                    "label": "Mon espace mairie",
                    "discovery_url": provider.discovery_url,
                    "client_id": TEST_CLIENT_ID,
                    "client_secret": TEST_CLIENT_SECRET,
                }
            ]
        }
    )
    context = chromium_browser.new_context(base_url=live_server, viewport=PHONE, locale="fr-FR")
    allowed = (live_server, provider.issuer)
    context.route(
        re.compile(r"^(?!(" + "|".join(re.escape(o) for o in allowed) + r")/).*"),
        lambda route: route.abort(),
    )
    page = context.new_page()
    try:
        page.goto("/connexion")
        page.get_by_role("link", name="S'identifier avec Mon espace mairie").click()
        # The provider's own pages (oidc-provider's development login, then consent).
        expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer)))
        page.locator("input[name=login]").fill("alice")
        page.locator("input[name=password]").fill("peu importe")
        page.locator("button[type=submit]").click()
        page.locator("button[type=submit]").click()  # consent
        expect(h1(page)).to_have_text("Bonjour Alice Martin")
        expect(page).to_have_url(f"{live_server}/")

        page.locator("summary", has_text="Alice Martin").click()  # the account menu
        page.get_by_role("button", name="Se déconnecter").click()
        # oidc-provider asks to confirm the sign-out at its end.
        expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer)))
        page.locator("button[autofocus], button[name=logout]").first.click()
        expect(page.get_by_role("status")).to_contain_text(
            "Vous êtes déconnecté·e de Viatic et de Mon espace mairie."
        )
    finally:
        context.close()


# --- The maire's journey ------------------------------------------------------------------------


@pytest.mark.browser
@sqlite_only
def test_maire_switches_commune_then_enables_and_disables_a_module(
    new_page, commune, other_commune, make_member
):
    from playwright.sync_api import expect

    maire = make_member(commune, role="maire", admin=True, email=MAIRE, name="Claire Martin")
    make_member(other_commune, role="conseiller", email=maire.email)
    page = new_page()

    # Signed out, the home page offers to sign in.
    page.goto("/")
    expect(h1(page)).to_have_text("Viatic, la boîte à outils des élus locaux")
    page.get_by_role("main").get_by_role("link", name="Se connecter").click()
    expect(h1(page)).to_have_text("Connexion")

    # The login form: a person of two communes lands on the list of her communes.
    page.get_by_label("Adresse e-mail").fill(MAIRE)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(h1(page)).to_have_text("Bonjour Claire Martin")
    expect(page.get_by_role("heading", name="Mes communes")).to_be_visible()
    page.get_by_role("link", name="Faux-Villecerf").click()
    expect(page).to_have_url(re.compile(r"/c/10145/$"))
    expect(h1(page)).to_have_text("Faux-Villecerf")
    expect(page).to_have_title("Tableau de bord — Faux-Villecerf — Viatic")

    # The commune switcher in the header, there and back.
    switcher = page.get_by_label("Commune", exact=True)
    expect(switcher).to_have_value("10145")
    switcher.select_option(label="Dierrey-Saint-Julien")
    page.get_by_role("button", name="Changer").click()
    expect(page).to_have_url(re.compile(r"/c/10124/$"))
    expect(h1(page)).to_have_text("Dierrey-Saint-Julien")
    # A conseiller there, not an admin: no Administration in the menu.
    expect(main_nav(page).get_by_role("link", name="Administration")).to_have_count(0)
    page.get_by_label("Commune", exact=True).select_option(label="Faux-Villecerf")
    page.get_by_role("button", name="Changer").click()
    expect(page).to_have_url(re.compile(r"/c/10145/$"))
    expect(h1(page)).to_have_text("Faux-Villecerf")

    # Administration → Modules, where Météo is off.
    expect(main_nav(page).get_by_role("link", name="Météo")).to_have_count(0)
    main_nav(page).get_by_role("link", name="Administration").click()
    expect(page.get_by_role("heading", name="Membres", level=2)).to_be_visible()
    page.get_by_role("navigation", name="Administration de la commune").get_by_role(
        "link", name="Modules"
    ).click()
    expect(page).to_have_url(re.compile(r"/c/10145/admin/modules$"))
    meteo = page.locator('[data-module="meteo"]')
    expect(meteo.get_by_role("heading", name="Météo")).to_be_visible()
    expect(meteo).to_contain_text("Désactivé")

    # Enable it: the menu item and the widget appear.
    meteo.get_by_role("button", name="Activer « Météo »").click()
    expect(page.get_by_role("status")).to_contain_text("Module « Météo » activé.")
    expect(meteo.locator(".status--on", has_text="Activé")).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Météo")).to_be_visible()
    main_nav(page).get_by_role("link", name="Tableau de bord").click()
    expect(page.get_by_role("region", name="Météo du jour")).to_contain_text(
        "Ciel dégagé sur Faux-Villecerf"
    )
    main_nav(page).get_by_role("link", name="Météo").click()
    expect(page).to_have_url(re.compile(r"/c/10145/meteo/$"))
    expect(page.get_by_text("Station : Troyes-Barberey")).to_be_visible()

    # Disable it: both are gone and its page answers the French 404.
    main_nav(page).get_by_role("link", name="Administration").click()
    page.get_by_role("navigation", name="Administration de la commune").get_by_role(
        "link", name="Modules"
    ).click()
    meteo.get_by_role("button", name="Désactiver « Météo »").click()
    expect(page.get_by_role("status")).to_contain_text("Module « Météo » désactivé.")
    expect(meteo).to_contain_text("Désactivé")
    expect(main_nav(page).get_by_role("link", name="Météo")).to_have_count(0)
    main_nav(page).get_by_role("link", name="Tableau de bord").click()
    expect(h1(page)).to_have_text("Faux-Villecerf")
    expect(page.get_by_text("Météo du jour")).to_have_count(0)
    expect(page.get_by_text("Aucun module n'est encore activé pour cette commune.")).to_be_visible()

    response = page.goto("/c/10145/meteo/")
    assert response is not None and response.status == 404
    expect(h1(page)).to_have_text("Page introuvable")
    expect(page).to_have_title("Page introuvable — Faux-Villecerf — Viatic")


# --- Accessibility: axe-core on every core page, and no sideways scrolling on a phone ----------


def _axe_report(name: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{name}: {v['id']} ({v['impact']}) {v['help']}")
        lines.extend(
            f"    {', '.join(map(str, n['target']))}: {n['html'][:160]}" for n in v["nodes"]
        )
    return "\n".join(lines)


class PageChecker:
    """Runs axe on the page as it stands, at desktop width and at 360 px, where the page must
    not scroll sideways either; optionally screenshots both."""

    def __init__(self, screenshots: Path) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.problems: list[str] = []
        self.checked: list[str] = []
        self.screenshots = screenshots

    def check(self, page: Any, name: str, screenshot: bool = False) -> None:
        self.checked.append(name)
        page.set_viewport_size(DESKTOP)
        violations = self.axe.run(page).response["violations"]
        if violations:
            self.problems.append(_axe_report(name, violations))
        if screenshot:
            page.screenshot(path=self.screenshots / f"{name}-desktop.png", full_page=True)
        page.set_viewport_size(PHONE)
        violations = self.axe.run(page).response["violations"]
        if violations:
            self.problems.append(_axe_report(name + " (360 px)", violations))
        repeated = page.evaluate(REPEATED_IDS)
        if repeated:
            self.problems.append(f"{name}: ids given to several elements: {repeated}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide = page.evaluate(WIDEST_ELEMENTS, PHONE["width"])
            self.problems.append(f"{name}: scrolls sideways at 360 px ({width} px): {wide}")
        if screenshot:
            page.screenshot(path=self.screenshots / f"{name}-360.png", full_page=True)
        page.set_viewport_size(DESKTOP)


# An id names one element (HTML, RGAA 8.2): labels, descriptions and links to it rely on it.
REPEATED_IDS = """() => {
  const seen = {};
  document.querySelectorAll('[id]').forEach(e => { seen[e.id] = (seen[e.id] || 0) + 1; });
  return Object.keys(seen).filter(id => seen[id] > 1);
}"""


# What sticks out on the right (to say what to fix when the page scrolls sideways): elements
# past the edge that no scrolling box contains, and boxes whose own text overflows them.
WIDEST_ELEMENTS = """(limit) => {
  const scrolls = e => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowX);
  const free = e => {
    const absolute = ['absolute', 'fixed'].includes(getComputedStyle(e).position);
    for (let p = absolute ? e.offsetParent : e.parentElement; p; p = p.parentElement) {
      if (scrolls(p)) return false;
    }
    return true;
  };
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className
       ? '.' + e.className.split(' ').join('.') : '');
  return Array.from(document.querySelectorAll('body *'))
    .filter(e => free(e) && (e.getBoundingClientRect().right > limit
                             || (!scrolls(e) && e.scrollWidth > e.clientWidth + 1)))
    .slice(-5)
    .map(e => name(e) + ' right=' + Math.round(e.getBoundingClientRect().right)
              + ' scrollWidth=' + e.scrollWidth);
}"""


def _fill_commune(app: Flask, commune: Any, maire: Any) -> None:
    """Modules enabled (one of them broken), a notification, an invitation, a failed send."""
    from core import members, modules, notifications
    from core.db import db
    from core.models import Commune, OutboxMessage, User

    with app.test_request_context():  # the invitation e-mail is translated
        here = db.get(Commune, commune.id)
        for name in ("meteo", "fragile", "videoa", "videob"):
            modules.enable(here, name)
        person = db.get(User, maire.id)
        notifications.notify(
            [person],
            "meteo.alerte",
            "Orages attendus jeudi",
            body="Vigilance orange sur l'Aube.",
            url="/c/10145/meteo/",
            commune=here,
        )
        members.invite(here, "secretaire@faux-villecerf.fr", "agent", False, person)
        db.add(
            OutboxMessage(
                kind="chamilo.enrol",
                payload={},
                idempotency_key="chamilo.enrol:1",
                status=OutboxMessage.FAILED,
                attempts=8,
                last_error="Connexion refusée par le serveur Chamilo (délai dépassé)",
            )
        )
        db.commit()


@pytest.mark.browser
@sqlite_only
def test_core_pages_pass_axe_and_fit_a_360_px_screen(
    app, new_page, commune, other_commune, make_member, tmp_path
):
    from playwright.sync_api import expect

    maire = make_member(commune, role="maire", admin=True, email=MAIRE, name="Claire Martin")
    make_member(other_commune, role="conseiller", email=maire.email)
    make_member(None, email=PLATFORM_ADMIN, platform_admin=True, name="Paul Plateforme")
    _fill_commune(app, commune, maire)
    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()
    checker = PageChecker(screenshots)

    # Signed out.
    page = new_page()
    for name, path in [
        ("accueil", "/"),
        ("connexion", "/connexion"),
        ("mot-de-passe-oublie", "/mot-de-passe/oublie"),
        ("accessibilite", "/accessibilite"),
        ("mentions-legales", "/mentions-legales"),
        ("trouver-sa-commune", "/communes?q=Faux"),
        ("lien-perime", "/mot-de-passe/nouveau/perime"),
    ]:
        page.goto(path)
        checker.check(page, name)
    page.goto("/connexion")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("Le formulaire contient 2 erreurs")
    checker.check(page, "connexion-champs-vides")
    page.get_by_label("Adresse e-mail").fill(MAIRE)
    page.get_by_label("Mot de passe", exact=True).fill("pas le bon")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("Adresse e-mail ou mot de passe incorrect.")
    checker.check(page, "connexion-refusee")
    page.goto("/mot-de-passe/oublie")
    page.get_by_role("button", name="Recevoir le lien").click()
    expect(page.get_by_role("alert")).to_be_visible()
    checker.check(page, "mot-de-passe-oublie-erreur")
    page.goto("/c/10145/nulle-part")
    checker.check(page, "404-hors-connexion")

    # The commune admin.
    page = new_page()
    sign_in(page, MAIRE)
    checker.check(page, "mes-communes")
    for name, path in [
        ("tableau-de-bord", "/c/10145/"),
        ("recherche", "/c/10145/recherche?q=pluie"),
        ("recherche-vide", "/c/10145/recherche?q=zzz"),
        ("membres-commune", "/c/10145/membres"),
        ("membres", "/c/10145/admin/membres"),
        ("modules", "/c/10145/admin/modules"),
        ("reglages-meteo", "/c/10145/admin/modules/meteo/reglages"),
        ("droits", "/c/10145/admin/droits"),
        ("journal", "/c/10145/admin/journal"),
        ("notifications", "/compte/notifications"),
        ("preferences", "/compte/preferences"),
        ("mot-de-passe", "/compte/mot-de-passe"),
        ("securite", "/compte/securite"),
        ("404", "/c/10145/nulle-part"),
    ]:
        response = page.goto(path)
        assert response is not None
        assert response.status == (404 if name == "404" else 200), name
        checker.check(page, name, screenshot=name == "tableau-de-bord")
    page.goto("/c/10145/admin/modules/meteo/reglages")
    page.get_by_label("Station").fill("")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert")).to_be_visible()
    checker.check(page, "reglages-meteo-erreurs")
    page.goto("/compte/mot-de-passe")
    page.get_by_label("Nouveau mot de passe").fill("court")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert")).to_be_visible()
    checker.check(page, "mot-de-passe-erreurs")
    page.goto("/compte/securite")
    page.get_by_role("button", name="Configurer la double authentification").click()
    expect(page.get_by_role("img", name="QR code de la double authentification")).to_be_visible()
    checker.check(page, "securite-activation")
    page.get_by_label("Code à 6 chiffres").fill("000000")
    page.get_by_role("button", name="Activer la double authentification").click()
    expect(page.get_by_role("alert")).to_contain_text("Ce code ne correspond pas")
    checker.check(page, "securite-activation-erreur")
    page.goto("/c/10145/")
    page.locator("summary", has_text="Claire Martin").click()  # the account menu, opened
    page.set_viewport_size(PHONE)
    for item in page.get_by_role("navigation", name="Mon compte").get_by_role("listitem").all():
        box = item.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    checker.check(page, "menu-du-compte")

    # The platform admin.
    page = new_page()
    sign_in(page, PLATFORM_ADMIN)
    for name, path in [
        ("plateforme", "/admin/"),
        ("plateforme-communes", "/admin/communes?q=a"),
        ("plateforme-modules", "/admin/plugins"),
        ("plateforme-envois", "/admin/outbox"),
        ("plateforme-courriels", "/admin/courriels"),
        ("plateforme-journal", "/admin/journal"),
        ("plateforme-connecteurs", "/admin/connecteurs"),
    ]:
        response = page.goto(path)
        assert response is not None and response.status == 200, name
        checker.check(page, name)

    assert len(checker.checked) >= 30
    assert not checker.problems, "\n".join(checker.problems)
