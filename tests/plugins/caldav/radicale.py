"""A real Radicale CalDAV server for the sync's tests: a subprocess of this Python, bound to
127.0.0.1 on a free port, htpasswd accounts in clear (test only), failed logins answered
at once (``delay``), data in a temporary folder. It can be stopped and started again on the
same data and port, as a server that goes down and comes back."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import caldav
import requests

USER, PASSWORD = "mairie", "secret-de-test"

CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
[auth]
type = htpasswd
htpasswd_filename = {data}/users
htpasswd_encryption = plain
delay = 0.001
[rights]
type = owner_only
[storage]
filesystem_folder = {data}/collections
[logging]
level = warning
"""


class Radicale:
    def __init__(self, data: Path) -> None:
        self.data = data
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        data.mkdir(parents=True, exist_ok=True)
        (data / "users").write_text(f"{USER}:{PASSWORD}\n")
        self.config = data / "config"
        self.config.write_text(CONFIG.format(port=self.port, data=data))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.data / "radicale.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.data / "radicale.log").read_text()[-3000:])
            try:
                requests.get(self.url, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("Radicale did not answer within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def client(self) -> caldav.DAVClient:
        """A client of its own, as another calendar application would be."""
        return caldav.DAVClient(f"{self.url}/", username=USER, password=PASSWORD)

    def new_calendar(self, name: str = "Conseil") -> caldav.Calendar:
        """A fresh calendar (a unique collection for each test)."""
        principal = self.client().principal()
        return principal.make_calendar(name=name, cal_id=uuid.uuid4().hex)
