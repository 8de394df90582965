"""The contracts on one py-evm chain, called directly: fees, refunds, ids and access rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

pytest.importorskip("eth_tester", reason="needs the evm extra")

from eth_abi.abi import encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from aitbc.devnet import DEV_KEYS
from aitbc.devnet.deploy import deploy_contract
from aitbc.devnet.pyevm_rpc import JsonRpcServer, PyEvmChain
from aitbc.errors import BridgeTransactionError
from aitbc.settlement.bridges._codec import (
    address_to_bytes32,
    encode_lz_receive_option,
    lz_guid,
)
from aitbc.settlement.bridges._evm import TxSender, Web3Client, guarded, web3_session

CHAIN_ID = 8453
EID, SELECTOR, OTHER_EID, OTHER_SELECTOR = 30184, 15971525489660198786, 30101, 5009297550715157269
LZ_FEES = (10**13, 10**9, 10**10)
LP = to_checksum_address("0x" + "1f" * 20)
PAYER, STRANGER = to_checksum_address("0x" + "a1" * 20), to_checksum_address("0x" + "b2" * 20)
VERIFIED_NOT_EXECUTABLE, EXECUTABLE, EXECUTED = 1, 2, 3


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


class Destination:
    """Endpoint + router + our destination on one chain, a fake peer source on OTHER_EID."""

    def __init__(self, chain: Chain, endpoint: Any, destination: Any) -> None:
        self.chain, self.endpoint, self.destination = chain, endpoint, destination
        self.peer = address_to_bytes32(chain.user.address)

    def order(
        self, payer: str, receipt: bytes, recipient: str, amount: int, deadline: int
    ) -> bytes:
        return encode(
            ["address", "bytes32", "address", "uint256", "uint64"],
            [payer, receipt, recipient, amount, deadline],
        )

    async def deliver(self, nonce: int, message: bytes, *, verify: bool = True) -> Any:
        origin = (OTHER_EID, self.peer, nonce)
        guid = keccak(nonce.to_bytes(8, "big"))
        if verify:
            verify_call = self.endpoint.functions.verify(
                origin, self.destination.address, keccak(guid + message)
            )
            await self.chain.relayer.transact("verify", verify_call)
        return origin, guid

    async def execute(self, origin: Any, guid: bytes, message: bytes) -> None:
        call = self.endpoint.functions.lzReceive(
            origin, self.destination.address, guid, message, b""
        )
        await self.chain.relayer.transact(
            "lzReceive", call, gas=400_000, abi=[*self.endpoint.abi, *self.destination.abi]
        )

    async def state(self, origin: Any) -> int:
        return int(
            await self.endpoint.functions.executable(origin, self.destination.address).call()
        )

    async def now(self) -> int:
        return int((await self.chain.w3.eth.get_block("latest"))["timestamp"])


@pytest_asyncio.fixture(loop_scope="module")
async def dst(chain: Chain) -> Destination:
    endpoint = await chain.deploy("MockLayerZeroEndpoint", EID, chain.relayer.address, *LZ_FEES)
    router = await chain.deploy("MockCCIPRouter", SELECTOR, *LZ_FEES)
    destination = await chain.deploy(
        "AitbcSettlementDestination", endpoint.address, router.address, chain.owner.address, LP
    )
    d = Destination(chain, endpoint, destination)
    await chain.owner.transact("setLzPeer", destination.functions.setLzPeer(OTHER_EID, d.peer))
    await chain.owner.transfer(destination.address, 10**18, action="fund pool")
    return d


async def _balance(chain: Chain, address: str) -> int:
    return int(await chain.w3.eth.get_balance(address))  # type: ignore[arg-type]


async def test_endpoint_orders_execution_and_the_delegate_skips_a_lost_nonce(
    dst: Destination,
) -> None:
    recipient = Account.create().address
    message = dst.order(PAYER, b"\x01" * 32, recipient, 1000, await dst.now() + 600)
    # nonce 1 is never verified (a lost message): nonce 2 is verified but blocked
    origin, guid = await dst.deliver(2, message)
    assert await dst.state(origin) == VERIFIED_NOT_EXECUTABLE
    with pytest.raises(BridgeTransactionError):
        await dst.execute(origin, guid, message)
    assert (
        await dst.endpoint.functions.inboundNonce(
            dst.destination.address, OTHER_EID, dst.peer
        ).call()
        == 0
    )
    skip = dst.endpoint.functions.skip(dst.destination.address, OTHER_EID, dst.peer, 1)
    with pytest.raises(BridgeTransactionError, match="LZ_Unauthorized"):
        await dst.chain.user.transact("skip", skip, abi=dst.endpoint.abi)
    await dst.chain.owner.transact("skip", skip)  # the OApp's delegate
    assert await dst.state(origin) == EXECUTABLE
    await dst.execute(origin, guid, message)
    assert await dst.state(origin) == EXECUTED
    assert await _balance(dst.chain, recipient) == 1000
    # the skipped nonce can never be verified afterwards
    late = dst.endpoint.functions.verify(
        (OTHER_EID, dst.peer, 1), dst.destination.address, b"\x02" * 32
    )
    with pytest.raises(BridgeTransactionError):
        await dst.chain.relayer.transact("verify", late, abi=dst.endpoint.abi)


async def test_a_stranger_replaying_a_receipt_changes_nothing_for_the_payer(
    dst: Destination,
) -> None:
    # Loss 3 of the issue: orders are keyed by (payer, receipt, ...), so a stranger's order
    # for the same receipt hash is a different settlement.
    receipt = b"\x03" * 32
    genuine_recipient, stranger_recipient = Account.create().address, Account.create().address
    deadline = await dst.now() + 600
    inbound = await dst.endpoint.functions.inboundNonce(
        dst.destination.address, OTHER_EID, dst.peer
    ).call()
    stranger = dst.order(STRANGER, receipt, stranger_recipient, 1, deadline)
    genuine = dst.order(PAYER, receipt, genuine_recipient, 5000, deadline)
    for offset, message in enumerate((stranger, genuine), start=1):
        origin, guid = await dst.deliver(inbound + offset, message)
        await dst.execute(origin, guid, message)
    assert await _balance(dst.chain, genuine_recipient) == 5000
    assert await _balance(dst.chain, stranger_recipient) == 1


async def test_destination_clock_alone_decides_paid_or_cancelled(dst: Destination) -> None:
    # Losses 1 and 2: one clock, one atomic outcome. A cancel before the deadline is
    # refused, a paid order cannot be cancelled, and an order arriving after its deadline
    # is cancelled, never paid.
    fns = dst.destination.functions
    recipient = Account.create().address
    now = await dst.now()
    inbound = await dst.endpoint.functions.inboundNonce(
        dst.destination.address, OTHER_EID, dst.peer
    ).call()
    on_time = (PAYER, b"\x04" * 32, recipient, 700, now + 600)
    early = fns.cancel(1, OTHER_EID, *on_time)
    with pytest.raises(BridgeTransactionError, match="NotExpired"):
        await dst.chain.user.transact("cancel", early, abi=dst.destination.abi)
    message = dst.order(*on_time)
    origin, guid = await dst.deliver(inbound + 1, message)
    await dst.execute(origin, guid, message)
    sid = await fns.settlementId(*on_time).call()
    assert await fns.outcomeOf(1, OTHER_EID, sid).call() == 1  # paid
    await dst.chain.w3.provider.make_request("evm_increaseTime", [700])  # type: ignore[arg-type]
    await dst.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    with pytest.raises(BridgeTransactionError, match="AlreadyPaid"):
        await dst.chain.user.transact(
            "cancel", fns.cancel(1, OTHER_EID, *on_time), abi=dst.destination.abi
        )
    late_recipient = Account.create().address
    late = (PAYER, b"\x05" * 32, late_recipient, 900, now + 600)  # already expired
    message = dst.order(*late)
    origin, guid = await dst.deliver(inbound + 2, message)
    await dst.execute(origin, guid, message)
    late_sid = await fns.settlementId(*late).call()
    assert await fns.outcomeOf(1, OTHER_EID, late_sid).call() == 2  # cancelled
    assert await _balance(dst.chain, late_recipient) == 0
