"""The whole demo, phase by phase: node and keys, miners and offers, the job batch over
HTTP and WebSocket, receipts, the devnet, settlements through both bridges, and the
books (node ledger and target chain) balanced to the unit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import AITBCClient
from ..node.embedded import EmbeddedNode, run_node
from ..transports.websocket import WebSocketTransport
from .ai import run_ai_phase
from .checks import BalanceRow, Checks
from .jobs import JobRecord, check_job, follow_all, submit_all, tampered_receipt_refused
from .plan import plan_jobs
from .settle import (
    BRIDGES,
    SettlementRecord,
    chain_balances,
    liquidity_provider,
    new_payout_address,
    plan_settlements,
    settle_all,
    settlement_client,
    wait_for_repayment,
)
from .stack import (
    DevnetHandle,
    Party,
    RunningMiner,
    client_for,
    create_party,
    devnet_in_background,
    running_miners,
)
from .view import DemoView

SOURCE_CHAIN, TARGET_CHAIN = 1, 42161
LIQUIDITY_PROVIDER = "liquidity provider"
FUNDS = 100_000
MINERS = ("miner-a", "miner-b")
OFFER_PRICES = (900, 1_000)
STEPS = 8  # the phases that call view.done()


@dataclass(frozen=True)
class DemoOptions:
    """How big a run: jobs in the batch, settlements per bridge, the deadline of each
    waiting phase (seconds)."""

    jobs: int = 6
    settle_per_bridge: int = 2
    timeout: float = 120.0


@dataclass(frozen=True)
class KeptStack:
    """What ``aitbc demo --keep`` hands out while the stack stays up: the dashboard's URL,
    the demo client's key and the node's admin key."""

    dashboard_url: str
    client_key: str
    admin_key: str


@dataclass(frozen=True)
class DemoResult:
    """What a run proved: its checks and the balances before/after."""

    checks: Checks
    balances: list[BalanceRow]


#: Called with the finished run while node, miners and devnet are still up (``--keep``).
Hold = Callable[[DemoResult, KeptStack], Awaitable[None]]


async def run_demo(
    view: DemoView, options: DemoOptions, workdir: Path, hold: Hold | None = None
) -> DemoResult:
    """Run the demo, showing its progress on ``view``; the checks made and the balances
    (print them with ``view.summary`` once the live view is closed).

    With ``hold``, the stack stays up after the checks until ``hold`` returns (or the run
    is interrupted), so the dashboard can be explored on real data.

    Everything started is stopped before this returns or raises (Ctrl-C included);
    ``workdir`` holds the settlement store. Raises the SDK's errors when a phase cannot
    go on (a job stream that times out, a bridge that refuses).
    """
    checks = Checks()
    async with devnet_in_background((SOURCE_CHAIN, TARGET_CHAIN)) as devnet:
        view.doing("starting the node")
        async with run_node(None, chain_id=SOURCE_CHAIN) as node:
            alice = await create_party(node, "client", "alice", FUNDS)
            view.done(f"node {node.url} (chain {SOURCE_CHAIN}, SQLite); alice funded {FUNDS:,}")
            view.doing("starting two miners")
            async with running_miners(node, MINERS, OFFER_PRICES) as miners:
                view.miner_names = {m.miner_id: m.party.name for m in miners}
                await _check_offers(checks, node, alice, view)
                scenario = _Scenario(view, options, checks, node, alice, miners, devnet, workdir)
                balances = await scenario.run()
                view.doing("AI jobs (onnx, chat)")
                view.done(await run_ai_phase(node, checks, options.timeout, workdir))
                result = DemoResult(checks, balances)
                if hold is not None:
                    kept = KeptStack(node.url + "/", alice.api_key, node.admin_key)
                    await hold(result, kept)
    return result


async def _check_offers(checks: Checks, node: EmbeddedNode, alice: Party, view: DemoView) -> None:
    async with client_for(node.url, alice.api_key) as client:
        offers = [o async for o in client.marketplace.list_offers()]
    open_offers = [o for o in offers if o.state == "open"]
    checks.add("both miners' offers open", len(open_offers) == len(MINERS), f"{len(open_offers)}")
    prices = ", ".join(f"{int(o.price_per_unit):,}" for o in open_offers)
    view.done(f"{', '.join(MINERS)} registered; {len(open_offers)} offers open at {prices}/unit")


@dataclass
class _Scenario:
    view: DemoView
    options: DemoOptions
    checks: Checks
    node: EmbeddedNode
    alice: Party
    miners: list[RunningMiner]
    devnet: DevnetHandle
    workdir: Path

    async def run(self) -> list[BalanceRow]:
        before = await self._node_balances()
        records = [JobRecord(plan) for plan in plan_jobs(self.options.jobs)]
        self.view.jobs = records
        async with self._clients() as clients:
            await self._run_jobs(records, clients)
        after = await self._node_balances()
        settlements, chain_rows = await self._settle(records)
        rows = _node_rows(before, after, self.alice, self.miners)
        check_ledger(self.checks, rows, sum(r.plan.price for r in records if r.completed))
        check_chain(self.checks, settlements, chain_rows)
        self.view.doing("balancing the books")
        return rows + chain_rows

    @asynccontextmanager
    async def _clients(self) -> AsyncIterator[dict[str, AITBCClient]]:
        ws = WebSocketTransport({"ws_url": self.node.ws_url, "api_key": self.alice.api_key})
        async with client_for(self.node.url, self.alice.api_key) as http, AITBCClient(ws) as wsc:
            yield {"http": http, "ws": wsc}

    async def _run_jobs(self, records: list[JobRecord], clients: dict[str, AITBCClient]) -> None:
        view, n = self.view, len(records)
        view.doing("submitting jobs")
        await submit_all(records, clients, view.changed)
        http = sum(r.plan.transport == "http" for r in records)
        view.done(f"{n} jobs submitted: {http} over HTTP, {n - http} over WebSocket")
        view.doing("jobs running (live events)")
        ws = clients["ws"].transport
        assert isinstance(ws, WebSocketTransport)
        await follow_all(records, ws, view.changed, self.options.timeout)
        completed = sum(r.completed for r in records)
        events = sum(r.events for r in records)
        served = len({r.miner_id for r in records if r.completed})
        self.checks.add("every job completed", completed == n, f"{completed}/{n}")
        view.done(f"{completed}/{n} jobs done by {served} miners; {events} events streamed live")
        view.doing("verifying receipts")
        for record in records:
            await check_job(record, clients[record.plan.transport])
        await self._check_receipts(records, clients["http"])

    async def _check_receipts(self, records: list[JobRecord], client: AITBCClient) -> None:
        n = len(records)
        results = sum(r.result_ok for r in records)
        verified = sum(r.receipt_ok for r in records)
        self.checks.add("results recomputed locally", results == n, f"{results}/{n}")
        self.checks.add("receipts verified offline", verified == n, f"{verified}/{n}")
        receipt = next((r.receipt for r in records if r.receipt is not None), None)
        refused = receipt is not None and await tampered_receipt_refused(client, receipt)
        self.checks.add("a tampered receipt is refused", refused)
        self.view.done(f"{verified}/{n} receipts verified offline (node keys); results recomputed")

    async def _settle(
        self, records: list[JobRecord]
    ) -> tuple[list[SettlementRecord], list[BalanceRow]]:
        self.view.doing("devnet: chains + bridges")
        config = await self.devnet.config()
        self.view.done(
            f"devnet: chains {SOURCE_CHAIN} and {TARGET_CHAIN}, layerzero + ccip, relayer"
        )
        payouts = {m.miner_id: new_payout_address() for m in self.miners}
        settlements = plan_settlements(records, self.options.settle_per_bridge, payouts)
        self.view.settlements = settlements
        self.view.doing("settling on chain 42161")
        addresses = list(payouts.values())
        chain_before = await chain_balances(config, TARGET_CHAIN, addresses)
        provider = await liquidity_provider(config, TARGET_CHAIN)
        (provider_before,) = await chain_balances(config, SOURCE_CHAIN, [provider])
        storage = self.workdir / "settlements.db"
        async with settlement_client(self.node.url, self.alice.api_key, config, storage) as sc:
            await settle_all(sc, settlements, TARGET_CHAIN, self.view.changed, self.options.timeout)
        chain_after = await chain_balances(config, TARGET_CHAIN, addresses)
        # the escrows of paid settlements come back to the pool's provider on the source
        paid_out = sum(s.amount for s in settlements if s.status == "completed")
        provider_after = await wait_for_repayment(
            config, SOURCE_CHAIN, provider, provider_before, paid_out, self.options.timeout
        )
        done = sum(s.status == "completed" for s in settlements)
        per_bridge = ", ".join(f"{sum(s.bridge == b for s in settlements)} {b}" for b in BRIDGES)
        self.view.done(f"{done}/{len(settlements)} settlements completed ({per_bridge})")
        names = {address: m.party.name for m, address in zip(self.miners, addresses, strict=True)}
        rows = [
            BalanceRow(f"chain {TARGET_CHAIN}", f"{names[a]} {a[:10]}…", b, c, address=a)
            for a, b, c in zip(addresses, chain_before, chain_after, strict=True)
        ]
        rows.append(
            BalanceRow(
                f"chain {SOURCE_CHAIN}",
                LIQUIDITY_PROVIDER,
                provider_before,
                provider_after,
                address=provider,
            )
        )
        return settlements, rows

    async def _node_balances(self) -> dict[str, int]:
        """account id → balance plus what it has in escrow (base units)."""
        parties = [self.alice, *(m.party for m in self.miners)]
        balances = {}
        for party in parties:
            async with client_for(self.node.url, party.api_key) as client:
                balance = await client.wallet.balance()
            balances[party.account_id] = int(balance.balance) + int(balance.escrowed)
        return balances


def _node_rows(
    before: dict[str, int], after: dict[str, int], alice: Party, miners: Sequence[RunningMiner]
) -> list[BalanceRow]:
    parties = [alice, *(m.party for m in miners)]
    rows = [BalanceRow("node", p.name, before[p.account_id], after[p.account_id]) for p in parties]
    rows.append(BalanceRow("node", "total", sum(before.values()), sum(after.values())))
    return rows


def check_ledger(checks: Checks, rows: list[BalanceRow], prices: int) -> None:
    """Node rows (client, miners..., total): the client spent exactly what the miners
    earned, which is ``prices`` (the completed jobs' prices), and the total is unchanged."""
    client, *miners, total = rows
    earned = sum(row.change for row in miners)
    checks.add("client spent = miners earned", -client.change == earned == prices, f"{earned:,}")
    checks.add("node total unchanged", total.change == 0, f"{total.change:+,}")


def check_chain(
    checks: Checks, settlements: list[SettlementRecord], rows: list[BalanceRow]
) -> None:
    """Every settlement completed, both bridges used, and each payout address (chain
    ``rows``) received exactly the sum of its completed settlements, not a unit more."""
    completed = [s for s in settlements if s.status == "completed"]
    checks.add("settlements completed", bool(settlements) and len(completed) == len(settlements))
    checks.add("both bridges settled", {s.bridge for s in completed} == set(BRIDGES))
    owed: dict[str, int] = {}
    for s in completed:
        owed[s.recipient] = owed.get(s.recipient, 0) + s.amount
    payees = [row for row in rows if row.account != LIQUIDITY_PROVIDER]
    received = {row.address: row.change for row in payees}
    expected = {row.address: owed.get(row.address, 0) for row in payees}
    checks.add("recipients got exactly the settled amounts", received == expected)
    repaid = sum(row.change for row in rows if row.account == LIQUIDITY_PROVIDER)
    paid_out = sum(owed.values())
    checks.add(
        "liquidity provider repaid exactly the payouts", repaid == paid_out, f"{repaid:,} wei"
    )
