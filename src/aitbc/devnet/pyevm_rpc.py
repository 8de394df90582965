"""An in-process py-evm chain served over JSON-RPC HTTP on a loopback port.

eth-tester speaks Python objects, not JSON-RPC, and hard-codes one chain id. This module
wraps an ``EthereumTester`` with the chain id we choose and answers the subset of the
Ethereum JSON-RPC API that web3.py clients use, so adapters reach a py-evm chain exactly as
they reach anvil or a live node: over HTTP.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from eth_keys.datatypes import PrivateKey
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import generate_genesis_state_for_keys
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils.hexadecimal import encode_hex as to_hex

from aitbc.errors import ConfigurationError

JsonRpcHandler = Callable[[list[Any]], Any]

_QUANTITY_FIELDS = {"value", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "nonce"}
_BLOOM_BYTES = 256
_ERROR_SELECTOR = "0x08c379a0"


class RpcError(Exception):
    """A JSON-RPC error answer (code, message and optional revert data)."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_rpc(value: Any, key: str = "") -> Any:
    """Convert eth-tester's Python shapes (snake_case, ints, bytes) to JSON-RPC shapes."""
    if isinstance(value, dict):
        return {_camel(k): to_rpc(v, k) for k, v in value.items() if not _is_log_kind(k, v)}
    if isinstance(value, list | tuple):
        return [to_rpc(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if key == "logs_bloom" and isinstance(value, int):
        return "0x" + value.to_bytes(_BLOOM_BYTES, "big").hex()
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes):
        return to_hex(value)
    return value


def _is_log_kind(key: str, value: Any) -> bool:
    # eth-tester tags logs with type="mined"/"pending"; JSON-RPC has no such field.
    return key == "type" and isinstance(value, str) and not value.startswith("0x")


def _from_rpc_tx(tx: dict[str, Any], default_from: str) -> dict[str, Any]:
    out: dict[str, Any] = {"from": tx.get("from") or default_from}
    for key, value in tx.items():
        if key in ("from", "chainId", "type", "accessList", "input") or value is None:
            continue
        out[key] = int(value, 16) if key in _QUANTITY_FIELDS else value
    if "input" in tx and "data" not in tx:
        out["data"] = tx["input"]
    return out


def _block_id(value: Any) -> str | int:
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    if value in (None, "safe", "finalized"):
        return "latest"
    return str(value)


def _revert_data(exc: TransactionFailed) -> str:
    """Recover the revert bytes eth-tester folded into its message."""
    text = str(exc.args[0]) if exc.args else ""
    if text.startswith(("b'", 'b"')):
        try:
            raw = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raw = b""
        if isinstance(raw, bytes):
            return to_hex(raw)
    if not text or text.startswith("Revert"):
        return "0x"
    # eth-tester decoded an Error(string): re-encode it as the chain would return it.
    encoded = text.encode()
    padded = encoded + b"\x00" * (-len(encoded) % 32)
    return (
        _ERROR_SELECTOR
        + (32).to_bytes(32, "big").hex()
        + len(encoded).to_bytes(32, "big").hex()
        + padded.hex()
    )


class PyEvmChain:
    """One py-evm chain with a chosen chain id and funded accounts.

    ``funded_keys`` are 0x-prefixed private keys; each starts with 1,000,000 ether.
    """

    def __init__(self, chain_id: int, funded_keys: Sequence[str]) -> None:
        if chain_id <= 0:
            raise ConfigurationError(f"chain id must be positive, got {chain_id}")
        genesis = generate_genesis_state_for_keys(
            [PrivateKey(bytes.fromhex(k[2:])) for k in funded_keys]
        )
        backend = PyEVMBackend(genesis_state=genesis)
        # The tester chain class is created per backend, so this changes only this chain:
        # py-evm then accepts EIP-155 transactions signed for our chain id.
        type(backend.chain).chain_id = chain_id
        self.chain_id = chain_id
        self.tester = EthereumTester(backend)
        # eth_call without "from" runs as the first funded account (py-evm checks balances).
        self._default_from = PrivateKey(
            bytes.fromhex(funded_keys[0][2:])
        ).public_key.to_checksum_address()
        self._handlers = self._build_handlers()

    def handle(self, method: str, params: list[Any]) -> Any:
        """Answer one JSON-RPC call; raises RpcError for errors the client should see."""
        handler = self._handlers.get(method)
        if handler is None:
            raise RpcError(-32601, f"method {method} not supported by the py-evm devnet")
        try:
            return handler(params)
        except TransactionFailed as exc:
            raise RpcError(3, "execution reverted", _revert_data(exc)) from exc
        except (TesterValidationError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise RpcError(-32602, f"invalid params for {method}: {exc}") from exc
        except Exception as exc:  # py-evm's own errors: answer them, never drop the request
            raise RpcError(-32000, f"{method} failed: {type(exc).__name__}: {exc}") from exc

    def _build_handlers(self) -> dict[str, JsonRpcHandler]:
        t = self.tester
        return {
            "eth_chainId": lambda p: hex(self.chain_id),
            "net_version": lambda p: str(self.chain_id),
            "web3_clientVersion": lambda p: "aitbc-devnet/py-evm",
            "eth_accounts": lambda p: [],
            "eth_blockNumber": lambda p: hex(t.get_block_by_number("latest")["number"]),
            "eth_gasPrice": lambda p: hex(self._gas_price()),
            "eth_maxPriorityFeePerGas": lambda p: hex(10**9),
            "eth_getBalance": lambda p: hex(
                t.get_balance(p[0], _block_id(p[1] if len(p) > 1 else None))
            ),
            "eth_getTransactionCount": lambda p: hex(
                t.get_nonce(p[0], _block_id(p[1] if len(p) > 1 else None))
            ),
            "eth_getCode": lambda p: to_rpc(
                t.get_code(p[0], _block_id(p[1] if len(p) > 1 else None))
            ),
            "eth_call": lambda p: to_rpc(
                t.call(self._tx(p[0]), _block_id(p[1] if len(p) > 1 else None))
            ),
            "eth_estimateGas": lambda p: hex(
                t.estimate_gas(self._tx(p[0]), _block_id(p[1] if len(p) > 1 else None))
            ),
            "eth_sendRawTransaction": lambda p: to_rpc(t.send_raw_transaction(p[0])),
            "eth_getTransactionReceipt": self._receipt,
            "eth_getTransactionByHash": self._transaction,
            "eth_getBlockByNumber": lambda p: to_rpc(
                t.get_block_by_number(_block_id(p[0]), bool(p[1]))
            ),
            "eth_getBlockByHash": lambda p: to_rpc(t.get_block_by_hash(p[0], bool(p[1]))),
            "eth_getLogs": self._logs,
            "evm_mine": lambda p: self._mine(p),
            "evm_increaseTime": self._increase_time,
        }

    def _tx(self, rpc_tx: dict[str, Any]) -> dict[str, Any]:
        return _from_rpc_tx(rpc_tx, self._default_from)

    def _gas_price(self) -> int:
        base = int(self.tester.get_block_by_number("pending")["base_fee_per_gas"])
        return 2 * base + 10**9

    def _receipt(self, params: list[Any]) -> Any:
        from eth_tester.exceptions import TransactionNotFound

        try:
            return to_rpc(self.tester.get_transaction_receipt(params[0]))
        except TransactionNotFound:
            return None

    def _transaction(self, params: list[Any]) -> Any:
        from eth_tester.exceptions import TransactionNotFound

        try:
            return to_rpc(self.tester.get_transaction_by_hash(params[0]))
        except TransactionNotFound:
            return None

    def _logs(self, params: list[Any]) -> Any:
        spec = params[0] if params else {}
        latest = self.tester.get_block_by_number("latest")["number"]

        def bound(value: Any, default: int) -> int:
            if value is None or value in ("latest", "pending", "safe", "finalized"):
                return latest if value is not None else default
            return 0 if value == "earliest" else int(value, 16)

        address = spec.get("address")
        logs = self.tester.get_logs(
            from_block=bound(spec.get("fromBlock"), latest),
            to_block=bound(spec.get("toBlock"), latest),
            address=address,
            topics=spec.get("topics"),
        )
        return to_rpc(list(logs))

    def _mine(self, params: list[Any]) -> str:
        self.tester.mine_blocks(1)
        return "0x0"

    def _increase_time(self, params: list[Any]) -> str:
        seconds = int(params[0], 16) if isinstance(params[0], str) else int(params[0])
        pending = self.tester.get_block_by_number("pending")["timestamp"]
        self.tester.time_travel(pending + seconds)  # mines a block at the new time
        return hex(seconds)


class JsonRpcServer:
    """Serves one PyEvmChain at ``http://127.0.0.1:<port>/``; call ``start`` then ``stop``."""

    def __init__(self, chain: PyEvmChain, host: str = "127.0.0.1", port: int = 0) -> None:
        self.chain = chain
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Bind the port and return the URL."""
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        # Stopping a dev chain (Ctrl-C on ``aitbc devnet``) waits for calls in flight at
        # most this long, not aiohttp's default minute: a handler only reads its call and
        # answers from memory.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self._host}:{port}/"
        return self.url

    async def stop(self) -> None:
        """Close the listening socket and every open connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
            )
        if isinstance(body, list):
            return web.json_response([self._answer(item) for item in body])
        return web.json_response(self._answer(body))

    def _answer(self, call: Any) -> dict[str, Any]:
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32600, "message": "invalid request"},
            }
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": call.get("id")}
        try:
            reply["result"] = self.chain.handle(call["method"], list(call.get("params") or []))
        except RpcError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            reply["error"] = error
        return reply
