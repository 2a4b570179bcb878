"""Upload of a large video through Viatic to each ``video`` provider: throughput, and how much
the server's resident memory grows while it passes the file on.

Three processes, so that each one's memory is its own: this script plays the browser (it
signs in, posts the contribution form, then sends the file in 8 MB chunks with
``Upload-Offset`` as the page's script does, generating the bytes as it goes); the portal
runs in a child process (werkzeug's threaded server, SQLite); the fake Vimeo runs in another
child (it counts the bytes it receives without keeping them). Two runs: the platform's own
disk (``videointerne``) and Vimeo over loopback (``vimeo``).

Printed per provider: seconds, MB/s, the server's resident memory before the upload and its
peak during it (``VmHWM`` of ``/proc/<pid>/status``, reset before the upload), the growth
against the target (< 50 MB), and, for scale, the same chunks sent without Viatic (written
straight to a file; PATCHed straight to the fake Vimeo) with the ratio of the two times.

Run: ``.venv/bin/python bench/bench_videotheque_upload.py [--mb 500]``
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import _common

INSEE = "10145"
EMAIL = "maire@bench.example.org"
PASSWORD = "mot-de-passe-du-banc"
TOKEN = "jeton-vimeo-du-banc"
CHUNK = 8 * 1024 * 1024
TARGET_MB = 50
# An MP4 header: the portal recognises the file by its content.
HEADER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int) -> None:
    for _ in range(300):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port}")


def memory_kb(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))


def reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# --- the children ---------------------------------------------------------------------------


def serve_portal(database_url: str, storage: str, vimeo_url: str, port: int) -> None:
    from werkzeug.serving import make_server

    app = _common.make_app(
        database_url,
        migrate=False,
        VIDEO_STORAGE_PATH=storage,
        VIMEO_API_URL=vimeo_url,
        ADMIN_TOTP_REQUIRED=False,  # the bench's maire has no second factor
    )
    app.config["SESSION_COOKIE_SECURE"] = False  # plain HTTP on loopback
    app.config["SERVER_NAME"] = None
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def serve_fake_vimeo(port: int) -> None:
    from werkzeug.serving import make_server

    sys.path.insert(0, str(_common.REPO))
    from tests.plugins.videotheque.fake_vimeo import FakeVimeo

    fake = FakeVimeo(token=TOKEN, keep_bytes=False)
    fake.base_url = f"http://127.0.0.1:{port}"
    make_server("127.0.0.1", port, fake, threaded=True).serve_forever()


# --- the set-up and the browser -------------------------------------------------------------


def prepare(database_url: str) -> None:
    """The commune, its maire (commune admin), the three modules, the Vimeo token."""
    from core import auth, modules
    from core.db import db
    from core.models import Commune, Membership, User

    app = _common.make_app(database_url, ADMIN_TOTP_REQUIRED=False)
    with app.test_request_context():
        commune = Commune(insee=INSEE, name="Faux-Villecerf", postcodes=[], population=200)
        user = User(email=EMAIL, name="Claire Martin")
        auth.set_password(user, PASSWORD)
        db.add_all([commune, user])
        db.flush()
        db.add(
            Membership(user_id=user.id, commune_id=commune.id, role="maire", is_commune_admin=True)
        )
        for name in ("videotheque", "videointerne", "vimeo"):
            modules.enable(commune, name)
        db.commit()
    client = app.test_client()
    client.login(EMAIL, PASSWORD)
    client.submit(
        f"/c/{INSEE}/admin/modules/vimeo/reglages",
        {"access_token": TOKEN, "folder_id": "", "showcase_id": ""},
    )
    _common.dispose(app)


def choose(session, base: str, provider: str) -> None:
    token = csrf(session, f"{base}/c/{INSEE}/admin/modules")
    answer = session.post(
        f"{base}/c/{INSEE}/admin/fournisseurs",
        data={"capability": "video", "provider": provider, "csrf_token": token},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:300]


def csrf(session, url: str) -> str:
    page = session.get(url)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)


def sign_in(base: str):
    import requests

    session = requests.Session()
    token = csrf(session, f"{base}/connexion")
    answer = session.post(
        f"{base}/connexion",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:300]
    return session


def upload(session, base: str, size: int) -> float:
    """Contribute a testimony and send ``size`` bytes in chunks; returns the seconds."""
    library = f"{base}/c/{INSEE}/videotheque"
    token = csrf(session, f"{library}/contribuer")
    started = session.post(
        f"{library}/contribuer",
        data={
            "title": "Banc d'essai",
            "themes": "ecole",
            "size": str(size),
            "consent": "y",
            "csrf_token": token,
        },
        headers={"Accept": "application/json"},
    )
    assert started.status_code == 201, started.text[:300]
    url = base + started.json()["upload_url"]
    filler = bytes(range(256)) * (CHUNK // 256)
    offset = 0
    begin = time.perf_counter()
    while offset < size:
        length = min(CHUNK, size - offset)
        body = (HEADER + filler)[:length] if offset == 0 else filler[:length]
        answer = session.patch(
            url,
            data=body,
            headers={
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "X-CSRFToken": token,
            },
        )
        assert answer.status_code == 204, answer.text[:300]
        offset = int(answer.headers["Upload-Offset"])
    return time.perf_counter() - begin


def direct_to_disk(folder: Path, size: int) -> float:
    """The same chunks written straight to a file: what the disk gives without Viatic."""
    filler = bytes(range(256)) * (CHUNK // 256)
    begin = time.perf_counter()
    with (folder / "direct.bin").open("wb") as file:
        for offset in range(0, size, CHUNK):
            file.write(filler[: min(CHUNK, size - offset)])
    seconds = time.perf_counter() - begin
    (folder / "direct.bin").unlink()
    return seconds


def direct_to_vimeo(vimeo_url: str, size: int) -> float:
    """The same chunks sent straight to the fake Vimeo's tus endpoint, without Viatic."""
    import requests

    created = requests.post(
        f"{vimeo_url}/me/videos",
        json={"upload": {"approach": "tus", "size": str(size)}, "name": "direct"},
        headers={"Authorization": f"bearer {TOKEN}"},
    ).json()
    link = created["upload"]["upload_link"]
    filler = bytes(range(256)) * (CHUNK // 256)
    begin = time.perf_counter()
    with requests.Session() as session:
        for offset in range(0, size, CHUNK):
            session.patch(
                link,
                data=filler[: min(CHUNK, size - offset)],
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            ).raise_for_status()
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=500, help="size of the file, in MB")
    parser.add_argument("--serve-portal", nargs=4, metavar=("DB", "STORAGE", "VIMEO", "PORT"))
    parser.add_argument("--serve-fake-vimeo", type=int, metavar="PORT")
    args = parser.parse_args()
    if args.serve_portal:
        database_url, storage, vimeo_url, port = args.serve_portal
        serve_portal(database_url, storage, vimeo_url, int(port))
        return
    if args.serve_fake_vimeo:
        serve_fake_vimeo(args.serve_fake_vimeo)
        return

    size = args.mb * 1024 * 1024
    _common.header(f"Upload of {args.mb} MB through Viatic to each video provider")
    with _common.temp_dir("videotheque") as folder:
        database_url = f"sqlite:///{folder / 'bench.db'}"
        prepare(database_url)
        portal_port, vimeo_port = free_port(), free_port()
        script = str(Path(__file__).resolve())
        vimeo = subprocess.Popen([sys.executable, script, "--serve-fake-vimeo", str(vimeo_port)])
        portal = subprocess.Popen(
            [
                sys.executable,
                script,
                "--serve-portal",
                database_url,
                str(folder / "videos"),
                f"http://127.0.0.1:{vimeo_port}",
                str(portal_port),
            ]
        )
        try:
            wait_for(vimeo_port)
            wait_for(portal_port)
            base = f"http://127.0.0.1:{portal_port}"
            session = sign_in(base)
            choose(session, base, "videointerne")
            upload(session, base, 1024 * 1024)  # warm-up: imports, first queries
            columns = ("seconds", "MB/s", "RSS MB", "peak MB", "growth")
            print(f"   {'provider':14} " + " ".join(f"{c:>8}" for c in columns))
            direct = {
                "videointerne": lambda: direct_to_disk(folder, size),
                "vimeo": lambda: direct_to_vimeo(f"http://127.0.0.1:{vimeo_port}", size),
            }
            for provider in ("videointerne", "vimeo"):
                choose(session, base, provider)
                before = memory_kb(portal.pid, "VmRSS")
                reset_peak(portal.pid)
                seconds = upload(session, base, size)
                peak = memory_kb(portal.pid, "VmHWM")
                growth = (peak - before) / 1024
                baseline = direct[provider]()
                print(
                    f"   {provider:14} {seconds:8.1f} {args.mb / seconds:8.1f} "
                    f"{before / 1024:8.1f} {peak / 1024:8.1f} {growth:7.1f}  "
                    f"{_common.verdict(growth < TARGET_MB)} (< {TARGET_MB} MB); "
                    f"without Viatic {args.mb / baseline:.1f} MB/s, through Viatic "
                    f"x{seconds / baseline:.1f} the time"
                )
        finally:
            for child in (portal, vimeo):
                child.terminate()
                child.wait(10)


if __name__ == "__main__":
    main()
