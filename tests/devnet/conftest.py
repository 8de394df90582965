"""One py-evm devnet (chains 1 and 42161) shared by every test in tests/devnet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("eth_tester", reason="the py-evm devnet needs the evm extra")

from aitbc.devnet import BackgroundDevnet


@pytest.fixture(scope="package")
def devnet() -> Iterator[BackgroundDevnet]:
    """A running devnet; tests must not rely on fault rules left by other tests."""
    with BackgroundDevnet([1, 42161]) as running:
        yield running
    # Nothing else is needed: the context manager stops relayer, servers and loop.
