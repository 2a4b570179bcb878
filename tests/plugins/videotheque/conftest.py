"""Fixtures of the Vidéothèque's tests: the fake Vimeo served on 127.0.0.1, whose every JSON
answer is validated against Vimeo's OpenAPI document when the test ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.testing import unavailable
from tests.plugins.videotheque import contract
from tests.plugins.videotheque.fake_vimeo import FakeVimeo, contract_path


@pytest.fixture
def fake_vimeo() -> Iterator[FakeVimeo]:
    if not contract_path().is_file():
        unavailable(f"Vimeo's OpenAPI document is not at {contract_path()} (VIATIC_CONTRACTS)")
    fake = FakeVimeo()
    with fake.serve():
        yield fake
    contract.validate_all(fake.exchanges)
