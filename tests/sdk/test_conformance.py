"""Every transport we ship passes the public conformance suite."""

from __future__ import annotations

from typing import Any

import pytest

from aitbc.transports import HTTPTransport, MockTransport, conformance

from .conftest import ScriptedNode
from .fakes import info_only

CHECKS = pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)


@CHECKS
async def test_mock_transport(check: conformance.Check) -> None:
    await conformance.run_check(check, lambda: MockTransport(info_only(), {"chain_id": 7}))


@CHECKS
async def test_http_transport_on_a_scripted_server(
    check: conformance.Check, scripted: ScriptedNode
) -> None:
    await conformance.run_check(check, lambda: HTTPTransport({"base_url": scripted.url}))


async def test_http_transport_on_a_real_node(node: Any) -> None:
    # One node for the whole suite (starting a node per check costs seconds each).
    passed = await conformance.run_conformance(
        lambda: HTTPTransport({"base_url": node.url, "chain_id": node.chain_id})
    )
    assert passed == [check.__name__ for check in conformance.CHECKS]


async def test_the_suite_catches_a_broken_transport() -> None:
    class Leaky(MockTransport):
        async def disconnect(self) -> None:  # forgets to mark itself closed
            pass

    with pytest.raises(conformance.ConformanceError):
        await conformance.run_conformance(lambda: Leaky(info_only()))
