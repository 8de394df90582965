"""``aitbc demo``: a node and a miner in one process, one job through them, its receipt
verified offline and printed. Exit status 0 only when every check passed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from .. import AITBCClient, HTTPTransport
from ..core.canonical import content_hash
from ..core.receipts import verify_receipt
from ..core.signing import VerifyKey
from ..errors import AITBCError, ReceiptVerificationError
from ..miner import Miner, MinerConfig
from ..miner.executors.matmul import seeded_matrix
from ..models import JobState

FUNDS = 1_000_000
PRICE = 2_500
PAYLOADS: dict[str, dict[str, Any]] = {
    "sha256": {"data": "hello from the aitbc demo", "rounds": 200_000},
    "matmul": {"seed": 2026, "n": 48},
    "echo": {"message": "hello from the aitbc demo"},
}


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the ``aitbc`` CLI."""
    app.command("demo")(demo_command)


def demo_command(
    job_type: Annotated[str, typer.Option(help="sha256, matmul or echo")] = "sha256",
    chain_id: Annotated[int, typer.Option(help="Chain id of the demo node")] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds the job may take")] = 60.0,
    payload: Annotated[
        str | None, typer.Option(help="The job's payload as a JSON object (default: a sample)")
    ] = None,
) -> None:
    """Start a node (SQLite in a temp dir) and a miner, run one job, verify its receipt.

    Everything started is stopped and every temporary file removed on exit, Ctrl-C
    included. Exit status: 0 when all checks passed, 1 otherwise, 130 when interrupted.
    """
    console = Console()
    if job_type not in PAYLOADS:
        raise typer.BadParameter(f"choose one of {', '.join(PAYLOADS)}", param_hint="--job-type")
    job = DemoJob(job_type, _parse_payload(payload) if payload else PAYLOADS[job_type], timeout)
    _show_miner_log(console)
    try:
        # The directory outlives the event loop, so it is removed only after every task
        # (uvicorn, the SQLite threads) has stopped, however the run ended.
        with tempfile.TemporaryDirectory(prefix="aitbc-demo-") as tmp:
            database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'node.sqlite3'}"
            passed = asyncio.run(run_demo(console, job, chain_id, database_url))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: node and miner stopped, temporary files removed")
        raise typer.Exit(130) from None
    except AITBCError as exc:
        console.print(f"[red]demo failed: {exc}")
        raise typer.Exit(1) from exc
    raise typer.Exit(0 if passed else 1)


def _parse_payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--payload") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--payload")
    return value


@dataclass(frozen=True)
class DemoJob:
    """The job the demo runs, and how long it may take."""

    job_type: str
    payload: dict[str, Any]
    timeout: float


@dataclass
class Checks:
    """Named pass/fail results, printed as a table."""

    rows: list[tuple[str, bool, str]] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.rows.append((name, ok, detail))

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(ok for _, ok, _ in self.rows)


async def run_demo(
    console: Console,
    job: DemoJob,
    chain_id: int,
    database_url: str | None = None,
) -> bool:
    """Run the demo and print what happened; True when every check passed.

    ``database_url=None`` lets the node use (and remove) a temporary SQLite file.
    """
    from ..node.embedded import run_node  # the node extra, needed only here

    checks = Checks()
    async with run_node(database_url, chain_id=chain_id) as node:
        console.print(f"[bold]node[/] serving at {node.url} (chain {chain_id}, SQLite, temp dir)")
        client_key, miner_key = await _create_keys(node.url, node.admin_key, console)
        async with _miner(node.url, miner_key) as miner, _client(node.url, client_key) as client:
            run = _Run(console, checks, node.url, miner)
            receipt = await run.run_job(client, job)
            if receipt is not None:
                await _check_money(checks, client, node.url, miner_key)
    return _report(console, checks, receipt)


@dataclass
class _Run:
    console: Console
    checks: Checks
    url: str
    miner: Miner

    async def run_job(self, client: AITBCClient, demo: DemoJob) -> dict[str, Any] | None:
        """Create the job, wait for it, check its result and receipt; the receipt."""
        job_type, payload = demo.job_type, demo.payload
        job = await client.jobs.create(job_type=job_type, payload=payload, price=PRICE)
        self.console.print(f"[bold]client[/] created {job.id} ({job_type}), {PRICE} escrowed")
        done = await client.jobs.wait_for_completion(job.id, timeout=demo.timeout)
        self.checks.add("job completed by our miner", _completed_by(done, self.miner), done.state)
        if done.state is not JobState.COMPLETED:
            return None
        answer = await client.jobs.result(job.id)
        self.console.print(f"[bold]client[/] got the result: {_short(answer.result)}")
        receipt = answer.receipt.to_wire()
        async with HTTPTransport({"base_url": self.url}) as anonymous:
            published = await anonymous.request("GET", "/v1/info")
        _check_receipt(self.checks, receipt, published, payload, answer.result, self.miner)
        _check_result(self.checks, job_type, payload, answer.result)
        return receipt


