"""Fixtures of the Vidéothèque's tests: the fake Vimeo served on 127.0.0.1, whose every JSON
answer is validated against Vimeo's OpenAPI document when the test ends, and every call to
whose API must have asked for version 3.4."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from click.testing import CliRunner, Result

from connectors.vimeo import RATE_WINDOWS
from core.cli import main
from tests.plugins.videotheque import contract
from tests.plugins.videotheque.fake_vimeo import ACCEPT, FakeVimeo, contract_path
from tests.plugins.videotheque.helpers import TrackedSession, Village


@pytest.fixture
def fake_vimeo() -> Iterator[FakeVimeo]:
    if not contract_path().is_file():
        # Like the Etalab files: shared data beside the repository, not a server to start.
        pytest.skip(f"Vimeo's OpenAPI document is not at {contract_path()} (VIATIC_CONTRACTS)")
    RATE_WINDOWS.clear()  # a window another test used up, on a port used again
    fake = FakeVimeo()
    with fake.serve():
        yield fake
    contract.validate_all(fake.exchanges)
    # Without the version, Vimeo answers with its newest API, not the contract's 3.4.
    unversioned = [f"{m} {p}: {a!r}" for m, p, a in fake.accepts if a != ACCEPT]
    assert not unversioned, "API calls without the 3.4 Accept header: " + "; ".join(unversioned)


@pytest.fixture
def http_sessions(monkeypatch) -> list[TrackedSession]:
    """Every HTTP session (``requests.Session``) opened from now on, each knowing whether it
    was closed: one left open holds its connection until the garbage collector comes by."""
    made: list[TrackedSession] = []
    monkeypatch.setattr(requests, "Session", lambda: TrackedSession(made))
    return made


@pytest.fixture
def village(app, commune, make_member, enable_module, tmp_path) -> Village:
    """The library with the platform's own storage (in a temporary folder)."""
    app.config["VIDEO_STORAGE_PATH"] = str(tmp_path / "videos")
    enable_module(commune, "videotheque")
    enable_module(commune, "videointerne")
    moderator = make_member(commune, "agent", name="Modératrice Plateforme")
    with app.app_context():
        from core.db import db
        from core.models import User

        db.get(User, moderator.id).is_platform_admin = True
        db.commit()
    return Village(
        commune=commune,
        maire=make_member(commune, "maire", admin=True, name="Claire Martin"),
        agent=make_member(commune, "agent", name="Julie Morel"),
        habitant=make_member(commune, "citoyen", name="Louis Petit"),
        moderator=moderator,
    )


@pytest.fixture
def vimeo_village(app, village, fake_vimeo, enable_module, client) -> Village:
    """The same village, its videos on its Vimeo account (the fake); the platform's own
    storage is enabled too but not chosen, as before a switch."""
    app.config["VIMEO_API_URL"] = fake_vimeo.base_url
    enable_module(village.commune, "vimeo")
    client.login(village.maire.email)
    saved = client.submit(
        "/c/10145/admin/modules/vimeo/reglages",
        {"access_token": fake_vimeo.token, "folder_id": "77", "showcase_id": "4242"},
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    chosen = client.submit(
        "/c/10145/admin/fournisseurs/video",
        {"video-provider": "vimeo"},
        page="/c/10145/admin/modules",
    )
    assert chosen.status_code == 302
    return village


@pytest.fixture
def viatic(app, monkeypatch, tmp_path) -> Callable[..., Result]:
    """Runs ``viatic ...`` on the test app's database and storage, as an operator would in a
    shell: the command builds its own portal from the environment."""
    monkeypatch.setenv("VIATIC_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("VIATIC_SECRET_KEY", app.config["SECRET_KEY"])
    monkeypatch.setenv("VIATIC_ARGON2_PROFILE", "CHEAPEST")
    monkeypatch.setenv("VIATIC_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("VIDEO_STORAGE_PATH", "VIMEO_API_URL"):
        if name in app.config:
            monkeypatch.setenv(f"VIATIC_{name}", app.config[name])
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))
