"""Shared web3 plumbing for the EVM bridge adapters and the devnet.

One place turns web3's many failure shapes into aitbc errors: a transaction that reverts
is a BridgeTransactionError whether the node answers with a status-0 receipt (eth-tester,
anvil) or with an RPC error (hardhat, some live nodes); an unreachable node is a
ConnectError; a receipt that never comes is a TransportTimeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, cast

import aiohttp
from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_account import Account
from eth_typing import URI
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3._utils.http_session_manager import HTTPSessionManager
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.types import RPCEndpoint

from aitbc.errors import (
    AITBCError,
    BridgeTransactionError,
    ConnectError,
    SettlementError,
    TransportTimeout,
)

T = TypeVar("T")
# The one client type everything here uses: async web3 over HTTP.
Web3Client: TypeAlias = "AsyncWeb3[AsyncHTTPProvider]"

RECEIPT_POLL_S = 0.02
DEFAULT_RECEIPT_TIMEOUT_S = 30.0


class _OwnSessions(HTTPSessionManager):
    """web3's HTTP session manager without its process-wide lock.

    web3 (7.x, web3.py #3867) takes one ``threading.Lock`` shared by every provider in
    the process on every request, through an executor thread. A request cancelled while
    that thread waits (a timeout, a stopped relayer) leaves the lock taken for good, and
    from then on every web3 HTTP call of the process hangs. Each provider here has its
    own manager, and its sessions are only touched from their event loop, so the cache
    needs no lock: one session per loop, as web3 keys it.
    """

    async def async_cache_and_return_session(
        self,
        endpoint_uri: URI,
        session: aiohttp.ClientSession | None = None,
        request_timeout: aiohttp.ClientTimeout | None = None,
    ) -> aiohttp.ClientSession:
        key = f"{id(asyncio.get_running_loop())}:{endpoint_uri}"
        cached: aiohttp.ClientSession | None = self.session_cache.get_cache_entry(key)
        if cached is None or cached.closed:
            cached = session or aiohttp.ClientSession(raise_for_status=True)
            _, evicted = self.session_cache.cache(key, cached)
            for old in (evicted or {}).values():
                await old.close()
        return cached


def open_web3(rpc_url: str, timeout_s: float = 30.0) -> Web3Client:
    """An AsyncWeb3 over HTTP; close it with ``close_web3``."""
    provider = AsyncHTTPProvider(
        rpc_url,
        request_kwargs={"timeout": aiohttp.ClientTimeout(total=timeout_s)},
        # web3's validation asks eth_chainId before every call and send; a connection's
        # chain never changes, so ask once
        **CHAIN_ID_CACHE,
    )
    provider._request_session_manager = _OwnSessions()
    return AsyncWeb3(provider)


CHAIN_ID_CACHE: dict[str, Any] = {
    "cache_allowed_requests": True,
    "cacheable_requests": {RPCEndpoint("eth_chainId")},
    "request_cache_validation_threshold": None,
}


async def close_web3(w3: Web3Client) -> None:
    """Close the provider's HTTP session (safe to call twice)."""
    await w3.provider.disconnect()


_BUILTIN_ERRORS = {"08c379a0": ("Error", "string"), "4e487b71": ("Panic", "uint256")}


def revert_reason(data: Any, abi: Sequence[Any]) -> str:
    """Name a custom error from revert ``data`` (hex) using ``abi``; else the raw data."""
    if not isinstance(data, str) or len(data) < 10:
        return str(data)
    selector = data[2:10]
    if selector in _BUILTIN_ERRORS:
        name, arg_type = _BUILTIN_ERRORS[selector]
        try:
            (value,) = decode([arg_type], bytes.fromhex(data[10:]))
        except (ValueError, DecodingError):
            return name
        return str(value) if arg_type == "string" else f"{name}({value:#x})"
    for item in abi:
        if item.get("type") != "error":
            continue
        signature = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
        if function_signature_to_4byte_selector(signature).hex() == selector:
            return str(item["name"])
    return data


def map_web3_error(exc: BaseException, action: str, abi: Sequence[Any] = ()) -> AITBCError:
    """The aitbc error for a web3/aiohttp exception raised while doing ``action``."""
    if isinstance(exc, AITBCError):
        return exc
    if isinstance(exc, ContractCustomError | ContractLogicError):
        reason = revert_reason(exc.data, abi) if exc.data else str(exc)
        return BridgeTransactionError(f"{action} reverted: {reason}")
    if isinstance(exc, Web3RPCError):
        return BridgeTransactionError(f"{action} refused by the node: {exc}")
    if isinstance(exc, TimeExhausted | asyncio.TimeoutError):
        return TransportTimeout(f"{action}: the node did not answer in time")
    if isinstance(exc, ProviderConnectionError | aiohttp.ClientError | OSError):
        return ConnectError(f"{action}: cannot reach the chain's RPC endpoint: {exc}")
    if isinstance(exc, Web3Exception):
        return SettlementError(f"{action} failed: {exc}")
    return SettlementError(f"{action} failed: {type(exc).__name__}: {exc}")


_MAPPED = (Web3Exception, aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError, TypeError)


async def guarded(action: str, call: Awaitable[T], abi: Sequence[Any] = ()) -> T:
    """Await ``call``, turning web3/aiohttp failures into aitbc errors."""
    try:
        return await call
    except AITBCError:
        raise
    except _MAPPED as exc:
        raise map_web3_error(exc, action, abi) from exc


@dataclass(frozen=True)
class TxOutcome:
    """A mined transaction (``status`` 1 unless ``transact(check=False)`` let a 0 through)."""

    tx_hash: str
    gas_used: int
    block_number: int
    logs: list[Any]
    status: int = 1


# How long a gas price quote is reused: about one block on Ethereum. The price moves
# per block at most, and an RPC round trip per send costs more than it tells.
GAS_PRICE_TTL_S = 12.0


class TxSender:
    """Signs and sends transactions from one key, one at a time (nonces stay in order).

    The gas price is asked for at most once per ``gas_price_ttl_s`` (0 asks every time),
    timed by ``clock`` (seconds, monotonic; injected by tests).
    """

    def __init__(
        self,
        w3: Web3Client,
        private_key: str,
        chain_id: int,
        *,
        gas_price_ttl_s: float = GAS_PRICE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.w3 = w3
        self.account = Account.from_key(private_key)
        self.address: str = self.account.address
        self.chain_id = chain_id
        self._lock = asyncio.Lock()
        self._gas_price_ttl_s = gas_price_ttl_s
        self._clock = clock
        self._gas_price: tuple[int, float] | None = None  # (wei, when asked)

    async def gas_price(self) -> int:
        """The node's gas price, reused for ``gas_price_ttl_s`` after asking."""
        now = self._clock()
        if self._gas_price is not None and now - self._gas_price[1] < self._gas_price_ttl_s:
            return self._gas_price[0]
        price = int(await self.w3.eth.gas_price)
        self._gas_price = (price, now)
        return price

    async def transact(
        self,
        action: str,
        call: Any,
        *,
        value: int = 0,
        gas: int | None = None,
        abi: Sequence[Any] = (),
        receipt_timeout_s: float = DEFAULT_RECEIPT_TIMEOUT_S,
        check: bool = True,
    ) -> TxOutcome:
        """Send ``call`` (a bound contract function); return the outcome of a status-1 tx.

        Raises BridgeTransactionError when the estimate, the node or the receipt says it
        reverted (``check=False`` returns a status-0 outcome instead, for callers that send
        a known-reverting tx on purpose); ConnectError / TransportTimeout when the node is
        unreachable or slow.
        """
        async with self._lock:
            tx_hash = await guarded(action, self._send(call, value, gas), abi)
        receipt = await guarded(action, wait_for_receipt(self.w3, tx_hash, receipt_timeout_s), abi)
        status = int(receipt["status"])
        if status != 1 and check:
            raise BridgeTransactionError(
                f"{action} reverted on chain {self.chain_id} (tx {tx_hash}, status 0)"
            )
        return TxOutcome(
            tx_hash,
            int(receipt["gasUsed"]),
            int(receipt["blockNumber"]),
            list(receipt["logs"]),
            status,
        )

    async def transfer(self, to: str, value: int, *, action: str = "transfer") -> TxOutcome:
        """Send ``value`` wei to ``to`` (a plain transfer); errors as in ``transact``."""
        return await self.transact(action, _Transfer(to), value=value, gas=_TRANSFER_GAS)

    async def _send(self, call: Any, value: int, gas: int | None) -> str:
        params: dict[str, Any] = {"from": self.address, "value": value, "chainId": self.chain_id}
        if gas is None:
            estimate = await call.estimate_gas(params)
            gas = int(estimate * 1.25) + 20_000
        nonce = await self.w3.eth.get_transaction_count(cast(Any, self.address), "pending")
        gas_price = await self.gas_price()
        tx = await call.build_transaction(
            {**params, "gas": gas, "nonce": nonce, "gasPrice": gas_price}
        )
        signed = self.account.sign_transaction(tx)
        try:
            sent = await self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception:
            self._gas_price = None  # maybe underpriced by now: the next send asks afresh
            raise
        return "0x" + bytes(sent).hex()


# A transfer to a contract with a small receive() costs a little more than 21000.
_TRANSFER_GAS = 60_000


class _Transfer:
    """Quacks like a bound contract call, for a plain value transfer."""

    def __init__(self, to: str) -> None:
        self.to = to

    async def build_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if k != "from"} | {"to": self.to}


async def wait_for_receipt(w3: Web3Client, tx_hash: str, timeout_s: float) -> Any:
    """Poll for ``tx_hash``'s receipt; raises TransportTimeout when none comes in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            return await w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            pass
        if loop.time() > deadline:
            raise TransportTimeout(f"no receipt for {tx_hash} after {timeout_s:.0f}s")
        await asyncio.sleep(RECEIPT_POLL_S)


@asynccontextmanager
async def web3_session(rpc_url: str) -> AsyncIterator[Web3Client]:
    """``async with web3_session(url) as w3``: a connection closed on exit."""
    w3 = open_web3(rpc_url)
    try:
        yield w3
    finally:
        await close_web3(w3)


def checksum(address: str) -> str:
    """The EIP-55 form of ``address``."""
    return str(to_checksum_address(address))
