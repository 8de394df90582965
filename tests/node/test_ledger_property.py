"""Property test: random sequences of money-moving operations keep the books balanced.

Drives the service layer (the same code the REST routes call) on a fresh SQLite node per
example, and after every step checks: the sum of all balances is 0, no account but
``sys:mint`` is negative, escrow equals the price of open jobs, and every balance equals
what a simple model of the operations predicts.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select, update

from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim
from aitbc.core.signing import SigningKey
from aitbc.node.models import AccountRow, JobPricingRow, JobRow
from aitbc.node.problems import NodeProblem
from aitbc.node.runtime import Node
from aitbc.node.schemas import Faucet, JobCreate, JobFail, JobResult, MinerRegister, TransferCreate
from aitbc.node.services import jobs, ledger, miners, outputs, results, transitions, wallet
from aitbc.node.services.principals import Principal, create_principal
from aitbc.node.settings import NodeSettings

amounts = st.integers(min_value=0, max_value=300)
who = st.integers(min_value=0, max_value=2)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("faucet"), who, amounts),
        st.tuples(st.just("transfer"), who, who, amounts),
        st.tuples(st.just("job"), st.integers(0, 1), amounts),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(
            st.just("complete"),
        ),
        st.tuples(
            st.just("fail"),
        ),
        st.tuples(st.just("expire"), st.integers(0, 20)),
        # Per-unit pricing and streamed output (aitbc.node.services.pricing / outputs).
        st.tuples(st.just("unit_job"), st.integers(0, 1), st.integers(0, 30), st.integers(1, 8)),
        st.tuples(st.just("stream_complete"), st.integers(0, 9), st.integers(0, 9)),
        st.tuples(st.just("stream_fail"), st.integers(0, 9)),
    ),
    max_size=25,
)


class World:
    def __init__(self, node: Node, people: list[Principal], key: SigningKey) -> None:
        self.node, self.people, self.key = node, people, key
        self.expected = {p.id: 0 for p in people}
        self.job_ids: list[str] = []
        # The refusals the model predicts for the current operation; anything else fails.
        self.allowed: set[int] = set()

    async def apply(self, op: tuple[Any, ...]) -> None:
        self.allowed = set()
        try:
            await getattr(self, "op_" + op[0])(*op[1:])
        except NodeProblem as problem:
            assert problem.status in self.allowed, (op, problem.status, problem.message)
        except ValidationError as refused:  # the request schema's 422, before any service
            assert 422 in self.allowed, (op, refused)

    async def op_faucet(self, i: int, amount: int) -> None:
        self.allowed = {422} if amount == 0 else set()
        await wallet.faucet(self.node, Faucet(account_id=self.people[i].id, amount=str(amount)))
        self.expected[self.people[i].id] += amount

    async def op_transfer(self, i: int, j: int, amount: int) -> None:
        src, dst = self.people[i], self.people[j]
        if i == j or amount == 0:
            self.allowed = {422}
        elif self.expected[src.id] < amount:
            self.allowed = {402}
        await wallet.transfer(self.node, src, TransferCreate(to=dst.id, amount=str(amount)), None)
        self.expected[src.id] -= amount
        self.expected[dst.id] += amount

    async def op_job(self, i: int, price: int) -> None:
        req = JobCreate(job_type="echo", payload={"p": price}, price=str(price))
        self.allowed = {402} if self.expected[self.people[i].id] < price else set()
        job, _ = await jobs.create_job(self.node, self.people[i], req, None)
        self.job_ids.append(job["id"])
        self.expected[self.people[i].id] -= price

    def _job(self, n: int) -> str | None:
        return self.job_ids[n % len(self.job_ids)] if self.job_ids else None

    async def op_cancel(self, n: int) -> None:
        job_id = self._job(n)
        if job_id is not None:
            job = await jobs.get_job(self.node, Principal("x", "admin", "x", _now()), job_id)
            client = next(p for p in self.people if p.id == job["client_id"])
            self.allowed = set() if job["state"] in ("QUEUED", "RUNNING") else {409}
            await jobs.cancel_job(self.node, client, job_id)
            self.expected[client.id] += int(job["price"])

    async def op_complete(self, chunks: int = 0, units: int = 1) -> None:
        miner = self.people[2]
        claimed = await miners.claim_once(self.node, miner)
        if claimed is None:
            return
        job = claimed["job"]
        terms = await self._terms(job["id"])
        summary = await self._stream(job["id"], chunks)
        result: Any = {"output": summary} if summary else "ok"
        charged = int(job["price"])
        if terms is not None:
            charged = terms.unit_price * units
            self.allowed = {422} if units > terms.max_units else set()
        claim = miner_claim(
            {
                "job_id": job["id"],
                "input_hash": content_hash(job["payload"]),
                "output_hash": content_hash(result),
                "units": units,
                "price": job["price"],
                "chain_id": 1,
                "coordinator_id": self.node.coordinator_id,
                "miner_id": miner.id,
            }
        )
        att = {k: v for k, v in attest(self.key, claim).items() if k != "role"}
        req = JobResult.model_validate({"result": result, "units": units, "attestation": att})
        await results.submit_result(self.node, miner, job["id"], req)
        self.expected[miner.id] += charged
        self.expected[job["client_id"]] += int(job["price"]) - charged

    async def op_unit_job(self, i: int, unit_price: int, max_units: int) -> None:
        price = unit_price * max_units
        pricing = {"unit": "token", "unit_price": str(unit_price), "max_units": max_units}
        req = JobCreate.model_validate(
            {"job_type": "echo", "payload": {}, "price": str(price), "pricing": pricing}
        )
        self.allowed = {402} if self.expected[self.people[i].id] < price else set()
        job, _ = await jobs.create_job(self.node, self.people[i], req, None)
        self.job_ids.append(job["id"])
        self.expected[self.people[i].id] -= price

    async def op_stream_complete(self, chunks: int, units: int) -> None:
        await self.op_complete(chunks, units)

    async def op_stream_fail(self, chunks: int) -> None:
        miner = self.people[2]
        claimed = await miners.claim_once(self.node, miner)
        if claimed is None:
            return
        job = claimed["job"]
        terms = await self._terms(job["id"])
        await self._stream(job["id"], chunks)
        await results.fail_job(self.node, miner, job["id"], JobFail(error="server died"))
        owed = terms.unit_price * min(chunks, terms.max_units) if terms else 0
        self.expected[miner.id] += owed
        self.expected[job["client_id"]] += int(job["price"]) - owed

    async def _terms(self, job_id: str) -> JobPricingRow | None:
        async with self.node.reads() as session:
            return await session.get(JobPricingRow, job_id)

    async def _stream(self, job_id: str, chunks: int) -> dict[str, Any] | None:
        if not chunks:
            return None
        items = [{"delta": str(n)} for n in range(chunks)]
        return await outputs.record(self.node, self.people[2], job_id, 0, items)

    async def op_fail(self) -> None:
        await self.op_stream_fail(0)

    async def op_expire(self, n: int) -> None:
        job_id = self._job(n)
        if job_id is None:
            return
        async with self.node.transaction() as tx:
            job = await tx.session.get(JobRow, job_id)
            assert job is not None
            if job.state not in ("QUEUED", "RUNNING"):
                return
            await tx.session.execute(
                update(JobRow).where(JobRow.id == job_id).values(expires_at=tx.now)
            )
            client, price = job.client_id, job.price
        assert await transitions.sweep(self.node) == 1
        self.expected[client] += price

    async def check(self) -> None:
        total, lowest = await ledger.total_supply_check(self.node)
        assert total == 0 and lowest >= 0
        async with self.node.sessions() as session:
            balances = dict(
                (await session.execute(select(AccountRow.id, AccountRow.balance))).all()
            )
            open_prices = await session.scalar(
                select(func.coalesce(func.sum(JobRow.price), 0)).where(
                    JobRow.state.in_(("QUEUED", "RUNNING"))
                )
            )
        assert balances[ledger.ESCROW] == open_prices
        for account, value in self.expected.items():
            assert balances[account] == value


def _now() -> Any:
    from aitbc.node.clock import utcnow

    return utcnow()


async def _run(ops: list[tuple[Any, ...]], tmp: str) -> None:
    node = Node(
        NodeSettings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'p.sqlite3'}",
            admin_key="aitbc_property_admin",
        )
    )
    await node.start()
    try:
        async with node.transaction() as tx:
            people = [
                (await create_principal(tx, role, role + str(i)))[0]
                for i, role in enumerate(("client", "client", "miner"))
            ]
        key = SigningKey.generate()
        req = MinerRegister(public_key=key.verify_key.b64, capabilities={"job_types": ["echo"]})  # type: ignore[arg-type]
        await miners.register(node, people[2], req)
        world = World(node, people, key)
        # Fund the clients so most generated jobs and transfers go through.
        for i in (0, 1):
            await world.apply(("faucet", i, 1_000))
        for op in ops:
            await world.apply(op)
            await world.check()
    finally:
        await node.close()


@settings(
    max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(operations)
def test_books_always_balance(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(ops, tmp))
