"""Every script in examples/ runs to success against a local stack, and what it says
happened did happen (checked on the nodes and chains afterwards)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aitbc import AITBCClient, HTTPTransport

from .conftest import funded_client, run_example, running_miner


def _client(node: Any, key: str) -> AITBCClient:
    return AITBCClient(HTTPTransport({"base_url": node.url, "default_headers": {"X-API-Key": key}}))


async def test_single_network_http(node: Any, tmp_path: Path) -> None:
    _, key = await funded_client(node)
    async with running_miner(node) as miner:
        env = {"AITBC_NODE_URL": node.url, "AITBC_API_KEY": key}
        ran = await run_example("single_network_http.py", env=env, cwd=tmp_path)
    assert ran.exit_code == 0, ran.stderr
    job_id = re.search(r"created (job_\w+)", ran.stdout)
    assert job_id and f"job {job_id[1]} COMPLETED by {miner.miner_id}" in ran.stdout
    assert re.search(r"receipt rcpt_\w+ verified", ran.stdout)
    assert "balance: 9900 (escrowed 0)" in ran.stdout
    async with _client(node, key) as client:  # the node agrees
        assert (await client.jobs.get(job_id[1])).state == "COMPLETED"


async def test_single_network_http_without_key_or_node(tmp_path: Path) -> None:
    no_key = await run_example("single_network_http.py", env={}, cwd=tmp_path)
    assert no_key.exit_code == 1 and "AITBC_API_KEY" in no_key.stderr
    down = await run_example(
        "single_network_http.py",
        "--node",
        "http://127.0.0.1:9",
        "--api-key",
        "k",
        env={},
        cwd=tmp_path,
    )
    assert down.exit_code == 1 and down.stderr.startswith("error:")
    assert "Traceback" not in down.stderr


async def test_realtime_websocket(node: Any, tmp_path: Path) -> None:
    _, key = await funded_client(node)
    async with running_miner(node):
        env = {"AITBC_NODE_URL": node.url, "AITBC_API_KEY": key}
        ran = await run_example("realtime_websocket.py", "--jobs", "3", env=env, cwd=tmp_path)
    assert ran.exit_code == 0, ran.stderr
    assert "3/3 jobs completed" in ran.stdout
    job_ids = set(re.findall(r"(job_\w+) seq=\d+ job.completed -> COMPLETED", ran.stdout))
    assert len(job_ids) == 3
    for job_id in job_ids:  # every job's stream started at its first event
        assert f"{job_id} seq=1 job.created -> QUEUED" in ran.stdout


@pytest.mark.evm
async def test_multi_network_with_settlement(
    node_factory: Any, devnet: Any, tmp_path: Path
) -> None:
    ethereum = await node_factory(chain_id=1)
    polygon = await node_factory(chain_id=137)
    arbitrum = await node_factory(chain_id=42161)
    keys = [(await funded_client(n))[1] for n in (ethereum, polygon, arbitrum)]
    config = tmp_path / "devnet.json"
    devnet.config.write(config)
    payout = "0x" + secrets.token_hex(20)
    async with running_miner(ethereum), running_miner(polygon):
        env = {
            "AITBC_ETHEREUM_URL": ethereum.url,
            "AITBC_ETHEREUM_KEY": keys[0],
            "AITBC_POLYGON_URL": polygon.url,
            "AITBC_POLYGON_KEY": keys[1],
            "AITBC_ARBITRUM_URL": arbitrum.url,
            "AITBC_ARBITRUM_KEY": keys[2],
            "AITBC_DEVNET_CONFIG": str(config),
            "AITBC_PAYOUT_ADDRESS": payout,
        }
        ran = await run_example("multi_network.py", env=env, cwd=tmp_path)
    assert ran.exit_code == 0, ran.stderr
    assert "chain 137: " in ran.stdout and "balance 9930" in ran.stdout
    assert "chain 1: " in ran.stdout and "balance 9950" in ran.stdout
    assert "a chain-137 receipt is refused on chain 1" in ran.stdout
    assert "on chain 42161 via layerzero: completed" in ran.stdout
    # the polygon job's price reached the miner's payout address on chain 42161
    assert await _balance(devnet, 42161, payout) == 70


async def test_multi_network_refuses_a_node_on_the_wrong_chain(
    node_factory: Any, tmp_path: Path
) -> None:
    ethereum = await node_factory(chain_id=1)
    _, key = await funded_client(ethereum)
    env = {
        "AITBC_ETHEREUM_URL": ethereum.url,
        "AITBC_ETHEREUM_KEY": key,
        "AITBC_POLYGON_URL": ethereum.url,
        "AITBC_POLYGON_KEY": key,
    }
    ran = await run_example("multi_network.py", env=env, cwd=tmp_path)
    assert ran.exit_code == 1 and "137" in ran.stderr and "Traceback" not in ran.stderr


@pytest.fixture(scope="module")
def devnet() -> Iterator[Any]:
    """The py-evm devnet, chains 1, 137 and 42161, for this module."""
    pytest.importorskip("eth_tester", reason="the py-evm devnet needs the evm extra")
    from aitbc.devnet import BackgroundDevnet

    with BackgroundDevnet([1, 137, 42161]) as running:
        yield running


@pytest.mark.evm
async def test_cross_chain_settlement(node: Any, devnet: Any, tmp_path: Path) -> None:
    bridge = "ccip"  # one bridge keeps the suite fast; tests/cli/test_settle.py drives both
    config = tmp_path / "devnet.json"
    devnet.config.write(config)
    payout = "0x" + secrets.token_hex(20)
    _, key = await funded_client(node)
    async with running_miner(node):
        env = {
            "AITBC_NODE_URL": node.url,
            "AITBC_API_KEY": key,
            "AITBC_DEVNET_CONFIG": str(config),
            "AITBC_PAYOUT_ADDRESS": payout,
        }
        ran = await run_example(
            "cross_chain_settlement.py", "--bridge", bridge, env=env, cwd=tmp_path
        )
    assert ran.exit_code == 0, ran.stderr
    assert f"via {bridge}" in ran.stdout and "settlement completed" in ran.stdout
    assert (tmp_path / "settlements.db").is_file()
    # the miner's payout address was paid the job's price on the target chain
    assert await _balance(devnet, 42161, payout) == 250


async def _balance(devnet: Any, chain_id: int, address: str) -> int:
    from aitbc.settlement.bridges._evm import close_web3, open_web3

    w3 = open_web3(devnet.config.chain(chain_id).rpc_url)
    try:
        return int(await w3.eth.get_balance(w3.to_checksum_address(address)))
    finally:
        await close_web3(w3)
