"""Server time of a commune's dashboard ``GET /c/10145/`` at national scale.

Four databases, built by this script and dropped at the end:
- "national": the whole Etalab set (34,969 communes, 1,255 EPCI), 200,000 synthetic users
  with memberships spread over the communes (one each, a second one for a tenth of them), one
  notification each, the bench modules enabled in a third of the communes; inserted in bulk
  (SQLAlchemy Core ``insert()`` executemany, one precomputed argon2 hash for everyone);
- "3 communes": the same three communes' Etalab records (10145, 10124, 10387 with their
  EPCI), and a handful of users;
each on PostgreSQL (a temporary database, then ``ANALYZE`` as autovacuum would) and on
SQLite. In every one the measured maire (commune admin of 10145, conseiller in 10124) has
the same memberships, notifications and modules, so that the pages are identical; as an
admin she has a second factor (TOTP), and signs in with its code.

Plus a bare Flask + Jinja app that renders the same templates (``base.html`` and
``commune/dashboard.html``) with static data: no database, no session, no plugins.

Requests go through the Flask test client, signed in as the maire, round-robin over the
apps (so that all see the same machine load), after a warm-up. Printed: median and p95 per
app, the SQL statements of one request (counted with ``before_cursor_execute``) and their
time, and the ratios against the targets: national / 3 communes <= 1.5, national / bare
<= 3, p95 < 50 ms.

Run: ``.venv/bin/python bench/bench_dashboard.py [DATA_DIR] [--users N] [--requests N]
[--no-sqlite] [--profile]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common
import pyotp

from core.testing import PASSWORD

INSEE = "10145"
OTHER = "10124"
SMALL_SET = (INSEE, OTHER, "10387")
PATH = f"/c/{INSEE}/"
MAIRE_EMAIL = "maire.bench@exemple.fr"
MAIRE_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # admins must have a second factor
MODULES = ("bench_actus", "bench_agenda", "bench_projets", "bench_sondages")
TARGET_RATIO_SMALL = 1.5
TARGET_RATIO_BARE = 3.0
TARGET_P95_MS = 50.0
CHUNK = 10_000
COUNTED = 20  # requests whose SQL statements are counted and timed


# --- The bench's modules ------------------------------------------------------------------------


def make_module(index: int, name: str) -> types.ModuleType:
    """A small module like a real one: a page, a permission, a nav entry, two widgets."""
    from flask import Blueprint
    from markupsafe import escape

    from core import toolkit

    label = name.removeprefix("bench_").title()
    module = types.ModuleType(name)
    bp = Blueprint(name, name)

    @bp.get("/")
    @toolkit.requires(f"{name}.view")
    def index_view() -> str:
        return label

    @toolkit.hookimpl
    def viatic_plugin_info() -> toolkit.PluginInfo:
        return toolkit.PluginInfo(name=name, label=label, version="1.0")

    @toolkit.hookimpl
    def viatic_blueprint() -> Blueprint:
        return bp

    @toolkit.hookimpl
    def viatic_permissions() -> list[toolkit.Permission]:
        return [
            toolkit.Permission(f"{name}.view", f"Voir {label}", ("maire", "adjoint", "citoyen")),
            toolkit.Permission(f"{name}.manage", f"Gérer {label}", ("maire",)),
        ]

    @toolkit.hookimpl
    def viatic_nav_items(commune: Any, user: Any) -> list[toolkit.NavItem]:
        return [toolkit.NavItem(label, f"{name}.index_view", order=10 * index, permission=None)]

    @toolkit.hookimpl
    def viatic_dashboard_widgets(commune: Any, user: Any) -> list[toolkit.Widget]:
        return [
            toolkit.Widget(
                f"{label} : à la une",
                lambda: f"<p>{index + 2} nouveautés à {escape(commune.name)}.</p>",
                order=index,
            ),
            toolkit.Widget(
                f"{label} : à valider",
                lambda: f"<p>{index} éléments attendent votre décision.</p>",
                order=50 + index,
                permission=f"{name}.manage",
            ),
        ]

    for hook in (
        viatic_plugin_info,
        viatic_blueprint,
        viatic_permissions,
        viatic_nav_items,
        viatic_dashboard_widgets,
    ):
        setattr(module, hook.__name__, hook)
    return module


BENCH_PLUGINS = [make_module(i, name) for i, name in enumerate(MODULES)]


# --- Building a database -----------------------------------------------------------------------


def small_folder(data: Path, target: Path) -> Path:
    """The Etalab files cut down to the three communes of ``SMALL_SET`` and their EPCI."""
    target.mkdir()
    for name in ("regions.json", "departements.json"):
        (target / name).write_bytes((data / name).read_bytes())
    communes = [
        c
        for c in json.loads((data / "communes.json").read_text(encoding="utf-8"))
        if c.get("code") in SMALL_SET and c.get("type", "commune-actuelle") == "commune-actuelle"
    ]
    epcis = []
    for epci in json.loads((data / "epci.json").read_text(encoding="utf-8")):
        members = [m for m in epci.get("membres", []) if m.get("code") in SMALL_SET]
        if members:
            epcis.append({**epci, "membres": members})
    (target / "communes.json").write_text(json.dumps(communes), encoding="utf-8")
    (target / "epci.json").write_text(json.dumps(epcis), encoding="utf-8")
    return target


def chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def build(url: str, folder: Path, synthetic_users: int) -> Any:
    """A migrated app on ``url`` with the communes of ``folder`` and the users."""
    from sqlalchemy import insert, select, text

    from core import auth, modules
    from core.communes_import import import_folder
    from core.db import db, utcnow
    from core.models import (
        ROLES,
        Commune,
        CommuneModule,
        Membership,
        Notification,
        RolePermission,
        User,
    )
    from core.settings import encrypt

    app = _common.make_app(url, BENCH_PLUGINS)
    now = utcnow()
    with app.app_context():
        # One hash for everybody, with the app's own Argon2 parameters.
        password_hash = auth.hash_password(PASSWORD)
        import_folder(db, folder)
        communes = db.execute(select(Commune.id, Commune.insee).order_by(Commune.insee)).all()
        target = db.scalar(select(Commune).where(Commune.insee == INSEE))
        other = db.scalar(select(Commune).where(Commune.insee == OTHER))

        # The maire measured, the same in every database.
        maire = User(
            email=MAIRE_EMAIL,
            name="Marie Banc",
            password_hash=password_hash,
            totp_secret=encrypt(MAIRE_TOTP_SECRET),
            totp_enabled_at=now,
        )
        db.add(maire)
        db.flush()
        db.add(
            Membership(user_id=maire.id, commune_id=target.id, role="maire", is_commune_admin=True)
        )
        db.add(Membership(user_id=maire.id, commune_id=other.id, role="conseiller"))
        for name in MODULES:
            modules.enable(target, name)
        db.add(
            RolePermission(
                commune_id=target.id,
                role="conseiller",
                permission="bench_actus.manage",
                granted=True,
            )
        )
        for n in range(5):
            db.add(
                Notification(
                    user_id=maire.id,
                    commune_id=target.id,
                    type="core.member_joined",
                    title=f"Nouveau membre {n}",
                    read_at=now if n >= 3 else None,
                )
            )
        db.commit()

        # Everybody else, in bulk.
        db.execute(
            insert(User.__table__),
            [
                {
                    "email": f"membre{i:06d}@exemple.fr",
                    "name": f"Membre {i}",
                    "password_hash": password_hash,
                    "is_platform_admin": False,
                    "is_active": True,
                    "locale": None,
                    "security_stamp": secrets.token_hex(16),
                    "created_at": now,
                }
                for i in range(synthetic_users)
            ],
        )
        user_ids = db.scalars(select(User.id).where(User.id != maire.id).order_by(User.id)).all()
        count = len(communes)
        memberships = []
        notes = []
        for i, user_id in enumerate(user_ids):
            role = ROLES[(i // count) % len(ROLES)]
            memberships.append(
                {
                    "user_id": user_id,
                    "commune_id": communes[i % count].id,
                    "role": role,
                    "is_commune_admin": role == "maire",
                    "created_at": now,
                }
            )
            if i % 10 == 0 and count > 1:
                memberships.append(
                    {
                        "user_id": user_id,
                        "commune_id": communes[(i + count // 2) % count].id,
                        "role": "citoyen",
                        "is_commune_admin": False,
                        "created_at": now,
                    }
                )
            notes.append(
                {
                    "user_id": user_id,
                    "commune_id": communes[i % count].id,
                    "type": "core.member_joined",
                    "title": "Bienvenue",
                    "body": "",
                    "url": None,
                    "created_at": now,
                    "read_at": now if i % 2 else None,
                }
            )
        module_rows = [
            {
                "commune_id": c.id,
                "plugin": name,
                "enabled": True,
                "settings": {},
                "updated_at": now,
            }
            for n, c in enumerate(communes)
            if n % 3 == 0 and c.insee not in (INSEE, OTHER)
            for name in MODULES
        ]
        changes = [
            {
                "commune_id": c.id,
                "role": "adjoint",
                "permission": "bench_agenda.manage",
                "granted": True,
            }
            for n, c in enumerate(communes)
            if n % 10 == 0 and c.insee != INSEE
        ]
        for table, rows in (
            (Membership.__table__, memberships),
            (Notification.__table__, notes),
            (CommuneModule.__table__, module_rows),
            (RolePermission.__table__, changes),
        ):
            for chunk in chunks(rows):
                db.execute(insert(table), chunk)
        db.commit()
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("ANALYZE"))  # what autovacuum does after a bulk load
            db.commit()
    return app


# --- The bare Flask + Jinja baseline ----------------------------------------------------------


def bare_app(real_app: Any) -> Any:
    """A plain Flask app rendering the portal's own dashboard templates with static data.

    Its URL map copies the real one (stub views), so that ``url_for`` answers alike; the
    context gives what the layout asks for, as literals.
    """
    from babel import Locale
    from flask import Flask, render_template
    from markupsafe import Markup

    core_dir = _common.REPO / "core"
    app = Flask(
        "bare",
        static_folder=str(core_dir / "static"),
        template_folder=str(core_dir / "templates"),
    )
    app.config.update(SECRET_KEY=_common.SECRET, SERVER_NAME="viatic.test")
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]

    epci = types.SimpleNamespace(name="CC de l'Orvin et de l'Ardusson")
    commune = types.SimpleNamespace(
        id=1, insee=INSEE, name="Faux-Villecerf", population=215, epci=epci
    )
    others = [types.SimpleNamespace(id=2, insee=OTHER, name="Dierrey-Saint-Julien"), commune]
    user = types.SimpleNamespace(name="Marie Banc", is_platform_admin=False, locale=None)
    nav = [
        {"label": name.removeprefix("bench_").title(), "url": f"/c/{INSEE}/{name}/", "order": i}
        for i, name in enumerate(MODULES)
    ]
    widgets = []
    for plugin in BENCH_PLUGINS:
        for widget in plugin.viatic_dashboard_widgets(commune=commune, user=user):
            widgets.append(
                {
                    "title": widget.title,
                    "html": Markup(widget.render()),
                    "order": widget.order,
                    "plugin": plugin.__name__,
                }
            )
    widgets.sort(key=lambda w: (w["order"], str(w["title"])))
    locale = Locale.parse("fr")
    app.jinja_env.globals.update(
        get_locale=lambda: locale,
        has_permission=lambda _p: True,
        role_label=str,
        csrf_token=lambda: "x" * 86,
    )

    @app.context_processor
    def _static_context() -> dict[str, Any]:
        return {
            "current_user": user,
            "commune": commune,
            "my_communes": lambda: others,
            "navigation": lambda: nav,
            "unread_notifications": 3,
            "is_commune_admin": True,
        }

    @app.url_defaults
    def _give_commune(endpoint: str, values: dict[str, Any]) -> None:
        if "insee" not in values and app.url_map.is_endpoint_expecting(endpoint, "insee"):
            values["insee"] = INSEE

    def dashboard(**_kwargs: Any) -> str:
        return render_template("commune/dashboard.html", widgets=widgets)

    def stub(**_kwargs: Any) -> str:
        return ""

    for rule in real_app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = dashboard if rule.endpoint == "commune.dashboard" else stub
        app.add_url_rule(rule.rule, endpoint=rule.endpoint, view_func=view, methods=rule.methods)
    return app


# --- Measuring ----------------------------------------------------------------------------------


class Target:
    def __init__(self, label: str, app: Any, signed_in: bool = True) -> None:
        self.label = label
        self.app = app
        self.client = app.test_client()
        if signed_in:
            code = pyotp.TOTP(MAIRE_TOTP_SECRET).now()
            self.client.login(MAIRE_EMAIL, code=code)
        first = self.client.get(PATH)
        self.body = first.get_data()
        if first.status_code != 200 or b"Faux-Villecerf" not in self.body:
            raise SystemExit(f"{label}: GET {PATH} answered {first.status_code}")
        for module in MODULES:
            title = f"{module.removeprefix('bench_').title()} : à valider".encode()
            if title not in self.body:
                raise SystemExit(f"{label}: the page lacks the widget {title!r}")
        self.samples: list[float] = []
        self.queries: list[str] = []
        self.sql_samples: list[float] = []
        self.statement_samples: dict[int, list[float]] = {}

    def counted_hit(self, counter: _common.QueryCounter) -> None:
        """One request whose statements and their driver times are kept."""
        with counter.counting() as statements:
            self.client.get(PATH)
        self.queries = list(statements)
        self.sql_samples.append(counter.seconds)
        for n, seconds in enumerate(counter.durations):
            self.statement_samples.setdefault(n, []).append(seconds)

    @property
    def sql_ms(self) -> float:
        return _common.summary(self.sql_samples)["median"] * 1e3 if self.sql_samples else 0.0

    def statement_ms(self, n: int) -> float:
        samples = self.statement_samples.get(n)
        return _common.summary(samples)["median"] * 1e3 if samples else float("nan")

    def hit(self) -> float:
        start = time.perf_counter()
        response = self.client.get(PATH)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise SystemExit(f"{self.label}: GET {PATH} answered {response.status_code}")
        return elapsed


def measure(targets: list[Target], requests: int, warmup: int) -> None:
    for _ in range(warmup):
        for target in targets:
            target.hit()
    for _ in range(requests):
        for target in targets:
            target.samples.append(target.hit())
    # Then the statements of each request, with their time in the driver.
    counters = {
        t.label: _common.QueryCounter(t.app.extensions["viatic.db"].engine)
        for t in targets
        if "viatic.db" in t.app.extensions
    }
    try:
        for _ in range(COUNTED):
            for target in targets:
                if target.label in counters:
                    target.counted_hit(counters[target.label])
    finally:
        for counter in counters.values():
            counter.close()


# Where a request's time goes: (file suffix, function) of library functions, cumulative.
PROFILE_PARTS = (
    (
        "SQLAlchemy: every ORM query (Session._execute_internal)",
        "orm/session.py",
        "_execute_internal",
    ),
    ("SQLAlchemy: session close at teardown", "orm/session.py", "_close_impl"),
    ("the guard (before_request: user, commune, rights)", "core/app.py", "_guard"),
    (
        "render_template (queries made by the layout included)",
        "flask/templating.py",
        "render_template",
    ),
    ("Flask-Babel gettext (the templates' _())", "jinja2/ext.py", "_gettext_alias"),
    ("url_for", "flask/app.py", "url_for"),
    ("signed-cookie session: open + save", "flask/sessions.py", "open_session|save_session"),
    ("CSRF tokens (Flask-WTF generate_csrf)", "flask_wtf/csrf.py", "generate_csrf"),
)


def profile(target: Target, count: int = 200) -> None:
    """cProfile ``count`` requests; the share of a few parts (they overlap), then the top."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        target.client.get(PATH)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(
        ct
        for (path, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items()
        if name == "wsgi_app" and path.endswith("flask/app.py")
    )
    print(
        f"-- profile of {count} requests, {target.label}: {total / count * 1e3:.2f} ms per "
        "request under cProfile; cumulative shares (parts overlap):"
    )
    for label, suffix, names in PROFILE_PARTS:
        wanted = set(names.split("|"))
        seconds = sum(
            ct
            for (path, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items()
            if name in wanted and path.endswith(suffix)
        )
        print(f"  {label:<58} {seconds / count * 1e3:6.2f} ms  {seconds / total:6.1%}")
    print("   top 20 by cumulative time:")
    stats.sort_stats("cumulative").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=_common.DEFAULT_DATA)
    parser.add_argument("--users", type=int, default=200_000, help="synthetic users")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per app")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", action="store_true", help="cProfile the national page")
    args = parser.parse_args()
    if not (args.data / "communes.json").is_file():
        raise SystemExit(f"No Etalab data in {args.data} (give the folder as first argument)")

    _common.header(
        f"GET {PATH} as the maire: {args.users:,} users, {args.requests} requests per app"
    )
    apps: list[Any] = []
    targets: list[Target] = []
    with (
        _common.temp_dir("dashboard") as tmp,
        _common.TempPostgres("dashboard") as pg_big,
        _common.TempPostgres("dashboard_small") as pg_small,
    ):
        small = small_folder(args.data, tmp / "small-data")
        setups: list[tuple[str, str | None, Path, int]] = []
        if pg_big.url and pg_small.url:
            setups += [
                ("PostgreSQL national", pg_big.url, args.data, args.users - 1),
                ("PostgreSQL 3 communes", pg_small.url, small, 5),
            ]
        else:
            _common.pg_skipped("PostgreSQL dashboards", pg_big if not pg_big.url else pg_small)
        if not args.no_sqlite:
            setups += [
                ("SQLite national", f"sqlite:///{tmp / 'national.db'}", args.data, args.users - 1),
                ("SQLite 3 communes", f"sqlite:///{tmp / 'small.db'}", small, 5),
            ]
        try:
            for label, url, folder, users in setups:
                start = time.perf_counter()
                app = build(url, folder, users)
                seconds = time.perf_counter() - start
                apps.append(app)
                print(f"built {label}: {users + 1:,} users in {seconds:.1f} s")
                targets.append(Target(label, app))
            if not targets:
                raise SystemExit("no database to measure")
            targets.append(Target("bare Flask + Jinja", bare_app(apps[0]), signed_in=False))
            _common.freeze_like_a_worker()
            measure(targets, args.requests, args.warmup)
            report(targets)
            if args.profile:
                profile(targets[0])
        finally:
            for app in apps:
                _common.dispose(app)


