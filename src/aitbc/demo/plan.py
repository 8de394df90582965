"""What the demo runs: the job batch, its prices and the results to expect.

The expected results are recomputed here, independently of the miners' executors, so
a result the demo accepts is one it checked, not one it took on trust.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..miner.executors.matmul import seeded_matrix

TRANSPORTS = ("http", "ws")
PRICES: dict[str, int] = {"sha256": 3_000, "matmul": 5_000, "echo": 1_000}
_PAYLOADS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("sha256", {"data": "aitbc demo #1", "rounds": 150_000}),
    ("matmul", {"seed": 2026, "n": 40}),
    ("echo", {"message": "hello over HTTP and WebSocket"}),
    ("sha256", {"data": "aitbc demo #2", "rounds": 120_000}),
    ("matmul", {"seed": 7, "n": 32}),
    ("echo", {"message": "receipts verify offline"}),
)


@dataclass(frozen=True)
class PlannedJob:
    """One job of the batch: what to run, what it pays, which transport submits it."""

    index: int
    job_type: str
    payload: dict[str, Any]
    price: int
    transport: str


def plan_jobs(count: int) -> list[PlannedJob]:
    """``count`` jobs cycling sha256/matmul/echo, alternately over HTTP and WebSocket
    (so with six, each transport carries every job type once)."""
    jobs = []
    for index in range(count):
        job_type, payload = _PAYLOADS[index % len(_PAYLOADS)]
        transport = TRANSPORTS[index % len(TRANSPORTS)]
        jobs.append(PlannedJob(index, job_type, dict(payload), PRICES[job_type], transport))
    return jobs


def expected_result(job_type: str, payload: dict[str, Any]) -> Any:
    """The result a correct miner returns for ``payload`` (computed here, slowly)."""
    if job_type == "sha256":
        digest = hashlib.sha256(payload["data"].encode()).digest()
        for _ in range(payload["rounds"] - 1):
            digest = hashlib.sha256(digest).digest()
        return {"digest": digest.hex(), "rounds": payload["rounds"]}
    if job_type == "matmul":
        n = payload["n"]
        a, b = (seeded_matrix(payload["seed"], name, n, n) for name in ("a", "b"))
        c = [[sum(a[i][k] * b[k][j] for k in range(n)) for j in range(n)] for i in range(n)]
        return {"rows": n, "cols": n, "c": c}
    return {"echo": payload}
