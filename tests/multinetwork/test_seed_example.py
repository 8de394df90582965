"""The seed's "Multi-Network Configuration" example, run against three real nodes.

The config is the seed's, with its URLs pointed at the local nodes; what a local run needs
on top is added after it, separately: API keys, a settlement store path, and in-memory
bridge adapters registered under the seed's bridge names (the devnet-backed adapters are
exercised by the settlement tests). A miner completes the job before it is settled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aitbc import AITBCClient, HTTPTransport
from aitbc.transports.crosschain import CrossChainTransport
from sdk.nodekit import ECHO_JOB, EchoMiner
from settlement.memory_bridge import MemoryBridge, MemoryChains

from .networks import Net

PAYOUT = "0x" + "cd" * 20


def seed_config(eth: str, polygon: str, arbitrum: str) -> dict[str, Any]:
    # --- the seed's config, as written (URLs -> local nodes) ---
    config = {
        "networks": {
            "ethereum": {"type": "http", "chain_id": 1, "base_url": eth, "default": True},
            "polygon": {"type": "http", "chain_id": 137, "base_url": polygon},
            "arbitrum": {
                "type": "crosschain",
                "chain_id": 42161,
                "base_transport": HTTPTransport({"base_url": arbitrum}),
                "bridges": {"layerzero": {"enabled": True}, "chainlink": {"enabled": True}},
            },
        }
    }
    # ---
    return config


def for_local_run(
    config: dict[str, Any], nets: dict[str, Net], tmp_path: Path, chains: MemoryChains
) -> None:
    networks = config["networks"]
    for name, net in nets.items():
        headers = {"X-API-Key": net.parties.client_key}
        if name == "arbitrum":
            networks[name]["base_transport"].default_headers.update(headers)
        else:
            networks[name]["default_headers"] = headers
    networks["arbitrum"]["storage"] = str(tmp_path / "settlements.db")
    networks["arbitrum"]["adapters"] = {
        "layerzero": MemoryBridge(chains),
        "chainlink": MemoryBridge(chains),
    }
    networks["arbitrum"]["poll_interval"] = 0.02


async def test_multi_network_configuration_example(nets: dict[str, Net], tmp_path: Path) -> None:
    chains = MemoryChains(chains={1, 137, 42161})
    config = seed_config(*(nets[n].node.url for n in ("ethereum", "polygon", "arbitrum")))
    for_local_run(config, nets, tmp_path, chains)
    polygon = nets["polygon"]
    async with EchoMiner(polygon.parties) as miner:
        # --- the seed's example ---
        client = AITBCClient(config, multi_network=True)
        await client.connect()
        try:
            # Create job on specific network
            job = await client.jobs.create(ECHO_JOB, chain_id=137)
            # (local run: a miner completes it, the client names the payee)
            await miner.complete_one()
            await client.jobs.wait_for_completion(job["id"], chain_id=137, timeout=30)
            client.settlement.payout_addresses[polygon.parties.miner_id] = PAYOUT
            # Settle across chains
            settlement = await client.settlement.settle_cross_chain(
                job_id=job["id"], target_chain_id=42161, bridge_name="layerzero"
            )
            # ---
            await check_settled(client, chains, settlement["message_id"], job["id"])
        finally:
            await client.disconnect()


async def check_settled(
    client: AITBCClient, chains: MemoryChains, message_id: str, job_id: str
) -> None:
    multi = client.multi_network_client
    assert multi is not None
    assert isinstance(multi.get_transport(42161), CrossChainTransport)
    assert multi.networks[42161].bridges == ["layerzero", "chainlink"]
    done = await client.settlement.wait_for_settlement(message_id, timeout=30, poll_interval=0.02)
    assert done["status"] == "completed"  # get_status without chain_id: the settling network
    sent = chains.packets[message_id].prepared.message
    assert (sent.source_chain_id, sent.target_chain_id) == (137, 42161)
    assert sent.job_id == job_id and sent.payment_amount == 100 and sent.recipient == PAYOUT
    receipt = (await client.jobs.result(job_id, chain_id=137)).receipt
    assert await client.receipts.verify(receipt)
