"""Test suite configuration: the fake plugins are loaded beside the installed ones."""

from __future__ import annotations

import pytest

from tests.fake_plugins import fragile, meteo, videos

# The real oidc-provider (node) harness: fixtures oidc_provider and oidc_provider_factory.
pytest_plugins = ["tests.real_oidc"]

FAKE_PLUGINS = [meteo, fragile, videos.video_a, videos.video_b, videos.feature]


@pytest.fixture(scope="session")
def viatic_plugins() -> list[object]:
    return FAKE_PLUGINS


@pytest.fixture(autouse=True)
def _reset_meteo_calls() -> None:
    meteo.CALLS.clear()
