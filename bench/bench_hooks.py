"""Per-commune hook dispatch: ``registry.call_for_commune("viatic_nav_items", commune, ...)``.

Twenty small generated plugins (``viatic_plugin_info`` + ``viatic_nav_items``) are
registered with ``create_app(..., plugins=[...], entry_points=False)`` on a migrated
temporary SQLite database. Measured inside one app context, after a warm-up, as the median
of several timed loops (µs per call):
- a commune with the 20 plugins enabled (target: < 20 µs per call);
- a commune with 1 of the 20 enabled, and an app with a single plugin installed and enabled;
- for reference: pluggy's own ``pm.hook.viatic_nav_items(...)`` over the 20; the 20
  implementations called directly (the plugins' own work, the floor of any dispatch) and the
  20 ``NavItem`` they build; ``enabled_for()`` when its cache hits and when it misses (one
  SQL query).
The loops of all cases are interleaved, so that a busy machine slows them alike; the load
average is printed with the figures.

Run: ``.venv/bin/python bench/bench_hooks.py``
"""

from __future__ import annotations

import os
import time
import types
from collections.abc import Callable
from typing import Any

import _common

PLUGINS = 20
TARGET_US = 20.0
LOOP = 5_000
REPEATS = 9


def make_plugin(index: int) -> types.ModuleType:
    """A plugin module like a small real one: metadata and one navigation entry."""
    from core import toolkit

    name = f"bench_p{index:02d}"
    label, endpoint = f"Module {index}", f"{name}.index"  # literals in a real plugin
    module = types.ModuleType(name)

    @toolkit.hookimpl
    def viatic_plugin_info() -> toolkit.PluginInfo:
        return toolkit.PluginInfo(name=name, label=label, version="1.0")

    @toolkit.hookimpl
    def viatic_nav_items(commune: Any, user: Any) -> list[toolkit.NavItem]:
        return [toolkit.NavItem(label, endpoint, order=index)]

    module.viatic_plugin_info = viatic_plugin_info
    module.viatic_nav_items = viatic_nav_items
    return module


def per_call_us(
    calls: dict[str, Callable[[], Any]], loop: int = LOOP
) -> dict[str, dict[str, float]]:
    """µs per call of each of ``calls``: REPEATS rounds, each timing one loop of ``loop``
    calls of every function in turn (interleaved, so that all see the same machine load)."""
    for call in calls.values():
        for _ in range(loop // 10):
            call()
    samples: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(REPEATS):
        for label, call in calls.items():
            start = time.perf_counter()
            for _ in range(loop):
                call()
            samples[label].append((time.perf_counter() - start) / loop * 1e6)
    return {label: _common.summary(values) for label, values in samples.items()}


def setup(app: Any, enabled: dict[str, list[str]]) -> dict[str, int]:
    """Create the communes and enable their modules as a commune admin would."""
    from core import modules
    from core.db import db
    from core.models import Commune

    ids = {}
    with app.app_context():
        for insee, names in enabled.items():
            commune = Commune(insee=insee, name=f"Commune {insee}", postcodes=[], population=500)
            db.add(commune)
            db.flush()
            for name in names:
                modules.enable(commune, name)
            ids[insee] = commune.id
        db.commit()
    return ids


def main() -> None:
    from core.db import db
    from core.models import Commune
    from core.plugins import HookFailure
    from core.types import NavItem

    _common.header(f"call_for_commune('viatic_nav_items'), {PLUGINS} dummy plugins, SQLite")
    plugins = [make_plugin(i) for i in range(PLUGINS)]
    names = [f"bench_p{i:02d}" for i in range(PLUGINS)]
    with _common.temp_dir("hooks") as tmp:
        app = _common.make_app(f"sqlite:///{tmp / 'many.db'}", plugins, entry_points=False)
        ids = setup(app, {"10145": names, "10124": names[:1]})
        single = _common.make_app(f"sqlite:///{tmp / 'one.db'}", plugins[:1], entry_points=False)
        single_ids = setup(single, {"10145": names[:1]})
        results: dict[str, dict[str, float]] = {}
        try:
            with app.app_context():
                registry = app.extensions["viatic.plugins"]
                lone_registry = single.extensions["viatic.plugins"]
                full = db.get(Commune, ids["10145"])
                one = db.get(Commune, ids["10124"])
                with single.app_context():
                    lone = db.get(Commune, single_ids["10145"])
                    lone_registry.enabled_for(lone)  # fills its cache: no SQL when timed
                for commune, count in ((full, PLUGINS), (one, 1)):
                    got = registry.call_for_commune("viatic_nav_items", commune, user=None)
                    assert len(got) == count and not any(
                        isinstance(r, HookFailure) for _n, r in got
                    ), got
                functions = [p.viatic_nav_items for p in plugins]
                results = per_call_us(
                    {
                        "20 enabled of 20": lambda: registry.call_for_commune(
                            "viatic_nav_items", full, user=None
                        ),
                        "1 enabled of 20": lambda: registry.call_for_commune(
                            "viatic_nav_items", one, user=None
                        ),
                        "1 installed, 1 enabled": lambda: lone_registry.call_for_commune(
                            "viatic_nav_items", lone, user=None
                        ),
                        "pluggy pm.hook over the 20": lambda: registry.pm.hook.viatic_nav_items(
                            commune=full, user=None
                        ),
                        "the 20 functions called directly": lambda: [
                            f(full, None) for f in functions
                        ],
                        "20 NavItem(...) built alone": lambda: [
                            NavItem("Module", "bench_p00.index", order=1) for _ in functions
                        ],
                        "enabled_for(), cache hit": lambda: registry.enabled_for(full),
                    }
                )

                def cold() -> Any:
                    registry._enabled_cache.clear()
                    return registry.enabled_for(full)

                results.update(per_call_us({"enabled_for(), cache miss (SQL)": cold}, 300))
        finally:
            _common.dispose(app)
            _common.dispose(single)

    width = max(len(k) for k in results)
    print(f"µs per call (median of {REPEATS} loops of {LOOP} calls; min and p95 of the loops):")
    for label, stats in results.items():
        print(
            f"  {label:<{width}}  {stats['median']:8.2f} µs  "
            f"(min {stats['min']:.2f}, p95 {stats['p95']:.2f})"
        )
    many = results["20 enabled of 20"]
    floor = results["the 20 functions called directly"]
    lone = results["1 installed, 1 enabled"]
    for key in ("median", "min"):
        print(
            f"{key:>6}: 20 enabled / 1 installed-and-enabled x{many[key] / lone[key]:.2f}; "
            f"/ 1 enabled of 20 x{many[key] / results['1 enabled of 20'][key]:.2f}; "
            f"/ bare pluggy x{many[key] / results['pluggy pm.hook over the 20'][key]:.2f}; "
            f"dispatch overhead (20 enabled minus the plugins' own work) "
            f"{many[key] - floor[key]:.2f} µs = {(many[key] - floor[key]) / PLUGINS:.2f} µs "
            "per plugin"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU")
    print(
        f"target: < {TARGET_US:.0f} µs per call with 20 enabled: median {many['median']:.2f} µs "
        f"-> {_common.verdict(many['median'] < TARGET_US)} (best loop {many['min']:.2f} µs -> "
        f"{_common.verdict(many['min'] < TARGET_US)})"
    )


if __name__ == "__main__":
    main()
