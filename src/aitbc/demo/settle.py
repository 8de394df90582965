"""Settling job payments on the other chain through both bridges, and reading what the
recipients hold on that chain (to check they got exactly the settled amounts)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import AITBCClient, HTTPTransport
from ..contracts import load_artifact
from ..devnet import DevnetConfig
from ..settlement.bridges._evm import close_web3, open_web3
from ..transports.crosschain import CrossChainTransport
from .jobs import JobRecord

BRIDGES = ("layerzero", "ccip")


@dataclass
class SettlementRecord:
    """One settlement: which job, which bridge, who is paid how much, how it went."""

    job: JobRecord
    bridge: str
    recipient: str
    amount: int
    message_id: str = ""
    status: str = "pending"
    seconds: float | None = None
    fee_paid: int = 0


Changed = Callable[[SettlementRecord], None]


def new_payout_address() -> str:
    """A fresh EVM address that holds nothing yet on any devnet chain."""
    return "0x" + secrets.token_hex(20)


def plan_settlements(
    jobs: Sequence[JobRecord], per_bridge: int, payouts: dict[str, str]
) -> list[SettlementRecord]:
    """``per_bridge`` completed jobs for each bridge, alternating bridges, each paying its
    miner's payout address (``payouts``: miner id → address) the job's price."""
    done = [job for job in jobs if job.completed and job.miner_id in payouts]
    chosen = done[: per_bridge * len(BRIDGES)]
    return [
        SettlementRecord(job, BRIDGES[i % len(BRIDGES)], payouts[str(job.miner_id)], job.plan.price)
        for i, job in enumerate(chosen)
    ]


@asynccontextmanager
async def settlement_client(
    url: str, api_key: str, devnet: DevnetConfig, storage: Path
) -> AsyncIterator[AITBCClient]:
    """A client whose /settlement/* requests run both bridges locally (fees paid by the
    devnet's ``payer`` key); everything else goes to the node over HTTP."""
    base = HTTPTransport({"base_url": url, "default_headers": {"X-API-Key": api_key}})
    bridge = devnet.bridge_config("payer")
    transport = CrossChainTransport(
        {
            "base_transport": base,
            "bridges": {name: dict(bridge) for name in BRIDGES},
            "storage": str(storage),
            "poll_interval": 0.1,
        }
    )
    async with AITBCClient(transport) as client:
        yield client


async def settle_all(
    client: AITBCClient,
    records: Sequence[SettlementRecord],
    target_chain: int,
    changed: Changed,
    timeout: float,  # noqa: ASYNC109 (the demo's deadline for all settlements)
) -> None:
    """Send each settlement (one at a time: they share the payer's nonce), then wait for
    all of them together. Raises WaitTimeoutError / the SDK's errors."""
    started: dict[str, float] = {}
    for record in records:
        started[record.job.job_id] = time.monotonic()
        sent = await client.settlement.settle_cross_chain(
            record.job.job_id, target_chain, record.bridge, recipient=record.recipient
        )
        record.message_id, record.status = sent.message_id, sent.status
        changed(record)
    async with asyncio.TaskGroup() as group:
        for record in records:
            group.create_task(_await(client, record, started[record.job.job_id], changed, timeout))


async def _await(
    client: AITBCClient,
    record: SettlementRecord,
    started: float,
    changed: Changed,
    timeout: float,  # noqa: ASYNC109
) -> None:
    final = await client.settlement.wait_for_settlement(
        record.message_id, timeout=timeout, poll_interval=0.1
    )
    record.status, record.seconds = final.status, time.monotonic() - started
    record.fee_paid = int(final.fee_paid or 0)
    changed(record)


async def chain_balances(
    devnet: DevnetConfig, chain_id: int, addresses: Sequence[str]
) -> list[int]:
    """The native balances (wei) of ``addresses`` on devnet chain ``chain_id``."""
    w3 = open_web3(devnet.chain(chain_id).rpc_url)
    try:
        return [int(await w3.eth.get_balance(w3.to_checksum_address(a))) for a in addresses]
    finally:
        await close_web3(w3)


async def liquidity_provider(devnet: DevnetConfig, chain_id: int) -> str:
    """The address the destination pool on ``chain_id`` repays (its liquidity provider)."""
    w3 = open_web3(devnet.chain(chain_id).rpc_url)
    try:
        abi = load_artifact("AitbcSettlementDestination").abi
        contract = w3.eth.contract(address=devnet.chain(chain_id).contracts.destination, abi=abi)  # type: ignore[call-overload]
        return str(await contract.functions.liquidityProvider().call())
    finally:
        await close_web3(w3)


async def wait_for_repayment(
    devnet: DevnetConfig,
    chain_id: int,
    address: str,
    before: int,
    expected: int,
    timeout: float,  # noqa: ASYNC109 (the demo's deadline)
) -> int:
    """Poll ``address``'s balance on ``chain_id`` until it grew by ``expected`` (the paid
    escrows released through the bridges' reports) or ``timeout`` passes; returns it."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        (now,) = await chain_balances(devnet, chain_id, [address])
        if now - before >= expected or loop.time() > end:
            return now
        await asyncio.sleep(0.1)