def _completed_by(job: Any, miner: Miner) -> bool:
    return bool(job.state is JobState.COMPLETED and job.miner_id == miner.miner_id)


async def _create_keys(url: str, admin_key: str, console: Console) -> tuple[str, str]:
    """A client and a miner key made through the admin API; the client funded."""
    headers = {"X-API-Key": admin_key}
    async with HTTPTransport({"base_url": url, "default_headers": headers}) as admin:
        alice = await admin.request(
            "POST", "/v1/admin/principals", {"role": "client", "name": "alice"}
        )
        bob = await admin.request("POST", "/v1/admin/principals", {"role": "miner", "name": "bob"})
        await admin.request(
            "POST",
            "/v1/admin/faucet",
            {"account_id": alice["principal"]["id"], "amount": str(FUNDS)},
        )
    console.print(f"[bold]admin[/] created client alice and miner bob; faucet {FUNDS} to alice")
    return str(alice["api_key"]), str(bob["api_key"])


@asynccontextmanager
async def _client(url: str, api_key: str) -> AsyncIterator[AITBCClient]:
    transport = HTTPTransport({"base_url": url, "default_headers": {"X-API-Key": api_key}})
    async with AITBCClient(transport) as client:
        yield client


@asynccontextmanager
async def _miner(url: str, api_key: str) -> AsyncIterator[Miner]:
    """A registered miner, stopped gracefully on the way out (Ctrl-C included)."""
    # A short grace: on Ctrl-C the user wants out, not the job's completion.
    config = MinerConfig(coordinator=url, api_key=api_key, poll_wait=2.0, shutdown_grace=1.0)
    async with Miner(config).running() as miner:
        yield miner


def _check_receipt(
    checks: Checks,
    receipt: dict[str, Any],
    info: dict[str, Any],
    payload: dict[str, Any],
    result: Any,
    miner: Miner,
) -> None:
    keys = {k["key_id"]: VerifyKey.from_b64(k["public_key"]) for k in info["signing_keys"]}
    try:
        verify_receipt(receipt, keys, chain_id=info["chain_id"])
        checks.add("signatures verify against /v1/info keys", True, "coordinator + miner")
    except ReceiptVerificationError as exc:
        checks.add("signatures verify against /v1/info keys", False, str(exc))
    try:
        verify_receipt({**receipt, "units": int(receipt["units"]) + 1}, keys)
        checks.add("a tampered receipt is refused", False, "it verified")
    except ReceiptVerificationError as exc:
        checks.add("a tampered receipt is refused", True, str(exc))
    checks.add("input hash matches the payload", receipt["input_hash"] == content_hash(payload))
    checks.add("output hash matches the result", receipt["output_hash"] == content_hash(result))
    checks.add("miner key is our miner's", receipt["miner_key"] == miner.key.verify_key.b64)


def _check_result(checks: Checks, job_type: str, payload: dict[str, Any], result: Any) -> None:
    checks.add("result recomputed independently", result == _expected(job_type, payload))


def _expected(job_type: str, payload: dict[str, Any]) -> Any:
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


async def _check_money(checks: Checks, client: AITBCClient, url: str, miner_key: str) -> None:
    balance = (await client.wallet.balance()).balance
    escrows = [t async for t in client.wallet.history() if t.kind == "escrow"]
    checks.add("client charged exactly once", balance == FUNDS - PRICE and len(escrows) == 1)
    async with _client(url, miner_key) as provider:
        paid = (await provider.wallet.balance()).balance
    checks.add("miner paid the price", paid == PRICE, f"{paid} base units")


def _report(console: Console, checks: Checks, receipt: dict[str, Any] | None) -> bool:
    if receipt is not None:
        table = Table(title="receipt", show_header=False)
        for name, value in receipt.items():
            table.add_row(name, _short(value))
        console.print(table)
    verdict = Table(title="checks", show_header=False)
    for name, ok, detail in checks.rows:
        verdict.add_row("[green]✓[/]" if ok else "[red]✗[/]", name, detail)
    console.print(verdict)
    style = "bold green" if checks.passed else "bold red"
    console.print(f"[{style}]{'all checks passed' if checks.passed else 'CHECKS FAILED'}")
    return checks.passed


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(_short(item) for item in value)
    if isinstance(value, dict) and "sig" in value:
        value = {k: v for k, v in value.items() if k != "sig"} | {"sig": str(value["sig"])[:16]}
    text = str(value)
    return text if len(text) <= 72 else text[:69] + "..."


def _show_miner_log(console: Console) -> None:
    logger = logging.getLogger("aitbc.miner")
    logger.setLevel(logging.INFO)
    logger.addHandler(RichHandler(console=console, show_path=False, show_time=False))
    logger.propagate = False
