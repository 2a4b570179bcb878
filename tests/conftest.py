"""Test suite configuration: the fake plugins are loaded beside the installed ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors import oidc
from connectors.http import BREAKERS
from tests.fake_plugins import album, fragile, meteo, videos

# The real oidc-provider (node) harness: fixtures oidc_provider and oidc_provider_factory.
pytest_plugins = ["tests.real_oidc"]

FAKE_PLUGINS = [meteo, fragile, videos.video_a, videos.video_b, videos.feature, album]


@pytest.fixture(scope="session")
def viatic_plugins() -> list[object]:
    return FAKE_PLUGINS


@pytest.fixture(autouse=True)
def _reset_meteo_calls() -> None:
    meteo.CALLS.clear()


@pytest.fixture(autouse=True)
def _fresh_connector_state() -> Iterator[None]:
    """Each test starts with no cached discovery document and no open circuit breaker: the
    providers of one test (on their own ports) must not answer for another's."""
    oidc.CACHE.clear()
    BREAKERS.clear()
    yield
    oidc.CACHE.clear()
    BREAKERS.clear()
