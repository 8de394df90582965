"""Inference through the marketplace vs the same inference server called directly.

One run, four processes: llama.cpp's server (one thread) with a tiny generated model (or
``--model FILE.gguf``); a node (``aitbc serve``, SQLite); a reference miner (``aitbc miner``)
whose chat executor forwards to that server and offers its model per token; and this
process, the client. The same streamed chat request then goes, alternately, straight to
the server and through the node's OpenAI-compatible door (official ``openai`` client both
times), after a warm-up of both paths:

* TTFT: request sent -> first content chunk received (median over ``--runs``);
* tokens/s: completion tokens / (last content chunk - request sent), TTFT included;
* stream tokens/s: tokens after the first content chunk / (last content chunk - first
  content chunk), the delivery rate once the first token is out (TTFT excluded);
* CPU per request, from /proc: node, miner, inference server and client (this process).

Each run sends both requests back to back (the order alternates), so besides the
medians of each path the bench prints the per-run differences and ratios with their
quartiles, and the load average: on a shared machine the spread says how far a median
can be trusted.

The marketplace adds job creation with escrow, the miner's claim, one node transaction
per batch of streamed tokens, the receipt and settlement. Ratios are against the direct
calls of the same run.

    .venv/bin/python bench/inference.py [--runs 9] [--max-tokens 64] [--model FILE.gguf]
        [--output-interval SECONDS]
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
from _rt_common import cpu_seconds, stop_process

from aitbc.demo.tiny_llm import (
    MODEL_NAME,
    free_port,
    llama_available,
    llama_server,
    write_tiny_llama,
)

MESSAGES = [{"role": "user", "content": "hello market"}]
ADMIN_KEY = "aitbc_bench_inference_admin"
#: (TTFT s, end-to-end tokens/s, stream tokens/s, tokens) of one request.
Sample = tuple[float, float, float, int]


@contextlib.contextmanager
def node_process(workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A node in its own process, served as ``aitbc serve`` serves it (its uvicorn
    options included), on SQLite in ``workdir``."""
    port = free_port()
    command = [
        sys.executable, "-m", "aitbc.cli.entry", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--database-url", f"sqlite+aiosqlite:///{workdir / 'node.sqlite3'}",
        "--admin-key", ADMIN_KEY, "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command)
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
        stop_process(process)


@contextlib.contextmanager
def miner_process(
    node_url: str, api_key: str, llama_url: str, output_interval: float | None
) -> Iterator[subprocess.Popen[bytes]]:
    """The reference miner (``aitbc miner``) in its own process, chat executor only,
    offering the server's models at 1 per token."""
    env = {**os.environ, "AITBC_CHAT_BASE_URL": llama_url}
    command = [
        sys.executable, "-m", "aitbc.cli.entry", "miner", "--coordinator", node_url,
        "--api-key", api_key, "--executors", "chat", "--ephemeral-key", "--poll-wait", "5",
        "--offer-price", "1", "--offer-unit", "token", "--offer-max-units", "4096",
        "--log-level", "WARNING",
    ]  # fmt: skip
    if output_interval is not None:
        command += ["--output-interval", str(output_interval)]
    process = subprocess.Popen(command, env=env)
    try:
        yield process
    finally:
        stop_process(process)


async def admin(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    from aitbc import HTTPTransport

    transport = HTTPTransport({"base_url": url, "default_headers": {"X-API-Key": ADMIN_KEY}})
    try:
        return await transport.request("POST", path, body)
    finally:
        await transport.disconnect()


async def wait_for_offer(market: openai.AsyncOpenAI, miner: subprocess.Popen[bytes]) -> None:
    """Until the miner's offer of the model is listed by the door."""
    deadline = time.monotonic() + 60
    while MODEL_NAME not in [m.id for m in (await market.models.list()).data]:
        if miner.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the miner did not offer the model")
        await asyncio.sleep(0.1)


async def one_stream(
    client: openai.AsyncOpenAI, max_tokens: int, reference: list[str] | None = None
) -> tuple[Sample, list[str]]:
    """One streamed completion's figures, and its content chunks' texts.

    Tokens are the final chunk's ``usage`` where the server sends one (the door does;
    it joins the deltas that arrived together into one chunk), else one per content
    chunk (llama.cpp's server sends a token per chunk). The stream rate counts the
    tokens after the first chunk: how many the first chunk held is read off
    ``reference``, the direct answer's per-token texts (temperature 0: the same text).
    """
    started = time.perf_counter()
    first = last = 0.0
    pieces: list[str] = []
    usage: int | None = None
    stream = await client.chat.completions.create(
        model=MODEL_NAME, messages=MESSAGES, max_tokens=max_tokens, temperature=0, stream=True
    )
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage.completion_tokens
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            first = first or last
            pieces.append(chunk.choices[0].delta.content)
    tokens = len(pieces) if usage is None else usage
    leading = 1 if reference is None or not pieces else _leading_tokens(pieces[0], reference)
    after = tokens - leading
    streaming = after / (last - first) if after > 0 and last > first else 0.0
    return (first - started, tokens / (last - started), streaming, tokens), pieces


def _leading_tokens(text: str, reference: list[str]) -> int:
    """How many of the reference tokens make up ``text`` (a prefix of the answer)."""
    joined = ""
    for count, piece in enumerate(reference, start=1):
        joined += piece
        if joined == text:
            return count
        if len(joined) >= len(text):
            break
    raise SystemExit(f"the marketplace's answer does not start like the direct one: {text!r}")


async def measure(
    args: argparse.Namespace, llama_url: str, llama_pid: int, workdir: Path
) -> tuple[dict[str, list[Sample]], dict[str, dict[str, float]]]:
    with node_process(workdir) as (node_url, node):
        alice = await admin(node_url, "/v1/admin/principals", {"role": "client", "name": "a"})
        bob = await admin(node_url, "/v1/admin/principals", {"role": "miner", "name": "b"})
        await admin(
            node_url,
            "/v1/admin/faucet",
            {"account_id": alice["principal"]["id"], "amount": "10" * 9},
        )
        with miner_process(node_url, bob["api_key"], llama_url, args.output_interval) as miner:
            async with (
                openai.AsyncOpenAI(base_url=llama_url + "/v1", api_key="x") as direct,
                openai.AsyncOpenAI(base_url=node_url + "/v1", api_key=alice["api_key"]) as market,
            ):
                await wait_for_offer(market, miner)
                paths = {"direct": direct, "marketplace": market}
                for _ in range(2):  # warm-up: model loaded, connections open, code paths hot
                    _, reference = await one_stream(direct, args.max_tokens)
                    await one_stream(market, args.max_tokens, reference)
                pids = {"node": node.pid, "miner": miner.pid, "llama": llama_pid}
                samples: dict[str, list[Sample]] = {name: [] for name in paths}
                cpu = {name: dict.fromkeys([*pids, "client"], 0.0) for name in paths}
                for run in range(args.runs):
                    order = list(paths) if run % 2 == 0 else list(reversed(paths))
                    for name in order:
                        before = {p: cpu_seconds(pid) for p, pid in pids.items()}
                        client_before = time.process_time()  # this process only
                        sample, _ = await one_stream(paths[name], args.max_tokens, reference)
                        samples[name].append(sample)
                        cpu[name]["client"] += time.process_time() - client_before
                        for p, pid in pids.items():
                            cpu[name][p] += cpu_seconds(pid) - before[p]
    return samples, cpu


def report(
    samples: dict[str, list[Sample]], cpu: dict[str, dict[str, float]], args: argparse.Namespace
) -> None:
    med = {
        name: [statistics.median(s[i] for s in rows) for i in range(4)]
        for name, rows in samples.items()
    }
    interval = "default" if args.output_interval is None else f"{args.output_interval:g} s"
    print(
        f"streamed chat, max_tokens={args.max_tokens}, {args.runs} runs each (medians); "
        f"miner output interval {interval}"
    )
    print(f"{'path':<12} {'TTFT ms':>8} {'tok/s':>7} {'stream tok/s':>13} {'tokens':>7} "
          f"{'CPU ms/request: node':>21} {'miner':>6} {'llama':>6} {'client':>7}")  # fmt: skip
    for name, (ttft, rate, streaming, tokens) in med.items():
        per = {p: 1000 * c / args.runs for p, c in cpu[name].items()}
        print(f"{name:<12} {ttft * 1000:8.1f} {rate:7.1f} {streaming:13.1f} {tokens:7.0f} "
              f"{per['node']:21.1f} {per['miner']:6.1f} {per['llama']:6.1f} "
              f"{per['client']:7.1f}")  # fmt: skip
    d, m = med["direct"], med["marketplace"]
    print(
        f"marketplace vs direct: TTFT +{(m[0] - d[0]) * 1000:.1f} ms ({m[0] / d[0]:.2f}x); "
        f"tokens/s direct/marketplace {d[1] / m[1]:.2f} end to end, "
        f"{d[2] / m[2]:.2f} streaming (1.00 = no loss)"
    )
    # Each run sends the two requests back to back, so a pair shares the machine's load
    # of that moment: the spread of the per-run figures shows how far to trust a median.
    pairs = list(zip(samples["direct"], samples["marketplace"], strict=True))
    added = [(mk[0] - dr[0]) * 1000 for dr, mk in pairs]
    end_to_end = [dr[1] / mk[1] for dr, mk in pairs]
    streaming = [dr[2] / mk[2] for dr, mk in pairs if mk[2] > 0]
    print(
        "per run, median [p25-p75]: "
        f"TTFT +{_spread(added, '.1f')} ms; tokens/s direct/marketplace "
        f"{_spread(end_to_end, '.2f')} end to end, {_spread(streaming, '.2f')} streaming; "
        f"load average {args.load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    )


def _spread(values: list[float], fmt: str) -> str:
    """``median [p25-p75]`` of ``values``."""
    if len(values) < 2:
        return format(values[0], fmt) if values else "-"
    low, mid, high = statistics.quantiles(values, n=4)
    return f"{format(mid, fmt)} [{format(low, fmt)}-{format(high, fmt)}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", type=Path, default=None, help="a GGUF file (default: tiny)")
    parser.add_argument(
        "--output-interval",
        type=float,
        default=None,
        help="the miner's least seconds between output posts (default: the miner's)",
    )
    args = parser.parse_args()
    args.load_before = os.getloadavg()[0]
    if not llama_available():
        print("skipped: needs llama-cpp-python[server] and gguf (scripts/install_llama.sh)")
        return
    with tempfile.TemporaryDirectory(prefix="aitbc-bench-") as tmp:
        workdir = Path(tmp)
        model = args.model or write_tiny_llama(workdir / "tiny.gguf")
        with llama_server(model) as (llama_url, llama):
            samples, cpu = asyncio.run(measure(args, llama_url, llama.pid, workdir))
    report(samples, cpu, args)


if __name__ == "__main__":
    main()
