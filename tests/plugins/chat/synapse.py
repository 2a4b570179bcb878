"""A real Synapse homeserver for the bridge's tests, started from its own virtual
environment (``make dev-install`` puts it in ``.venv/synapse``), bound to 127.0.0.1 on a
free port, with its data in a temporary folder; users are registered through the
shared-secret admin API. It can be stopped and started again on the same data."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPOSITORY = Path(__file__).resolve().parents[3]
PYTHON = REPOSITORY / ".venv" / "synapse" / "bin" / "python"
RATE = "{per_second: 1000, burst_count: 1000}"

CONFIG = """\
server_name: localhost
pid_file: {data}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {data}/homeserver.db
media_store_path: {data}/media
signing_key_path: {data}/signing.key
registration_shared_secret: "{secret}"
macaroon_secret_key: "{macaroon}"
form_secret: "{form}"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
enable_registration: false
url_preview_enabled: false
presence:
  enabled: false
rc_message: {rate}
rc_login:
  address: {rate}
  account: {rate}
  failed_attempts: {rate}
rc_registration: {rate}
rc_joins:
  local: {rate}
  remote: {rate}
rc_invites:
  per_room: {rate}
  per_user: {rate}
"""


@dataclass
class Account:
    user_id: str
    password: str
    access_token: str


class Synapse:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.secret = secrets.token_hex(16)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = data / "homeserver.yaml"
        self.process: subprocess.Popen | None = None
        data.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            CONFIG.format(
                data=data,
                port=self.port,
                secret=self.secret,
                macaroon=secrets.token_hex(16),
                form=secrets.token_hex(16),
                rate=RATE,
            )
        )
        subprocess.run(
            [
                str(PYTHON),
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self.config),
                "--generate-keys",
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        log = (self.data / "synapse.log").open("ab")
        self.process = subprocess.Popen(
            [str(PYTHON), "-m", "synapse.app.homeserver", "--config-path", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SYNAPSE_CACHE_FACTOR": "0.5"},
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.data / "synapse.log").read_text()[-3000:])
            try:
                requests.get(f"{self.url}/_matrix/client/versions", timeout=2).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError("Synapse did not answer within 90 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def register(self, username: str, admin: bool = False) -> Account:
        """A user made through the shared-secret admin API (HMAC-SHA1 of the nonce, name,
        password and admin flag)."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = requests.get(endpoint, timeout=10).json()["nonce"]
        password = secrets.token_urlsafe(12)
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(
            b"\x00".join(
                [
                    nonce.encode(),
                    username.encode(),
                    password.encode(),
                    b"admin" if admin else b"notadmin",
                ]
            )
        )
        answer = requests.post(
            endpoint,
            json={
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
            timeout=10,
        )
        answer.raise_for_status()
        body = answer.json()
        return Account(body["user_id"], password, body["access_token"])
