"""TxSender's gas price reuse: asked once per TTL on an injected clock, and asked afresh
after a send the node refused (client-side logic, so the node is a stand-in here)."""

from __future__ import annotations

from typing import Any

import pytest

from aitbc.errors import SettlementError
from aitbc.settlement.bridges._evm import TxSender

KEY = "0x" + "11" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Eth:
    """Answers eth_gasPrice with a rising price and counts the questions."""

    def __init__(self) -> None:
        self.asked = 0

    @property
    def gas_price(self) -> Any:
        self.asked += 1
        price = 10**9 * self.asked

        async def answer() -> int:
            return price

        return answer()


class W3:
    def __init__(self) -> None:
        self.eth = Eth()


async def test_gas_price_is_reused_within_the_ttl_and_asked_again_after() -> None:
    w3, clock = W3(), Clock()
    sender = TxSender(w3, KEY, 1, gas_price_ttl_s=12.0, clock=clock)  # type: ignore[arg-type]
    assert await sender.gas_price() == 10**9
    clock.now += 11.9
    assert await sender.gas_price() == 10**9
    assert w3.eth.asked == 1
    clock.now += 0.1
    assert await sender.gas_price() == 2 * 10**9
    assert w3.eth.asked == 2


async def test_a_zero_ttl_asks_every_time() -> None:
    w3, clock = W3(), Clock()
    sender = TxSender(w3, KEY, 1, gas_price_ttl_s=0, clock=clock)  # type: ignore[arg-type]
    prices = [await sender.gas_price() for _ in range(3)]
    assert prices == [10**9, 2 * 10**9, 3 * 10**9]


class RefusingEth(Eth):
    async def get_transaction_count(self, *_: Any) -> int:
        return 0

    async def send_raw_transaction(self, _raw: bytes) -> bytes:
        raise ValueError("transaction underpriced")


class Call:
    async def build_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if k != "from"} | {"to": "0x" + "22" * 20}


async def test_a_refused_send_drops_the_cached_price() -> None:
    w3, clock = W3(), Clock()
    w3.eth = RefusingEth()
    sender = TxSender(w3, KEY, 1, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(SettlementError, match="underpriced"):
        await sender.transact("send", Call(), gas=21_000)
    assert w3.eth.asked == 1
    assert await sender.gas_price() == 2 * 10**9  # asked afresh, though the clock stood still
