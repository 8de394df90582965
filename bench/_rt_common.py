"""Shared by bench/fanout.py and bench/realtime.py: a node in its own process, OS figures.

``ServedNode`` runs ``aitbc serve`` as a subprocess (fresh SQLite file unless a database
URL is given) and reads its CPU time and RSS from /proc, children included, so
``--workers`` nodes count every worker.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

AITBC = str(Path(sys.executable).with_name("aitbc"))
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(p) for p in text.split()]
    return kids + [g for k in kids for g in _children(k)]


def _stat(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
    return cpu, int(fields[21]) * _PAGE  # rss pages


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live descendants (uvicorn workers) so far."""
    return sum(_stat(p)[0] for p in [pid, *_children(pid)])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 20 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ServedNode:
    """``aitbc serve`` in its own process group; ``url``, ``admin_key``, OS figures."""

    def __init__(
        self,
        *,
        database_url: str | None = None,
        redis_url: str | None = None,
        workers: int = 1,
        admin_key: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        from aitbc.node.services.principals import new_api_key

        self._tmp = tempfile.TemporaryDirectory(prefix="aitbc-bench-")
        self.database_url = database_url or f"sqlite+aiosqlite:///{self._tmp.name}/node.sqlite3"
        self.redis_url = redis_url
        self.workers = workers
        self.admin_key = admin_key or new_api_key()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def _launch(self) -> subprocess.Popen[bytes]:
        args = [
            AITBC, "serve", "--port", str(self.port), "--database-url", self.database_url,
            "--admin-key", self.admin_key, "--log-level", "warning",
            "--workers", str(self.workers),
        ]  # fmt: skip
        if self.redis_url:
            args += ["--redis-url", self.redis_url]
        return subprocess.Popen(args, env=self.env, stdout=subprocess.DEVNULL)

    async def start(self) -> ServedNode:
        """Start the process and wait until ``/health`` answers."""
        self.proc = self._launch()
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"node exited with {self.proc.returncode}")
                try:
                    async with session.get(f"{self.url}/health") as resp:
                        if resp.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.url} never became healthy")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self._tmp.cleanup()

    def pids(self) -> list[int]:
        assert self.proc is not None
        return [self.proc.pid, *_children(self.proc.pid)]

    def cpu_seconds(self) -> float:
        """User + system CPU of the node and its workers so far."""
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)

    def rss_bytes(self) -> int:
        """Resident memory of the node and its workers now."""
        return sum(_stat(pid)[1] for pid in self.pids())

    async def admin_post(self, session: aiohttp.ClientSession, path: str, body: Any) -> Any:
        headers = {"X-API-Key": self.admin_key}
        async with session.post(self.url + path, json=body, headers=headers) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"{path}: HTTP {resp.status} {await resp.text()}")
            return await resp.json()

    async def client(self, session: aiohttp.ClientSession, name: str) -> tuple[str, str]:
        """A new client principal: (id, api key)."""
        made = await self.admin_post(
            session, "/v1/admin/principals", {"role": "client", "name": name}
        )
        return made["principal"]["id"], made["api_key"]


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def now() -> float:
    """CLOCK_MONOTONIC: one clock for every process of the bench (Linux)."""
    return time.monotonic()
