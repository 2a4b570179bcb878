"""Fixtures of the Chamilo tests: a fake Chamilo served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.plugins.chamilo.fake_chamilo import Served, serve


@pytest.fixture
def chamilo() -> Iterator[Served]:
    with serve() as served:
        yield served
