"""client.settlement over a CrossChainTransport, a stand-in node and the memory bridge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from aitbc import AITBCClient
from aitbc.api.settlement import Settlement
from aitbc.core.canonical import content_hash
from aitbc.core.receipts import attest, miner_claim, sign_receipt
from aitbc.core.signing import SigningKey
from aitbc.errors import (
    ConfigurationError,
    ReceiptVerificationError,
    SettlementValidationError,
    WaitTimeoutError,
)
from aitbc.transports.crosschain import CrossChainTransport
from aitbc.transports.http import HTTPTransport

from .memory_bridge import MemoryBridge, MemoryChains
from .receipts import RECIPIENT, make_receipt
from .standin_node import StandinNode, serve_standin

PAYOUT = "0x" + "cd" * 20


@pytest.fixture
async def node(coordinator_key: SigningKey) -> AsyncIterator[StandinNode]:
    async with serve_standin(StandinNode(coordinator_key)) as served:
        yield served


@pytest.fixture
async def client(
    node: StandinNode, tmp_path: Path, chains: MemoryChains
) -> AsyncIterator[AITBCClient]:
    transport = CrossChainTransport(
        {
            "chain_id": 1,
            "base_transport": {"type": "http", "base_url": node.url, "chain_id": 1},
            "storage": str(tmp_path / "s.db"),
            "adapters": {"memory": MemoryBridge(chains)},
            "poll_interval": 0.01,
        }
    )
    async with AITBCClient(transport) as connected:
        yield connected


async def test_settle_a_job_and_wait(
    client: AITBCClient, node: StandinNode, coordinator_key: SigningKey, chains: MemoryChains
) -> None:
    receipt = make_receipt(coordinator_key, price=2500)
    job_id = node.add_job(receipt)
    client.settlement.payout_addresses["prn_miner"] = PAYOUT
    quote = await client.settlement.estimate_cost(job_id, 2)
    assert quote.native_fee == 201_000 and quote.target_chain_id == 2
    settlement = await client.settlement.settle_cross_chain(
        job_id=job_id, target_chain_id=2, bridge_name="memory"
    )
    assert isinstance(settlement, Settlement) and settlement["status"] == "in_progress"
    done = await client.settlement.wait_for_settlement(
        settlement.message_id, timeout=10, poll_interval=0.01
    )
    assert done.status == "completed" and done.completed_at is not None
    sent = chains.packets[settlement.message_id].prepared.message
    assert sent.recipient == PAYOUT and sent.payment_amount == 2500
    assert sent.receipt_hash == content_hash(receipt) and sent.job_id == job_id
    again = await client.settlement.settle_cross_chain(job_id, 2)
    assert again.message_id == settlement.message_id and chains.sends == 1
    assert (await client.settlement.get_status(settlement.message_id)).status == "completed"


async def test_recipient_from_the_signed_result(
    client: AITBCClient, node: StandinNode, coordinator_key: SigningKey, chains: MemoryChains
) -> None:
    result = {"y": 2, "payout_address": PAYOUT}
    receipt = _receipt_with_output(coordinator_key, result)
    job_id = node.add_job(receipt, result)
    settlement = await client.settlement.settle_cross_chain(job_id, 2)
    assert chains.packets[settlement.message_id].prepared.message.recipient == PAYOUT


async def test_a_recipient_other_than_the_signed_payout_address_is_refused(
    client: AITBCClient, node: StandinNode, coordinator_key: SigningKey, chains: MemoryChains
) -> None:
    result = {"y": 2, "payout_address": PAYOUT}
    job_id = node.add_job(_receipt_with_output(coordinator_key, result), result)
    with pytest.raises(SettlementValidationError, match="wrong recipient"):
        await client.settlement.settle_cross_chain(job_id, 2, recipient=RECIPIENT)
    client.settlement.payout_addresses["prn_miner"] = RECIPIENT
    with pytest.raises(SettlementValidationError, match="wrong recipient"):
        await client.settlement.settle_cross_chain(job_id, 2)
    assert chains.sends == 0  # refused before anything was sent


async def test_payout_address_not_covered_by_the_receipt_is_ignored(
    client: AITBCClient, node: StandinNode, coordinator_key: SigningKey, chains: MemoryChains
) -> None:
    receipt = make_receipt(coordinator_key)  # output hash of {"y": 2}
    job_id = node.add_job(receipt, {"y": 2, "payout_address": PAYOUT})
    with pytest.raises(SettlementValidationError, match="no payout address"):
        await client.settlement.settle_cross_chain(job_id, 2)
    explicit = await client.settlement.settle_cross_chain(job_id, 2, recipient=RECIPIENT)
    assert chains.packets[explicit.message_id].prepared.message.recipient == RECIPIENT


async def test_receipt_not_signed_by_the_node_is_refused(
    client: AITBCClient, node: StandinNode, chains: MemoryChains
) -> None:
    job_id = node.add_job(make_receipt(SigningKey.generate()))
    with pytest.raises(ReceiptVerificationError):
        await client.settlement.settle_cross_chain(job_id, 2, recipient=RECIPIENT)
    assert chains.sends == 0


async def test_retry_refund_and_wait_deadline(
    client: AITBCClient, node: StandinNode, coordinator_key: SigningKey, chains: MemoryChains
) -> None:
    chains.drop = True
    job_id = node.add_job(make_receipt(coordinator_key))
    settlement = await client.settlement.settle_cross_chain(job_id, 2, recipient=RECIPIENT)
    with pytest.raises(WaitTimeoutError):
        await client.settlement.wait_for_settlement(
            settlement.message_id, timeout=0.05, poll_interval=0.01
        )
    chains.refund_timeout_passed = True
    refunded = await client.settlement.refund(settlement.message_id)
    assert refunded.status == "refunded"
    with pytest.raises(ConfigurationError):
        await client.settlement.wait_for_settlement(settlement.message_id, timeout=float("inf"))

    chains.drop, chains.receiver_reverts = False, True
    other = await client.settlement.settle_cross_chain(
        node.add_job(make_receipt(coordinator_key)), 2, recipient=RECIPIENT
    )
    failed = await client.settlement.wait_for_settlement(
        other.message_id, timeout=10, poll_interval=0.01
    )
    assert failed.status == "failed"
    chains.receiver_reverts = False
    assert (
        await client.settlement.retry(other.message_id, gas_limit=300_000)
    ).status == "completed"


async def test_plain_http_transport_cannot_settle(
    node: StandinNode, coordinator_key: SigningKey
) -> None:
    job_id = node.add_job(make_receipt(coordinator_key))
    async with AITBCClient(HTTPTransport({"base_url": node.url, "chain_id": 1})) as client:
        with pytest.raises(ConfigurationError, match="crosschain transport"):
            await client.settlement.settle_cross_chain(job_id, 2, recipient=RECIPIENT)


def _receipt_with_output(coordinator: SigningKey, result: Any) -> dict[str, Any]:
    receipt = make_receipt(coordinator)
    body = {k: v for k, v in receipt.items() if k not in ("signature", "attestations")}
    body["output_hash"] = content_hash(result)
    miner = SigningKey.generate()
    body["miner_key"] = miner.verify_key.b64
    body["attestations"] = [attest(miner, miner_claim(body))]
    return sign_receipt(coordinator, body)


async def test_multi_network_routes_by_chain_id(
    coordinator_key: SigningKey, tmp_path: Path, node: StandinNode
) -> None:
    chains = MemoryChains(chains={5, 2})
    async with serve_standin(StandinNode(coordinator_key, chain_id=5)) as other:
        job_id = other.add_job(make_receipt(coordinator_key, chain_id=5))
        config = {
            "networks": {
                "main": {"type": "http", "chain_id": 1, "base_url": node.url, "default": True},
                "side": {
                    "type": "crosschain",
                    "chain_id": 5,
                    "base_transport": {"type": "http", "base_url": other.url, "chain_id": 5},
                    "storage": str(tmp_path / "side.db"),
                    "adapters": {"memory": MemoryBridge(chains)},
                },
            }
        }
        async with AITBCClient(config, multi_network=True) as client:
            main_job = node.add_job(make_receipt(coordinator_key))  # default network: http
            with pytest.raises(ConfigurationError, match="crosschain transport"):
                await client.settlement.settle_cross_chain(
                    main_job, 2, chain_id=1, recipient=RECIPIENT
                )
            sent = await client.settlement.settle_cross_chain(
                job_id, 2, chain_id=5, recipient=RECIPIENT
            )
            status = await client.settlement.get_status(sent.message_id, chain_id=5)
            assert status.message_id == sent.message_id and chains.sends == 1
            assert chains.packets[sent.message_id].prepared.message.source_chain_id == 5


async def test_bad_arguments_are_configuration_errors(client: AITBCClient) -> None:
    with pytest.raises(ConfigurationError, match="target_chain_id"):
        await client.settlement.settle_cross_chain("job_x", "42161")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="message_id"):
        await client.settlement.get_status("")
    with pytest.raises(ConfigurationError, match="poll_interval"):
        await client.settlement.wait_for_settlement("0x1", timeout=1, poll_interval=0)
