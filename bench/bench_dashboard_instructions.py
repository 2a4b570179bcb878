"""CPU instructions of one dashboard request, counted by valgrind's callgrind.

The time ratio of ``bench_dashboard.py`` moves with the machine's load and with how well
its caches serve a big working set, by ±10 % from one run to the next on a shared machine.
An instruction count does not: the same code gives the same count, whatever else runs. So
this script is the one to compare two versions of the code with (run it on each), while
``bench_dashboard.py`` stays the measure of the targets.

It builds the "3 communes" PostgreSQL database of ``bench_dashboard.py`` (national scale
changes the page's work by a few per cent, and the count is what matters here), then runs,
under ``valgrind --tool=callgrind`` with instrumentation off until the measured loop, one
process for the portal's dashboard (signed in as the maire) and one for the bare Flask +
Jinja page. Each warms up, then turns instrumentation on (``callgrind_control -i on``) for
N requests. Printed: instructions per request of each, and their ratio. Instructions are
not time: the portal's requests run fewer instructions per nanosecond than the bare page's
(more code and data, the database's round trip), so the time ratio is higher.

Run: ``.venv/bin/python bench/bench_dashboard_instructions.py [--requests N]`` (~1 min;
needs valgrind and PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import _common
import bench_dashboard as bd

WARMUP = 20


def child(kind: str, url: str, requests: int) -> None:
    """Inside valgrind: the app on ``url``, warmed up, then ``requests`` counted requests."""
    app = _common.make_app(url, bd.BENCH_PLUGINS, migrate=False)
    if kind == "portal":
        target = bd.Target("portal", app)
    else:
        target = bd.Target("bare Flask + Jinja", bd.bare_app(app), signed_in=False)
    _common.freeze_like_a_worker()
    for _ in range(WARMUP):
        target.hit()
    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    for _ in range(requests):
        target.hit()
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
    _common.dispose(app)


def count(kind: str, url: str, requests: int, tmp: Path) -> int:
    """Instructions of ``requests`` requests of ``kind``, run under callgrind."""
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={tmp / f'callgrind.{kind}'}",
            sys.executable,
            __file__,
            "--child",
            kind,
            url,
            str(requests),
        ],
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None or int(found.group(1)) == 0:
        raise SystemExit(f"{kind}: callgrind gave no count\n{result.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "URL", "REQUESTS"))
    args = parser.parse_args()
    if args.child:
        kind, url, requests = args.child
        child(kind, url, int(requests))
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed (Debian: apt install valgrind)")
    _common.header(f"GET {bd.PATH}: instructions per request, {args.requests} requests each")
    with _common.temp_dir("instructions") as tmp, _common.TempPostgres("instructions") as pg:
        if pg.url is None:
            raise SystemExit(f"PostgreSQL not reachable ({pg.reason})")
        _common.dispose(bd.build(pg.url, bd.small_folder(_common.DEFAULT_DATA, tmp / "data"), 5))
        counts = {kind: count(kind, pg.url, args.requests, tmp) for kind in ("portal", "bare")}
    per_request = {kind: n / args.requests for kind, n in counts.items()}
    for kind, n in per_request.items():
        print(f"{kind:<8} {n / 1e6:8.3f} M instructions per request")
    print(f"portal / bare: x{per_request['portal'] / per_request['bare']:.2f}")


if __name__ == "__main__":
    main()
