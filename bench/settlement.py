"""Settlement throughput and latency per bridge, py-evm vs anvil, in one run, plus the SDK's
overhead against raw web3.

For each backend (anvil only when installed) a two-chain devnet is started; for each bridge
it measures the time from send to COMPLETED of single settlements (median of N), and the
settlements per second of a batch sent back to back and awaited together. Prints absolute
numbers and anvil/py-evm ratios measured in this same run.

SDK vs raw web3 (py-evm): the adapter's prepare → send → get_status until COMPLETED,
against the same transactions built and signed with plain web3.py (deadline from the
destination block, fee quoted once, nonce and gas price once, fixed gas, receipt polled,
then the destination's ``outcomeOf`` polled until paid), alternating which goes first,
medians of ``--rounds`` pairs; prints the SDK/raw ratio per bridge.

Manager vs raw web3 (py-evm): ``BridgeManager.settle_cross_chain`` (receipt verified,
intent recorded in a SQLite settlement store, sent, result stored) then
``get_settlement_status`` polled until COMPLETED (what ``client.settlement`` does), against
the same raw-web3 transactions, alternating, medians; prints the manager/raw ratio.

    .venv/bin/python bench/settlement.py [--rounds 5] [--batch 10] [--raw-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass

from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import TransactionNotFound

from aitbc.contracts import load_artifact
from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim, sign_receipt
from aitbc.core.signing import SigningKey
from aitbc.devnet import BackgroundDevnet
from aitbc.devnet.harness import DevnetHarness
from aitbc.devnet.nodes import find_anvil
from aitbc.settlement.bridges._evm import CHAIN_ID_CACHE, Web3Client, close_web3
from aitbc.settlement.bridges._evm_bridge import SETTLE_GAS, encode_order, settlement_id
from aitbc.settlement.bridges.base import (
    BridgeAdapter,
    BridgeStatus,
    PreparedSettlement,
    SettlementMessage,
)
from aitbc.settlement.bridges.ccip import CCIPBridge
from aitbc.settlement.bridges.conformance import wait_for_status
from aitbc.settlement.bridges.layerzero import LayerZeroBridge
from aitbc.settlement.manager import BridgeManager
from aitbc.settlement.proof import message_from_receipt

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
        for message in messages:
            prepared = await adapter.prepare(message)
            await adapter.send(prepared)
            sent.append(prepared)
        for prepared in sent:  # one poller at a time: polling must not be what we measure
            await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED}, timeout_s=300)
        return statistics.median(latencies), batch / (time.perf_counter() - started)
    finally:
        await adapter.close()


BRIDGE_CODES = {"layerzero": 1, "ccip": 2}
POLL_S = 0.02  # the adapter's receipt poll interval: both sides poll alike


class RawSettler:
    """The SDK's settle → paid, done with plain web3.py and nothing cached beyond what a
    careful script would cache."""

    def __init__(self, harness: DevnetHarness, bridge: str) -> None:
        cfg = harness.config
        self.bridge, self.harness = BRIDGE_CODES[bridge], harness
        self.src_info, self.dst_info = cfg.chain(1), cfg.chain(42161)
        self.account = Account.from_key(cfg.keys["payer"])
        # plain web3.py, given the same chain-id cache the SDK's connections have
        self.src: Web3Client = AsyncWeb3(AsyncHTTPProvider(self.src_info.rpc_url, **CHAIN_ID_CACHE))
        self.dst: Web3Client = AsyncWeb3(AsyncHTTPProvider(self.dst_info.rpc_url, **CHAIN_ID_CACHE))
        abi_src = load_artifact("AitbcSettlementSource").abi
        abi_dst = load_artifact("AitbcSettlementDestination").abi
        self.source = self.src.eth.contract(address=self.src_info.contracts.source, abi=abi_src)  # type: ignore[call-overload]
        self.destination = self.dst.eth.contract(
            address=self.dst_info.contracts.destination, abi=abi_dst
        )  # type: ignore[call-overload]
        self.route = self.dst_info.lz_eid if bridge == "layerzero" else self.dst_info.ccip_selector
        self.src_route = (
            self.src_info.lz_eid if bridge == "layerzero" else self.src_info.ccip_selector
        )
        self.fee: int | None = None
        self.gas_price: int | None = None

    async def settle(self, message: SettlementMessage | None = None) -> float:
        message = message or await self.harness.message()
        receipt = bytes.fromhex(message.receipt_hash.removeprefix("sha256:"))
        started = time.perf_counter()
        block = await self.dst.eth.get_block("latest")
        deadline = int(block["timestamp"]) + 3600
        payer, amount = self.account.address, message.payment_amount
        if self.fee is None:
            payload = encode_order(payer, receipt, message.recipient, amount, deadline)
            self.fee = int(
                await self.source.functions.quoteMessage(
                    self.bridge, self.route, payload, 200_000
                ).call()
            )
            self.gas_price = int(await self.src.eth.gas_price)
        nonce = await self.src.eth.get_transaction_count(payer, "pending")
        tx = await self.source.functions.settle(
            self.bridge, self.route, receipt, message.recipient, amount, deadline, 200_000
        ).build_transaction(
            {
                "from": payer,
                "value": amount + self.fee,
                "gas": SETTLE_GAS,
                "gasPrice": self.gas_price,
                "nonce": nonce,
                "chainId": self.src_info.chain_id,
            }
        )
        tx_hash = await self.src.eth.send_raw_transaction(
            self.account.sign_transaction(tx).raw_transaction
        )
        while True:
            try:
                await self.src.eth.get_transaction_receipt(tx_hash)
                break
            except TransactionNotFound:  # not mined yet
                await asyncio.sleep(POLL_S)
        sid = settlement_id(payer, receipt, message.recipient, amount, deadline)
        outcome = self.destination.functions.outcomeOf(self.bridge, self.src_route, sid)
        # polled like wait_for_status polls the adapter (a chain has no event to await)
        while int(await outcome.call()) != 1:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return time.perf_counter() - started

    async def close(self) -> None:
        await close_web3(self.src)
        await close_web3(self.dst)


async def _sdk_once(adapter: BridgeAdapter, harness: DevnetHarness) -> float:
    message = await harness.message()
    started = time.perf_counter()
    prepared = await adapter.prepare(message)
    await adapter.send(prepared)
    await wait_for_status(adapter, prepared, {BridgeStatus.COMPLETED}, timeout_s=120)
    return time.perf_counter() - started


async def _versus_raw(harness: DevnetHarness, bridge: str, rounds: int) -> tuple[float, float]:
    adapter = await harness.new_adapter()
    raw = RawSettler(harness, bridge)
    try:
        await _sdk_once(adapter, harness)  # warm-up both
        await raw.settle()
        sdk_times, raw_times = [], []
        for i in range(rounds):
            if i % 2 == 0:
                sdk_times.append(await _sdk_once(adapter, harness))
                raw_times.append(await raw.settle())
            else:
                raw_times.append(await raw.settle())
                sdk_times.append(await _sdk_once(adapter, harness))
        if os.environ.get("AITBC_BENCH_SAMPLES"):
            print(
                bridge,
                "sdk",
                [round(t, 2) for t in sdk_times],
                "raw",
                [round(t, 2) for t in raw_times],
            )
        return statistics.median(sdk_times), statistics.median(raw_times)
    finally:
        await adapter.close()
        await raw.close()


def _signed_receipt(coordinator: SigningKey, price: int) -> dict[str, object]:
    """A coordinator-signed, miner-attested receipt for a fresh job (protocol.md)."""
    miner = SigningKey.generate()
    body: dict[str, object] = {
        "receipt_id": "rcpt_" + secrets.token_hex(8),
        "version": 1,
        "job_id": "job_" + secrets.token_hex(8),
        "client_id": "prn_bench",
        "miner_id": "prn_miner",
        "job_type": "echo",
        "input_hash": content_hash({"x": 1}),
        "output_hash": content_hash({"y": 2}),
        "units": 1,
        "price": str(price),
        "chain_id": 1,
        "coordinator_id": "coord_bench",
        "nonce": secrets.token_hex(16),
        "created_at": "2026-11-26T18:00:00Z",
        "started_at": "2026-11-26T18:00:01Z",
        "completed_at": "2026-11-26T18:00:02Z",
        "miner_key": miner.verify_key.b64,
    }
    body["attestations"] = [attest(miner, miner_claim(body))]
    return sign_receipt(coordinator, body)


class ManagerSettler:
    """settle_cross_chain → COMPLETED through a BridgeManager on a SQLite store."""

    def __init__(self, harness: DevnetHarness, bridge: str, db: str) -> None:
        self.harness, self.bridge = harness, bridge
        self.coordinator = SigningKey.generate()
        # the tracker polls at the SDK's default interval; the caller polls like the others
        self.manager = BridgeManager(db, trusted_keys=[self.coordinator.verify_key])

    async def open(self) -> None:
        self.manager.register_adapter(self.bridge, ADAPTERS[self.bridge]())
        await self.manager.initialize({self.bridge: self.harness.config.bridge_config("payer")})

    async def message(self) -> SettlementMessage:
        recipient = (await self.harness.message()).recipient
        receipt = _signed_receipt(self.coordinator, 10**15)
        return message_from_receipt(receipt, target_chain_id=42161, recipient=recipient)

    async def settle(self) -> float:
        message = await self.message()
        started = time.perf_counter()
        sent = await self.manager.settle_cross_chain(message, self.bridge)
        status = sent.status
        while status is not BridgeStatus.COMPLETED:
            await asyncio.sleep(POLL_S * 5)  # wait_for_status's interval
            status = (await self.manager.get_settlement_status(sent.message_id)).status
        return time.perf_counter() - started


async def _manager_versus_raw(
    harness: DevnetHarness, bridge: str, rounds: int
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        manager = ManagerSettler(harness, bridge, os.path.join(tmp, "settlements.db"))
        raw = RawSettler(harness, bridge)
        try:
            await manager.open()
            await manager.settle()  # warm-up both
            await raw.settle()
            managed, plain = [], []
            for i in range(rounds):
                if i % 2 == 0:
                    managed.append(await manager.settle())
                    plain.append(await raw.settle())
                else:
                    plain.append(await raw.settle())
                    managed.append(await manager.settle())
            if os.environ.get("AITBC_BENCH_SAMPLES"):
                print(bridge, "manager", [round(t, 2) for t in managed])
                print(bridge, "raw", [round(t, 2) for t in plain])
            return statistics.median(managed), statistics.median(plain)
        finally:
            await manager.manager.close()
            await raw.close()


def run_versus_raw(rounds: int) -> None:
    """Adapter and manager vs raw web3 on py-evm, both bridges, same devnet, same run."""
    header = f"{'bridge':10} {'path':8} {'median':>10} {'raw web3 median':>16} {'ratio':>6}"
    print(header)
    with BackgroundDevnet([1, 42161]) as devnet:
        for bridge, cls in ADAPTERS.items():
            harness = DevnetHarness(devnet.config, devnet.relayer, cls, bridge, 1, 42161)
            for path, run in (("adapter", _versus_raw), ("manager", _manager_versus_raw)):
                sdk, raw = asyncio.run(run(harness, bridge, rounds))
                print(
                    f"{bridge:10} {path:8} {sdk * 1000:7.0f} ms {raw * 1000:13.0f} ms "
                    f"{sdk / raw:6.2f}"
                )


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
    parser.add_argument("--raw-only", action="store_true", help="only the SDK vs raw web3 part")
    args = parser.parse_args()
    run_versus_raw(args.rounds)
    if args.raw_only:
        return
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
