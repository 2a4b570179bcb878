"""Start-up cost of the portal: ``create_app()`` with every installed plugin (entry points).

Measures, in fresh subprocesses (median of N runs):
- the time to import ``core.app`` and the time of ``create_app()`` itself, and the whole
  process wall time (interpreter start-up included);
- the resident memory (VmRSS, and the peak ``ru_maxrss``) of the process once the app is
  built, against a bare ``python -c "import flask"`` process;
and, in-process after a warm-up, the median time of a second ``create_app()`` (what each
test and each ``viatic`` command pays once the modules are imported).

Run: ``.venv/bin/python bench/bench_create_app.py [runs]``
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import _common

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
IN_PROCESS_RUNS = 20

CHILD_PROLOGUE = """
import json, resource, time
t0 = time.perf_counter()
"""
CHILD_EPILOGUE = """
def vmrss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
print("BENCH " + json.dumps({
    "import_s": t1 - t0, "create_s": t2 - t1, "rss_kib": vmrss_kib(),
    "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, **extra,
}))
"""
CHILD_FLASK = "import flask\nt1 = t2 = time.perf_counter()\nextra = {}\n"
# One argon2 hash with argon2-cffi's default parameters (RFC 9106 low memory: 64 MiB, t=3,
# p=4), the portal's default profile: what one password hash costs a process.
CHILD_ARGON2 = """
from argon2 import PasswordHasher
t1 = time.perf_counter()
PasswordHasher().hash("x")
t2 = time.perf_counter()
extra = {}
"""
CHILD_APP = """
import core.app
t1 = time.perf_counter()
app = core.app.create_app({config!r})
t2 = time.perf_counter()
registry = app.extensions["viatic.plugins"]
extra = {{"plugins": sorted(registry.plugins), "rules": len(list(app.url_map.iter_rules()))}}
"""


def run_child(body: str) -> tuple[float, dict]:
    code = CHILD_PROLOGUE + body + CHILD_EPILOGUE
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=_common.REPO, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"child process failed:\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    return wall, json.loads(line.removeprefix("BENCH "))


def import_time_top(config: dict, count: int = 8) -> list[tuple[float, float, str]]:
    """The modules whose own import costs most (``-X importtime``: self and cumulative)."""
    code = f"import core.app\ncore.app.create_app({config!r})"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        cwd=_common.REPO,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, cumulative, name = (part.strip() for part in line[12:].split("|"))
        if own.isdigit() and cumulative.isdigit():
            rows.append((int(own) / 1e6, int(cumulative) / 1e6, name))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    _common.header(f"create_app() with the installed plugins: {RUNS} fresh processes each")
    with _common.temp_dir("create-app") as tmp:
        config = _common.settings(f"sqlite:///{tmp / 'viatic.db'}")
        cheap = {**config, "ARGON2_PROFILE": "CHEAPEST"}
        kinds = {
            "python -c 'import flask'": CHILD_FLASK,
            "create_app()": CHILD_APP.format(config=config),
            "create_app(), ARGON2_PROFILE=CHEAPEST": CHILD_APP.format(config=cheap),
            "one argon2 PasswordHasher().hash()": CHILD_ARGON2,
        }
        runs: dict[str, list[tuple[float, dict]]] = {label: [] for label in kinds}
        for _ in range(RUNS):  # interleaved, so that every kind sees the same machine load
            for label, body in kinds.items():
                runs[label].append(run_child(body))
        info = runs["create_app()"][0][1]
        print(
            f"plugins loaded: {len(info['plugins'])} ({', '.join(info['plugins'])}); "
            f"URL rules: {info['rules']}"
        )

        def median(label: str, key: str) -> float:
            return statistics.median(r[1][key] if key != "wall" else r[0] for r in runs[label])

        base = "python -c 'import flask'"
        print(f"fresh subprocesses, median of {RUNS} (ratios against {base}):")
        print(
            f"  {'':<40} {'import':>9} {'create/hash':>11} {'process':>17} {'VmRSS':>17} "
            f"{'peak RSS':>17}"
        )
        for label in kinds:
            wall, rss, peak = (
                median(label, "wall"),
                median(label, "rss_kib"),
                median(label, "maxrss_kib"),
            )
            print(
                f"  {label:<40} {median(label, 'import_s') * 1e3:6.0f} ms "
                f"{median(label, 'create_s') * 1e3:8.0f} ms "
                f"{wall * 1e3:6.0f} ms (x{wall / median(base, 'wall'):4.2f}) "
                f"{rss / 1024:5.1f} MiB (x{rss / median(base, 'rss_kib'):4.2f}) "
                f"{peak / 1024:5.1f} MiB (x{peak / median(base, 'maxrss_kib'):4.2f})"
            )

        # In-process: the modules are imported; what each further app costs (each test,
        # each worker of a preloading server).
        from core.app import create_app

        for settings in (config, cheap, config, cheap):
            _common.dispose(create_app(settings))
        samples: dict[str, list[float]] = {"default": [], "CHEAPEST": []}
        for _ in range(IN_PROCESS_RUNS):
            for label, settings in (("default", config), ("CHEAPEST", cheap)):
                start = time.perf_counter()
                app = create_app(settings)
                samples[label].append(time.perf_counter() - start)
                _common.dispose(app)
        default, cheapest = (
            _common.summary(samples["default"]),
            _common.summary(samples["CHEAPEST"]),
        )
        print(f"in-process, after 2 warm-up apps, {IN_PROCESS_RUNS} runs each:")
        print(
            f"  create_app()                          median {default['median'] * 1e3:7.2f} ms, "
            f"p95 {default['p95'] * 1e3:7.2f} ms"
        )
        print(
            f"  create_app(), ARGON2_PROFILE=CHEAPEST median {cheapest['median'] * 1e3:7.2f} ms, "
            f"p95 {cheapest['p95'] * 1e3:7.2f} ms  (default / CHEAPEST "
            f"x{default['median'] / cheapest['median']:.1f})"
        )
        print("modules whose own import costs most (-X importtime, one run):")
        for own, cumulative, name in import_time_top(config):
            print(f"  {name:<32} self {own * 1e3:7.1f} ms   cumulative {cumulative * 1e3:7.1f} ms")
    print("targets: none set by the issue for start-up; figures are for tracking.")


if __name__ == "__main__":
    main()
