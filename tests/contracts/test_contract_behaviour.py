"""The contracts on one py-evm chain, called directly: fees, refunds, ids and access rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

pytest.importorskip("eth_tester", reason="needs the evm extra")

from eth_abi.abi import encode
from eth_account import Account

from aitbc.devnet import DEV_KEYS
from aitbc.devnet.deploy import deploy_contract
from aitbc.devnet.pyevm_rpc import JsonRpcServer, PyEvmChain
from aitbc.errors import BridgeTransactionError
from aitbc.settlement.bridges._codec import (
    address_to_bytes32,
    ccip_message_id,
    encode_generic_extra_args_v2,
    encode_lz_receive_option,
    lz_guid,
)
from aitbc.settlement.bridges._evm import TxSender, Web3Client, guarded, web3_session

CHAIN_ID = 8453
EID, SELECTOR, OTHER_EID, OTHER_SELECTOR = 30184, 15971525489660198786, 30101, 5009297550715157269
LZ_FEES = (10**13, 10**9, 10**10)


class Chain:
    def __init__(self, w3: Web3Client) -> None:
        self.w3 = w3
        self.owner = TxSender(w3, DEV_KEYS["deployer"], CHAIN_ID)
        self.user = TxSender(w3, DEV_KEYS["user"], CHAIN_ID)
        self.relayer = TxSender(w3, DEV_KEYS["relayer"], CHAIN_ID)

    async def deploy(self, name: str, *args: Any) -> Any:
        from aitbc.contracts import load_artifact

        address = await deploy_contract(self.owner, name, *args)
        return self.w3.eth.contract(address=address, abi=load_artifact(name).abi)  # type: ignore[call-overload]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chain() -> AsyncIterator[Chain]:
    server = JsonRpcServer(PyEvmChain(CHAIN_ID, list(DEV_KEYS.values())))
    url = await server.start()
    async with web3_session(url) as w3:
        yield Chain(w3)
    await server.stop()


pytestmark = [pytest.mark.evm, pytest.mark.asyncio(loop_scope="module")]


async def test_endpoint_quotes_underpay_reverts_overpay_is_refunded(chain: Chain) -> None:
    endpoint = await chain.deploy("MockLayerZeroEndpoint", EID, chain.relayer.address, *LZ_FEES)
    receiver = address_to_bytes32("0x" + "22" * 20)
    params = (OTHER_EID, receiver, b"hello", encode_lz_receive_option(100_000), False)
    fee = (await endpoint.functions.quote(params, chain.user.address).call())[0]
    assert fee == 10**13 + 100_000 * 10**9 + 5 * 10**10
    send = endpoint.functions.send(params, chain.user.address)
    with pytest.raises(BridgeTransactionError, match="LZ_InsufficientFee"):
        await chain.user.transact("send", send, value=fee - 1, abi=endpoint.abi)
    refund_to = Account.create().address
    outcome = await chain.user.transact(
        "send", endpoint.functions.send(params, refund_to), value=fee + 12345
    )
    assert await chain.w3.eth.get_balance(refund_to) == 12345
    assert await chain.w3.eth.get_balance(endpoint.address) == fee
    (event,) = endpoint.events.PacketSent().process_receipt(
        await chain.w3.eth.get_transaction_receipt(outcome.tx_hash)
    )  # type: ignore[arg-type]
    packet = bytes(event["args"]["encodedPayload"])
    expected = lz_guid(1, EID, address_to_bytes32(chain.user.address), OTHER_EID, receiver)
    assert packet[81:113] == expected and packet[113:] == b"hello"


async def test_endpoint_refuses_bad_options_and_lz_token(chain: Chain) -> None:
    endpoint = await chain.deploy("MockLayerZeroEndpoint", EID, chain.relayer.address, *LZ_FEES)
    receiver = address_to_bytes32("0x" + "22" * 20)
    for options, error in (
        (b"\x00\x01", "LZ_InvalidOptions"),
        (encode_lz_receive_option(0), "LZ_ZeroLzReceiveGas"),
    ):
        with pytest.raises(BridgeTransactionError, match=error):
            call = endpoint.functions.quote(
                (OTHER_EID, receiver, b"", options, False), chain.user.address
            )
            await guarded("quote", call.call(), endpoint.abi)
    with pytest.raises(BridgeTransactionError, match="LZ_LzTokenUnavailable"):
        call = endpoint.functions.quote(
            (OTHER_EID, receiver, b"", encode_lz_receive_option(1), True), chain.user.address
        )
        await guarded("quote", call.call(), endpoint.abi)


async def test_only_the_verifier_verifies(chain: Chain) -> None:
    endpoint = await chain.deploy("MockLayerZeroEndpoint", EID, chain.relayer.address, *LZ_FEES)
    origin = (OTHER_EID, address_to_bytes32(chain.user.address), 1)
    verify = endpoint.functions.verify(origin, chain.user.address, b"\x01" * 32)
    with pytest.raises(BridgeTransactionError, match="LZ_Unauthorized"):
        await chain.user.transact("verify", verify, abi=endpoint.abi)
    await chain.relayer.transact("verify", verify)
    assert await endpoint.functions.executable(origin, chain.user.address).call() == 2


async def test_router_keeps_the_whole_payment_and_previews_ids(chain: Chain) -> None:
    router = await chain.deploy(
        "MockCCIPRouter", SELECTOR, chain.relayer.address, 2 * 10**13, 10**9, 10**10
    )
    receiver = encode(["address"], ["0x" + "33" * 20])
    message = (receiver, b"data", [], "0x" + "00" * 20, b"")
    fee = await router.functions.getFee(OTHER_SELECTOR, message).call()
    assert fee == 2 * 10**13 + 200_000 * 10**9 + 4 * 10**10  # empty extraArgs: 200k gas
    v2 = (receiver, b"data", [], "0x" + "00" * 20, encode_generic_extra_args_v2(50_000, True))
    assert (
        await router.functions.getFee(OTHER_SELECTOR, v2).call()
        == 2 * 10**13 + 50_000 * 10**9 + 4 * 10**10
    )
    preview = bytes(
        await router.functions.previewMessageId(OTHER_SELECTOR, chain.user.address, v2).call()
    )
    assert preview == ccip_message_id(
        SELECTOR, OTHER_SELECTOR, 1, chain.user.address, receiver, b"data", 50_000
    )
    await chain.user.transact(
        "ccipSend", router.functions.ccipSend(OTHER_SELECTOR, v2), value=fee * 3
    )
    assert await chain.w3.eth.get_balance(router.address) == fee * 3
    bad = (receiver, b"", [], "0x" + "00" * 20, b"\xde\xad\xbe\xef")
    with pytest.raises(BridgeTransactionError, match="CCIP_InvalidExtraArgsTag"):
        await guarded("getFee", router.functions.getFee(OTHER_SELECTOR, bad).call(), router.abi)
    with pytest.raises(BridgeTransactionError, match="CCIP_UnsupportedDestinationChain"):
        await guarded("getFee", router.functions.getFee(SELECTOR, message).call(), router.abi)


async def test_destination_accepts_only_its_endpoint_and_router(chain: Chain) -> None:
    destination = await chain.deploy(
        "AitbcSettlementDestination", chain.relayer.address, chain.relayer.address
    )
    payload = encode(
        ["bytes32", "address", "uint256", "uint64"], [b"\x01" * 32, chain.user.address, 1, 2**63]
    )
    origin = (OTHER_EID, address_to_bytes32(chain.user.address), 1)
    call = destination.functions.lzReceive(origin, b"\x02" * 32, payload, chain.user.address, b"")
    with pytest.raises(BridgeTransactionError, match="Unauthorized"):
        await chain.user.transact("lzReceive", call, abi=destination.abi)
    with pytest.raises(BridgeTransactionError, match="UnknownPeer"):
        await chain.relayer.transact("lzReceive", call, abi=destination.abi)
    assert await destination.functions.allowInitializePath(origin).call() is False


async def test_source_refunds_only_after_the_deadline_and_only_acknowledger_acks(
    chain: Chain,
) -> None:
    source = await chain.deploy(
        "AitbcSettlementSource",
        chain.relayer.address,
        chain.relayer.address,
        chain.relayer.address,
        3600,
        2,
    )
    unknown = b"\x05" * 32
    with pytest.raises(BridgeTransactionError, match="UnknownSettlement"):
        await chain.user.transact("refund", source.functions.refund(unknown), abi=source.abi)
    with pytest.raises(BridgeTransactionError, match="Unauthorized"):
        await chain.user.transact(
            "acknowledge", source.functions.acknowledge(unknown), abi=source.abi
        )
