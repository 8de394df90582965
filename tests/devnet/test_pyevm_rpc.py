"""The py-evm JSON-RPC server and the web3 error mapping, over real loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from aitbc.contracts import load_artifact
from aitbc.devnet import DEV_KEYS, BackgroundDevnet
from aitbc.devnet.pyevm_rpc import JsonRpcServer, PyEvmChain
from aitbc.errors import BridgeTransactionError, ConfigurationError, ConnectError
from aitbc.settlement.bridges._evm import TxSender, web3_session

pytestmark = pytest.mark.evm


async def _rpc(url: str, method: str, params: list[object]) -> dict[str, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
        ) as resp,
    ):
        body: dict[str, object] = await resp.json()
        return body


async def test_chains_report_the_chosen_chain_ids(devnet: BackgroundDevnet) -> None:
    for chain in devnet.config.chains:
        reply = await _rpc(chain.rpc_url, "eth_chainId", [])
        assert reply == {"jsonrpc": "2.0", "id": 7, "result": hex(chain.chain_id)}


async def test_unknown_method_and_bad_params_are_jsonrpc_errors(devnet: BackgroundDevnet) -> None:
    url = devnet.config.chains[0].rpc_url
    unknown = await _rpc(url, "eth_mining", [])
    assert unknown["error"] == {
        "code": -32601,
        "message": "method eth_mining not supported by the py-evm devnet",
    }
    bad = await _rpc(url, "eth_getBalance", ["not-an-address", "latest"])
    assert isinstance(bad["error"], dict) and bad["error"]["code"] == -32602


async def test_invalid_json_is_a_parse_error(devnet: BackgroundDevnet) -> None:
    url = devnet.config.chains[0].rpc_url
    async with aiohttp.ClientSession() as session, session.post(url, data=b"{nope") as resp:
        assert (await resp.json())["error"]["code"] == -32700


def test_chain_id_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        PyEvmChain(0, [DEV_KEYS["deployer"]])


async def _recipient(sender: TxSender) -> str:
    artifact = load_artifact("TestRecipient")
    factory = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    outcome = await sender.transact("deploy", factory.constructor(False))
    receipt = await sender.w3.eth.get_transaction_receipt(outcome.tx_hash)  # type: ignore[arg-type]
    return str(receipt["contractAddress"])


async def test_status_zero_receipt_is_a_bridge_transaction_error() -> None:
    server = JsonRpcServer(PyEvmChain(5, [DEV_KEYS["user"], DEV_KEYS["deployer"]]))
    url = await server.start()
    try:
        async with web3_session(url) as w3:
            sender = TxSender(w3, DEV_KEYS["user"], 5)
            recipient = w3.eth.contract(
                address=await _recipient(sender), abi=load_artifact("TestRecipient").abi
            )
            call = recipient.functions.setAccepting(False)
            # Estimating reverts first (no tx sent) when the caller is not the owner...
            stranger = TxSender(w3, DEV_KEYS["deployer"], 5)
            with pytest.raises(BridgeTransactionError, match="reverted: owner only"):
                await stranger.transact("setAccepting", call)
            # ...and with explicit gas the tx is mined with status 0.
            with pytest.raises(BridgeTransactionError, match="status 0"):
                await stranger.transact("setAccepting", call, gas=60_000)
            outcome = await stranger.transact("setAccepting", call, gas=60_000, check=False)
            assert outcome.status == 0 and outcome.tx_hash.startswith("0x")
    finally:
        await server.stop()


@pytest.fixture
async def refusing_node() -> AsyncIterator[str]:
    """A node that refuses every raw transaction with an RPC error, as hardhat does."""
    chain = PyEvmChain(6, [DEV_KEYS["user"]])

    async def handle(request: web.Request) -> web.Response:
        call = await request.json()
        if call["method"] == "eth_sendRawTransaction":
            error = {"code": -32603, "message": "execution reverted: custom error 0x741d34dd"}
            return web.json_response({"jsonrpc": "2.0", "id": call["id"], "error": error})
        return web.json_response(
            {
                "jsonrpc": "2.0",
                "id": call["id"],
                "result": chain.handle(call["method"], call["params"]),
            }
        )

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    await runner.cleanup()


async def test_rpc_error_on_send_is_a_bridge_transaction_error(refusing_node: str) -> None:
    async with web3_session(refusing_node) as w3:
        sender = TxSender(w3, DEV_KEYS["user"], 6)
        contract = w3.eth.contract(
            abi=load_artifact("TestRecipient").abi, bytecode=load_artifact("TestRecipient").bytecode
        )
        with pytest.raises(BridgeTransactionError, match="refused by the node"):
            await sender.transact("deploy", contract.constructor(True), gas=500_000)


async def test_unreachable_node_is_a_connect_error() -> None:
    async with web3_session("http://127.0.0.1:9/") as w3:
        sender = TxSender(w3, DEV_KEYS["user"], 1)
        contract = w3.eth.contract(
            abi=load_artifact("TestRecipient").abi, bytecode=load_artifact("TestRecipient").bytecode
        )
        with pytest.raises(ConnectError):
            await sender.transact("deploy", contract.constructor(True), gas=500_000)
