"""Settlement throughput and latency per bridge, py-evm vs anvil, in one run.

For each backend (anvil only when installed) a two-chain devnet is started; for each bridge
it measures the time from send to COMPLETED of single settlements (median of N), and the
settlements per second of a batch sent back to back and awaited together. Prints absolute
numbers and anvil/py-evm ratios measured in this same run.

    .venv/bin/python bench/settlement.py [--rounds 5] [--batch 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

from aitbc.devnet import BackgroundDevnet
from aitbc.devnet.harness import DevnetHarness
from aitbc.devnet.nodes import find_anvil
from aitbc.settlement.bridges.base import BridgeAdapter, BridgeStatus, PreparedSettlement
from aitbc.settlement.bridges.ccip import CCIPBridge
from aitbc.settlement.bridges.conformance import wait_for_status
from aitbc.settlement.bridges.layerzero import LayerZeroBridge

ADAPTERS: dict[str, type[BridgeAdapter]] = {"layerzero": LayerZeroBridge, "ccip": CCIPBridge}


@dataclass
class Measurement:
    backend: str
    bridge: str
    latency_s: float
    per_second: float


async def _send(adapter: BridgeAdapter, harness: DevnetHarness) -> tuple[PreparedSettlement, float]:
    prepared = await adapter.prepare(await harness.message())
    started = time.perf_counter()
    await adapter.send(prepared)
    return prepared, started


async def _measure(harness: DevnetHarness, rounds: int, batch: int) -> tuple[float, float]:
    adapter = await harness.new_adapter()
    try:
        latencies = []
        for _ in range(rounds):
            prepared, started = await _send(adapter, harness)
            await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED}, timeout_s=120)
            latencies.append(time.perf_counter() - started)
        messages = [await harness.message() for _ in range(batch)]
        started = time.perf_counter()
        sent = []
        for message in messages:  # prepare→send is serial: the id comes from the next nonce
            prepared = await adapter.prepare(message)
            await adapter.send(prepared)
            sent.append(prepared)
        for prepared in sent:  # one poller at a time: polling must not be what we measure
            await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED}, timeout_s=300)
        return statistics.median(latencies), batch / (time.perf_counter() - started)
    finally:
        await adapter.close()


def run_backend(backend: str, rounds: int, batch: int) -> list[Measurement]:
    """Start a devnet on ``backend`` and measure both bridges on it."""
    results = []
    with BackgroundDevnet([1, 42161], backend=backend) as devnet:
        for bridge, cls in ADAPTERS.items():
            harness = DevnetHarness(devnet.config, devnet.relayer, cls, bridge, 1, 42161)
            latency, rate = asyncio.run(_measure(harness, rounds, batch))
            results.append(Measurement(backend, bridge, latency, rate))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="single settlements per bridge")
    parser.add_argument("--batch", type=int, default=10, help="settlements in the batch")
    args = parser.parse_args()
    backends = ["pyevm"] + (["anvil"] if find_anvil() else [])
    if "anvil" not in backends:
        print("anvil not installed (`npm install`): measuring py-evm only")
    results = [m for backend in backends for m in run_backend(backend, args.rounds, args.batch)]
    print(f"{'backend':8} {'bridge':10} {'median send→completed':>22} {'settlements/s':>14}")
    for m in results:
        print(f"{m.backend:8} {m.bridge:10} {m.latency_s * 1000:19.0f} ms {m.per_second:14.2f}")
    by_key = {(m.backend, m.bridge): m for m in results}
    for bridge in ADAPTERS:
        base, fast = by_key.get(("pyevm", bridge)), by_key.get(("anvil", bridge))
        if base and fast:
            print(
                f"{bridge}: anvil/py-evm latency ratio {fast.latency_s / base.latency_s:.2f}, "
                f"throughput ratio {fast.per_second / base.per_second:.2f}"
            )


if __name__ == "__main__":
    main()
