"""One AITBCClient over three real nodes on chains 1, 137 and 42161: every call goes to, and
every answer comes from, the node of the chain it names."""

from __future__ import annotations

import pytest

from aitbc import AITBCClient
from aitbc.core.receipts import sign_receipt
from aitbc.core.signing import SigningKey
from aitbc.errors import ConfigurationError, NotFoundError, ReceiptVerificationError
from sdk.nodekit import ECHO_JOB, EchoMiner

from .networks import Net, networks_config


async def test_jobs_go_to_the_node_of_their_chain(nets: dict[str, Net]) -> None:
    async with AITBCClient(networks_config(nets), multi_network=True) as client:
        job = await client.jobs.create(ECHO_JOB, chain_id=137)
        assert (await client.jobs.get(job.id, chain_id=137)).state == "QUEUED"
        for other in (1, 42161):
            with pytest.raises(NotFoundError):
                await client.jobs.get(job.id, chain_id=other)
        # Without chain_id: the network this client created it on, not the default.
        assert (await client.jobs.get(job.id)).id == job.id
    async with AITBCClient(networks_config(nets), multi_network=True) as stranger:
        with pytest.raises(NotFoundError):  # not created here: the default (ethereum)
            await stranger.jobs.get(job.id)
    async with AITBCClient(networks_config(nets), multi_network=True) as client:
        listed = {n: [j.id async for j in client.jobs.list(chain_id=c)] for n, c in _chains(nets)}
        assert listed == {"ethereum": [], "polygon": [job.id], "arbitrum": []}
        canceled = await client.jobs.cancel(job.id, chain_id=137)
        assert canceled.state == "CANCELED"


async def test_balances_come_from_each_node(nets: dict[str, Net]) -> None:
    async with AITBCClient(networks_config(nets), multi_network=True) as client:
        await client.jobs.create(ECHO_JOB, chain_id=42161)  # escrows 100 on arbitrum only
        balances = {n: await client.wallet.balance(chain_id=c) for n, c in _chains(nets)}
        assert {n: (b.balance, b.escrowed) for n, b in balances.items()} == {
            "ethereum": (1_000, 0),
            "polygon": (2_000, 0),
            "arbitrum": (2_900, 100),
        }
        assert {b.account_id for b in balances.values()} == {
            net.parties.client_id for net in nets.values()
        }
        assert (await client.wallet.balance()).balance == 1_000  # default: ethereum
        stats = {n: await client.marketplace.stats(chain_id=c) for n, c in _chains(nets)}
        assert len(stats) == 3
        with pytest.raises(ConfigurationError, match=r"chain 5 is not configured.*polygon"):
            await client.wallet.balance(chain_id=5)


async def test_receipts_verify_only_against_the_issuing_node(nets: dict[str, Net]) -> None:
    polygon = nets["polygon"]
    async with (
        AITBCClient(networks_config(nets), multi_network=True) as client,
        EchoMiner(polygon.parties) as miner,
    ):
        job = await client.jobs.create(ECHO_JOB, chain_id=137)
        await miner.complete_one()
        result = await client.jobs.result(job.id, chain_id=137)
        receipt = result.receipt
        assert receipt.chain_id == 137
        assert await client.receipts.verify(receipt)  # its own chain picks polygon's keys
        assert await client.receipts.verify(receipt, chain_id=137)
        fetched = await client.receipts.get(receipt.receipt_id, chain_id=137)
        assert await client.receipts.verify(fetched)
        with pytest.raises(NotFoundError):
            await client.receipts.get(receipt.receipt_id, chain_id=1)
        for other in (1, 42161):  # presented as another chain's: other keys, other chain
            with pytest.raises(ReceiptVerificationError):
                await client.receipts.verify(receipt, chain_id=other)
        relabeled = {**receipt.to_wire(), "chain_id": 1}
        with pytest.raises(ReceiptVerificationError):
            await client.receipts.verify(relabeled)  # chain 1's keys never signed it
        forged = sign_receipt(SigningKey.generate(), receipt.to_wire())
        with pytest.raises(ReceiptVerificationError):
            await client.receipts.verify(forged)
        unknown = {**receipt.to_wire(), "chain_id": 5}
        with pytest.raises(ReceiptVerificationError, match=r"chain 5.*configured"):
            await client.receipts.verify(unknown)


async def test_default_network_and_lazy_first_call(nets: dict[str, Net]) -> None:
    client = AITBCClient(networks_config(nets, default="arbitrum"), multi_network=True)
    try:  # no connect(): the first call on each network connects and checks it
        assert (await client.wallet.balance()).balance == 3_000
        assert (await client.node_info(137)).chain_id == 137
    finally:
        await client.disconnect()
    assert client.multi_network_client is not None
    assert not any(n.transport.is_connected for n in client.multi_network_client.networks.values())


def _chains(nets: dict[str, Net]) -> list[tuple[str, int]]:
    return [(name, net.chain_id) for name, net in nets.items()]


async def test_networks_of_different_transport_types(nets: dict[str, Net]) -> None:
    config = networks_config(nets)
    polygon = nets["polygon"]
    config["networks"]["polygon"] = {
        "type": "websocket",
        "chain_id": 137,
        "ws_url": polygon.node.ws_url,
        "api_key": polygon.parties.client_key,
    }
    async with AITBCClient(config, multi_network=True) as client:
        assert client.multi_network_client is not None
        kinds = {
            n.name: type(n.transport).__name__
            for n in client.multi_network_client.networks.values()
        }
        assert kinds == {
            "ethereum": "HTTPTransport",
            "polygon": "WebSocketTransport",
            "arbitrum": "HTTPTransport",
        }
        job = await client.jobs.create(ECHO_JOB, chain_id=137)  # over the WebSocket
        assert (await client.wallet.balance(chain_id=137)).escrowed == 100
    async with AITBCClient(nets["polygon"].config()) as over_http:
        assert (await over_http.jobs.get(job.id)).id == job.id  # it is on the 137 node
