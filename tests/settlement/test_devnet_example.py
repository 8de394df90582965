"""The seed's "Cross-Chain Settlement" example, end to end on real parts: a node (chain 1),
a miner, AITBCClient over CrossChainTransport, and both bridges on the py-evm devnet
(chains 1 → 42161), loaded through the ``aitbc.bridges`` entry points from config."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address

from aitbc import AITBCClient
from aitbc.transports.crosschain import CrossChainTransport

from .devnet_steps import REFUND_TIMEOUT_S, SOURCE, TARGET, harness_for
from .marketplace import client_and_miner_keys, running_miner

pytestmark = pytest.mark.evm


def _transport(node: Any, client_key: str, devnet: Any, storage: Path) -> CrossChainTransport:
    bridge = devnet.config.bridge_config("payer", refund_timeout_s=REFUND_TIMEOUT_S)
    return CrossChainTransport(
        {
            "chain_id": SOURCE,
            "base_transport": {
                "type": "http",
                "base_url": node.url,
                "chain_id": SOURCE,
                "default_headers": {"X-API-Key": client_key},
            },
            "bridges": {"layerzero": {"enabled": True, **bridge}, "chainlink": bridge},
            "storage": str(storage),
            "poll_interval": 0.05,
        }
    )


async def test_seed_cross_chain_settlement_example(
    node_factory: Any, devnet: Any, tmp_path: Path
) -> None:
    node = await node_factory(chain_id=SOURCE)
    client_key, miner_key = await client_and_miner_keys(node)
    payout = to_checksum_address("0x" + secrets.token_hex(20))  # fresh target-chain account
    transport = _transport(node, client_key, devnet, tmp_path / "settlements.db")
    async with running_miner(node.url, miner_key) as miner, AITBCClient(transport) as client:
        client.settlement.payout_addresses[miner.miner_id or ""] = payout
        for bridge_name, price in (("layerzero", 300), ("chainlink", 200)):
            # --- the seed's example (job fields in the node's schema) ---
            job = await client.jobs.create(
                {
                    "job_type": "echo",
                    "payload": {"name": "cross-chain-ai-job", "target_chain": TARGET},
                    "price": price,
                }
            )
            result = await client.jobs.wait_for_completion(job["id"], timeout=30)
            quote = await client.settlement.estimate_cost(job["id"], TARGET, bridge_name)
            settlement = await client.settlement.settle_cross_chain(
                job_id=job["id"], target_chain_id=TARGET, bridge_name=bridge_name
            )
            status = await client.settlement.get_status(settlement["message_id"])
            # ---
            assert result["state"] == "COMPLETED" and quote.native_fee > 0
            assert status["status"] in ("in_progress", "completed")
            done = await client.settlement.wait_for_settlement(
                settlement["message_id"], timeout=60, poll_interval=0.05
            )
            assert done["status"] == "completed", done  # the record says why if not
            assert done.fee_paid == quote.native_fee
        prepared = await transport.bridge_manager.get_prepared(settlement["message_id"])
        paid = await harness_for(devnet, "ccip").recipient_balance(prepared.message)
        assert paid == 300 + 200  # both settlements reached the miner's payout address
