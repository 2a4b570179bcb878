"""A real scheduler for a few seconds: `python -m tests.scheduler_process URL SECONDS`."""

from __future__ import annotations

import sys
import time

from core.scheduler import build_scheduler
from core.testing import make_app
from tests.fake_plugins import ticker


def main(url: str, seconds: float) -> None:
    scheduler = build_scheduler(make_app(url, [ticker]), background=True)
    scheduler.start()
    time.sleep(seconds)
    scheduler.shutdown(wait=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
