"""Inference through the marketplace vs the same inference server called directly.

One run: llama.cpp's server (its own process, one thread) with a tiny generated model
(or ``--model FILE.gguf``), a node (its own process, SQLite), and an in-process reference
miner whose chat executor forwards to that server and offers its model per token. The
same streamed chat request then goes, alternately, straight to the server and through the
node's OpenAI-compatible door (official ``openai`` client both times):

* TTFT: request sent -> first content chunk received (median over ``--runs``);
* tokens/s: completion tokens / (last chunk - request sent);
* server CPU per request, from /proc: node process and inference server process.

The marketplace adds job creation, escrow, the miner's claim, one node transaction per
batch of streamed tokens, the receipt and settlement. Ratios are against the direct
calls of the same run.

    .venv/bin/python bench/inference.py [--runs 5] [--max-tokens 64] [--model FILE.gguf]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai

from aitbc.demo.tiny_llm import (
    MODEL_NAME,
    free_port,
    llama_available,
    llama_server,
    write_tiny_llama,
)
from aitbc.miner import Miner, MinerConfig
from aitbc.miner.executors.chat import ChatExecutor, InferenceServer

MESSAGES = [{"role": "user", "content": "hello market"}]
ADMIN_KEY = "aitbc_bench_inference_admin"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@contextlib.contextmanager
def node_process(workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A node in its own process (uvicorn), on SQLite in ``workdir``."""
    port = free_port()
    env = {
        **os.environ,
        "AITBC_NODE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'node.sqlite3'}",
        "AITBC_NODE_ADMIN_KEY": ADMIN_KEY,
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "aitbc.node.app:app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the node did not start") from None
                time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=20)


async def admin(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    from aitbc import HTTPTransport

    transport = HTTPTransport({"base_url": url, "default_headers": {"X-API-Key": ADMIN_KEY}})
    try:
        return await transport.request("POST", path, body)
    finally:
        await transport.disconnect()


async def one_stream(client: openai.AsyncOpenAI, max_tokens: int) -> tuple[float, float, int]:
    """(TTFT seconds, tokens/s, tokens) of one streamed completion."""
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    stream = await client.chat.completions.create(
        model=MODEL_NAME, messages=MESSAGES, max_tokens=max_tokens, temperature=0, stream=True
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            first = first or last
            tokens += 1
    return first - started, tokens / (last - started), tokens


async def measure(args: argparse.Namespace, llama_url: str, llama_pid: int, workdir: Path) -> None:
    with node_process(workdir) as (node_url, node):
        alice = await admin(node_url, "/v1/admin/principals", {"role": "client", "name": "a"})
        bob = await admin(node_url, "/v1/admin/principals", {"role": "miner", "name": "b"})
        await admin(
            node_url,
            "/v1/admin/faucet",
            {"account_id": alice["principal"]["id"], "amount": "10" * 9},
        )
        config = MinerConfig(
            coordinator=node_url,
            api_key=bob["api_key"],
            executors=["chat"],
            poll_wait=5,
            offer_price=1,
            offer_unit="token",
            offer_max_units=4096,
        )
        executor = ChatExecutor(InferenceServer(llama_url))
        async with (
            Miner(config, executors={"chat": executor}).running(),
            openai.AsyncOpenAI(base_url=llama_url + "/v1", api_key="x") as direct,
            openai.AsyncOpenAI(base_url=node_url + "/v1", api_key=alice["api_key"]) as market,
        ):
            paths = {"direct": direct, "marketplace": market}
            for client in paths.values():  # warm-up: model loaded, connections open
                await one_stream(client, args.max_tokens)
            samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in paths}
            cpu: dict[str, dict[str, float]] = {n: {"node": 0.0, "llama": 0.0} for n in paths}
            for run in range(args.runs):
                order = list(paths) if run % 2 == 0 else list(reversed(paths))
                for name in order:
                    before = cpu_seconds(node.pid), cpu_seconds(llama_pid)
                    samples[name].append(await one_stream(paths[name], args.max_tokens))
                    cpu[name]["node"] += cpu_seconds(node.pid) - before[0]
                    cpu[name]["llama"] += cpu_seconds(llama_pid) - before[1]
    report(samples, cpu, args)


def report(
    samples: dict[str, list[tuple[float, float, int]]],
    cpu: dict[str, dict[str, float]],
    args: argparse.Namespace,
) -> None:
    med = {
        name: (
            statistics.median(s[0] for s in rows),
            statistics.median(s[1] for s in rows),
            statistics.median(s[2] for s in rows),
        )
        for name, rows in samples.items()
    }
    print(f"streamed chat, max_tokens={args.max_tokens}, {args.runs} runs each (medians)")
    print(f"{'path':<12} {'TTFT ms':>9} {'tokens/s':>9} {'tokens':>7} {'node CPU ms':>12} "
          f"{'llama CPU ms':>13}")  # fmt: skip
    for name, (ttft, rate, tokens) in med.items():
        node_ms = 1000 * cpu[name]["node"] / args.runs
        llama_ms = 1000 * cpu[name]["llama"] / args.runs
        print(f"{name:<12} {ttft * 1000:9.1f} {rate:9.1f} {tokens:7d} {node_ms:12.1f} "
              f"{llama_ms:13.1f}")  # fmt: skip
    d, m = med["direct"], med["marketplace"]
    print(
        f"marketplace vs direct: TTFT +{(m[0] - d[0]) * 1000:.1f} ms ({m[0] / d[0]:.2f}x), "
        f"tokens/s direct/marketplace {d[1] / m[1]:.2f} (1.00 = no loss)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", type=Path, default=None, help="a GGUF file (default: tiny)")
    args = parser.parse_args()
    if not llama_available():
        print("skipped: needs llama-cpp-python[server] and gguf (scripts/install_llama.sh)")
        return
    with tempfile.TemporaryDirectory(prefix="aitbc-bench-") as tmp:
        workdir = Path(tmp)
        model = args.model or write_tiny_llama(workdir / "tiny.gguf")
        with llama_server(model) as (llama_url, llama):
            asyncio.run(measure(args, llama_url, llama.pid, workdir))


if __name__ == "__main__":
    main()