def report(targets: list[Target]) -> None:
    by_label = {t.label: t for t in targets}
    width = max(len(t.label) for t in targets)
    print(f"{'':<{width}}  median ms    p95 ms  queries  SQL ms/req  bytes")
    for t in targets:
        s = _common.summary(t.samples)
        queries = str(len(t.queries)) if t.label != "bare Flask + Jinja" else "-"
        print(
            f"{t.label:<{width}}  {s['median'] * 1e3:9.2f} {s['p95'] * 1e3:9.2f}  {queries:>7}"
            f"  {t.sql_ms:10.2f}  {len(t.body)}"
        )
    first = targets[0]
    small = by_label.get(first.label.replace("national", "3 communes"), first)
    print(
        f"SQL statements of one request, {first.label} (median ms in the driver over "
        f"{COUNTED} requests: national | 3 communes):"
    )
    for n, statement in enumerate(first.queries):
        short = re.sub(r"^SELECT (.+?) FROM ", "SELECT … FROM ", statement)
        print(
            f"  {n + 1:2d}. {first.statement_ms(n):5.2f} | {small.statement_ms(n):5.2f}  "
            f"{short[:140]}"
        )
    bare = _common.summary(by_label["bare Flask + Jinja"].samples)
    checks: list[tuple[str, float, float, bool]] = []
    for backend in ("PostgreSQL", "SQLite"):
        big = by_label.get(f"{backend} national")
        little = by_label.get(f"{backend} 3 communes")
        if big is None or little is None:
            continue
        b, s = _common.summary(big.samples), _common.summary(little.samples)
        checks += [
            (
                f"{backend}: national / 3 communes, median",
                b["median"] / s["median"],
                TARGET_RATIO_SMALL,
                b["median"] / s["median"] <= TARGET_RATIO_SMALL,
            ),
            (
                f"{backend}: national / bare Flask, median",
                b["median"] / bare["median"],
                TARGET_RATIO_BARE,
                b["median"] / bare["median"] <= TARGET_RATIO_BARE,
            ),
            (
                f"{backend}: national p95 (ms)",
                b["p95"] * 1e3,
                TARGET_P95_MS,
                b["p95"] * 1e3 < TARGET_P95_MS,
            ),
        ]
    for label, value, target, met in checks:
        print(f"target {label:<45} {value:7.2f} (target {target:g}) -> {_common.verdict(met)}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU")


if __name__ == "__main__":
    main()
