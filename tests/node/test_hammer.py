"""Many clients and miners at once against a real node, then an audit of the books.

Clients create jobs (some with Idempotency-Keys, some replayed), cancel them and transfer
to each other (some overdrawing); miners claim, complete or fail. Afterwards, read from
the database: the ledger balances to the unit, every priced job was escrowed once and
that escrow was released (payout or refund) exactly once if and only if the job is
terminal, every topic's event sequence is 1..last_seq without a gap or a duplicate, and
no Idempotency-Key produced two resources.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from aitbc.node.services.ledger import ESCROW, MINT
from aitbc.node.tables import ACCOUNTS, EVENT_TOPICS, EVENTS, IDEMPOTENCY, JOBS, TRANSFERS

from .support import Actor, TestMiner, info, make_actor

CLIENTS = 6
MINERS = 4
OPS_PER_CLIENT = 24
FUNDS = 300
OPS = {"create", "cancel", "transfer"}
TERMINAL = {"COMPLETED", "FAILED", "CANCELED", "EXPIRED"}


async def _client_loop(rng: random.Random, me: Actor, others: list[Actor]) -> Counter[str]:
    """Random creates, replays, cancels and transfers; counts ``"<op> <status>"`` and
    ``"job <id>"`` (a job id once per answer that named it)."""
    seen: Counter[str] = Counter()
    mine: list[str] = []
    for op in range(OPS_PER_CLIENT):
        roll = rng.random()
        if roll < 0.5:
            body = {"job_type": "echo", "payload": {"op": op}, "price": str(rng.randint(1, 20))}
            key = {"Idempotency-Key": f"{me.id}-{op}"} if rng.random() < 0.5 else {}
            answers = await asyncio.gather(
                *[me.http.post("/v1/jobs", json=body, headers=key) for _ in range(2 if key else 1)]
            )
            for answer in answers:
                seen[f"create {answer.status_code}"] += 1
                if answer.status_code in (200, 201):
                    mine.append(answer.json()["id"])
                    seen[f"job {mine[-1]}"] += 1
            codes = [a.status_code for a in answers]
            if key and 201 in codes:
                seen["keyed 201"] += 1
                seen["keyed twice 201"] += codes.count(201) == 2
        elif roll < 0.7 and mine:
            answer = await me.http.post(f"/v1/jobs/{rng.choice(mine)}/cancel")
            seen[f"cancel {answer.status_code}"] += 1
        else:
            to = rng.choice(others)
            amount = rng.choice([1, 5, 40, FUNDS * 2])  # the last one always overdraws
            answer = await me.http.post(
                "/v1/wallet/transfer", json={"to": to.id, "amount": str(amount)}
            )
            seen[f"transfer {answer.status_code}"] += 1
    return seen


async def _miner_loop(
    rng: random.Random, miner: TestMiner, node_info: dict[str, Any], done: asyncio.Event
) -> Counter[int]:
    seen: Counter[int] = Counter()
    while True:
        job = await miner.poll(wait=0.1)
        if job is None:
            if done.is_set():
                return seen
            await asyncio.sleep(0)
            continue
        if rng.random() < 0.8:
            body = miner.result_body(job, {"echo": job["payload"]}, node_info)
            answer = await miner.http.post(f"/v1/miners/jobs/{job['id']}/result", json=body)
        else:
            answer = await miner.http.post(
                f"/v1/miners/jobs/{job['id']}/fail", json={"error": "gave up"}
            )
        seen[answer.status_code] += 1


def _audit(conn: Connection) -> dict[str, Any]:
    return {
        "balances": dict(conn.execute(select(ACCOUNTS.c.id, ACCOUNTS.c.balance)).all()),
        "transfers": conn.execute(select(TRANSFERS)).all(),
        "jobs": conn.execute(select(JOBS.c.id, JOBS.c.state, JOBS.c.price)).all(),
        "topics": dict(conn.execute(select(EVENT_TOPICS.c.topic, EVENT_TOPICS.c.last_seq)).all()),
        "seqs": conn.execute(select(EVENTS.c.topic, EVENTS.c.seq)).all(),
        "keys": conn.execute(select(func.count()).select_from(IDEMPOTENCY)).scalar(),
    }


async def test_hammered_node_keeps_its_books(any_node: Any) -> None:
    node = any_node
    clients = [await make_actor(node, "client", f"c{i}") for i in range(CLIENTS)]
    miners = [await make_actor(node, "miner", f"m{i}") for i in range(MINERS)]
    try:
        for client in clients:
            await node.faucet(client.id, FUNDS)
        for miner in miners:
            assert isinstance(miner, TestMiner)
            await miner.register()
        node_info = await info(node)
        done = asyncio.Event()
        miner_tasks = [
            asyncio.create_task(_miner_loop(random.Random(i), m, node_info, done))  # type: ignore[arg-type]
            for i, m in enumerate(miners)
        ]
        client_seen = await asyncio.gather(
            *[
                _client_loop(random.Random(i), c, [o for o in clients if o is not c])
                for i, c in enumerate(clients)
            ]
        )
        done.set()
        miner_seen = await asyncio.gather(*miner_tasks)
        audit = await node.node.read(_audit)
    finally:
        for actor in (*clients, *miners):
            await actor.aclose()

    seen = sum(client_seen, Counter())
    statuses = Counter({int(k.split()[1]): n for k, n in seen.items() if k.split()[0] in OPS})
    statuses += sum(miner_seen, Counter())
    assert set(statuses) <= {200, 201, 402, 409}, statuses  # no 5xx, no lost request
    assert seen["transfer 402"] > 0 and seen["transfer 201"] > 0  # overdrew and succeeded
    assert seen["create 201"] > 0 and seen["create 200"] > 0  # created and replayed

    # The ledger: balances are exactly what the transfers say, and nothing was created.
    balances: dict[str, int] = audit["balances"]
    replayed: dict[str, int] = defaultdict(int)
    for t in audit["transfers"]:
        replayed[t.from_account] -= t.amount
        replayed[t.to_account] += t.amount
    assert {a: b for a, b in balances.items() if b} == {a: b for a, b in replayed.items() if b}
    assert sum(balances.values()) == 0
    assert -balances[MINT] == FUNDS * CLIENTS
    assert min(b for a, b in balances.items() if a != MINT) >= 0

    # Every priced job: one escrow; one release iff terminal; escrow holds the open ones.
    by_job: dict[str, Counter[str]] = defaultdict(Counter)
    for t in audit["transfers"]:
        if t.job_id is not None:
            by_job[t.job_id][t.kind] += 1
    open_total = 0
    for job in audit["jobs"]:
        kinds = by_job[job.id]
        assert kinds["escrow"] == 1, (job, kinds)
        released = kinds["payout"] + kinds["refund"]
        assert released == (1 if job.state in TERMINAL else 0), (job, kinds)
        assert kinds["payout"] == (1 if job.state == "COMPLETED" else 0), (job, kinds)
        open_total += 0 if job.state in TERMINAL else job.price
    assert balances.get(ESCROW, 0) == open_total
    assert all(job.state in TERMINAL for job in audit["jobs"])  # miners drained the queue

    # Events: each topic holds exactly 1..last_seq.
    per_topic: dict[str, list[int]] = defaultdict(list)
    for topic, seq in audit["seqs"]:
        per_topic[topic].append(seq)
    assert per_topic.keys() == audit["topics"].keys()
    for topic, last in audit["topics"].items():
        assert sorted(per_topic[topic]) == list(range(1, last + 1)), topic

    # Idempotency: a replayed create named an existing job; no key made a second job.
    named = {k.split()[1] for k in seen if k.startswith("job ")}
    assert named == {job.id for job in audit["jobs"]}
    assert len(audit["jobs"]) == seen["create 201"]
    assert seen["keyed twice 201"] == 0
    assert audit["keys"] == seen["keyed 201"]
