"""What the ``layerzero`` and ``ccip`` adapters share: config, connections, validation and
everything that is about *our* contracts (docs/settlement.md has the state machine):

- prepare: our own settlement id ``keccak256(abi.encode(payer, receiptHash, recipient,
  amount, deadline))``, with the deadline in the *destination* chain's time, and the fee,
  quoted once; nothing is predicted about the bridge's own message id;
- send: one ``settle`` call on the source contract with a fixed gas limit;
- status / retry / refund read our contracts first (source escrow, destination outcome)
  and the bridge's execution state only while the destination has no outcome;
- refund: ``cancel`` on the destination after the deadline (destination time); the escrow
  comes back to the payer when the cancel report arrives through the same bridge.
"""

from __future__ import annotations

import os
import re
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from eth_abi.abi import encode
from eth_typing import HexStr
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import AsyncContract
from web3.logs import DISCARD

from aitbc.contracts import load_artifact
from aitbc.errors import (
    BridgeTransactionError,
    ConfigurationError,
    SettlementValidationError,
    UnsupportedChainError,
)

from ..chains import ChainRegistry, default_registry
from ._evm import TxOutcome, TxSender, Web3Client, checksum, close_web3, guarded, open_web3
from .base import (
    BridgeAdapter,
    BridgeStatus,
    CostEstimate,
    PreparedSettlement,
    SettlementMessage,
    SettlementResult,
)

_RECEIPT_HASH = re.compile(r"^sha256:([0-9a-f]{64})$")
MAX_AMOUNT = 2**96 - 1
DEFAULT_REFUND_TIMEOUT_S = 3600
ADDRESS_KEYS = ("lz_endpoint", "ccip_router", "source", "destination")
# Source order states and destination outcomes (AitbcSettlementSource / ...Destination).
SRC_NONE, SRC_PENDING, SRC_RELEASED, SRC_REFUNDED = 0, 1, 2, 3
DST_NONE, DST_PAID, DST_CANCELLED = 0, 1, 2
# Fixed gas for our own calls (no eth_estimateGas per send): settle pays the bridge and
# emits the packet; cancel also sends the report back.
SETTLE_GAS = 450_000
CANCEL_GAS = 450_000
# Deadlines are rounded up to this many seconds so that prepare() is repeatable.
DEADLINE_STEP_S = 60


@dataclass
class ChainHandle:
    """One configured chain: ids, RPC connection, our contracts and a signer on it."""

    chain_id: int
    lz_eid: int | None
    ccip_selector: int | None
    w3: Web3Client
    sender: TxSender
    endpoint: AsyncContract
    router: AsyncContract
    source: AsyncContract
    destination: AsyncContract


def hex_bytes(value: object) -> bytes:
    """``0x``-prefixed hex (a message id, a payload kept in ``extra``) as bytes."""
    return bytes.fromhex(str(value)[2:])


def settlement_id(payer: str, receipt: bytes, recipient: str, amount: int, deadline: int) -> bytes:
    """Our id of a settlement, as the contracts compute it."""
    return keccak(
        encode(
            ["address", "bytes32", "address", "uint256", "uint64"],
            [payer, receipt, recipient, amount, deadline],
        )
    )


def _load_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The adapter config, expanded from a devnet config file when it names one."""
    path = config.get("devnet_config") or (
        None if "chains" in config else os.environ.get("AITBC_DEVNET_CONFIG")
    )
    if not path:
        return config
    from aitbc.devnet.config import DevnetConfig  # only when pointed at a devnet file

    devnet = DevnetConfig.load(Path(path))
    base = devnet.bridge_config(str(config.get("key", "payer")))
    return {**base, **{k: v for k, v in config.items() if k not in ("devnet_config", "key")}}


class EvmSettlementBridge(BridgeAdapter):
    """Base of the EVM adapters; subclasses speak one bridge protocol.

    Config keys: ``chains`` ({chain id: {rpc_url, lz_endpoint, ccip_router, source,
    destination, lz_eid?, ccip_selector?}}), ``private_key`` (pays and signs),
    ``refund_timeout_s`` (default 3600), ``receipt_timeout_s`` (default 30),
    ``rpc_timeout_s`` (default 30); or ``devnet_config`` (a file written by
    ``aitbc devnet``, optional ``key`` naming which devnet key signs). Without ``chains``,
    the AITBC_DEVNET_CONFIG environment variable may name the devnet file.
    """

    def __init__(self) -> None:
        self._chains: dict[int, ChainHandle] = {}
        self.registry: ChainRegistry = default_registry()
        self.refund_timeout_s = DEFAULT_REFUND_TIMEOUT_S
        self.receipt_timeout_s = 30.0
        self.delegate_key: str | None = None
        self._fees: dict[tuple[int, int, int, int], int] = {}
        self._sends: dict[str, Any] = {}

    async def initialize(self, config: Mapping[str, Any]) -> None:
        """Connect to every chain in ``config``; raises ConfigurationError when it is bad."""
        cfg = _load_config(config)
        chains = cfg.get("chains")
        key = cfg.get("private_key")
        if not isinstance(chains, Mapping) or len(chains) < 2 or not isinstance(key, str):
            raise ConfigurationError(
                f"{self.name}: config needs 'chains' (two or more) and 'private_key', "
                "or 'devnet_config'"
            )
        self.refund_timeout_s = int(cfg.get("refund_timeout_s", DEFAULT_REFUND_TIMEOUT_S))
        self.receipt_timeout_s = float(cfg.get("receipt_timeout_s", 30.0))
        delegate = cfg.get("delegate_key")
        self.delegate_key = str(delegate) if delegate else None
        if self.refund_timeout_s <= 0:
            raise ConfigurationError(f"{self.name}: refund_timeout_s must be positive")
        await self.close()
        for raw_id, chain_cfg in chains.items():
            handle = self._open_chain(
                int(raw_id), chain_cfg, key, float(cfg.get("rpc_timeout_s", 30.0))
            )
            self._chains[handle.chain_id] = handle

    def _open_chain(
        self, chain_id: int, cfg: Mapping[str, Any], key: str, timeout_s: float
    ) -> ChainHandle:
        missing = [k for k in ("rpc_url", *ADDRESS_KEYS) if not cfg.get(k)]
        if missing:
            raise ConfigurationError(f"{self.name}: chain {chain_id} config lacks {missing}")
        bad = [k for k in ADDRESS_KEYS if not is_address(cfg[k])]
        if bad:
            raise ConfigurationError(
                f"{self.name}: chain {chain_id} has invalid addresses for {bad}"
            )
        lz_eid, selector = self._bridge_ids(chain_id, cfg)
        w3 = open_web3(str(cfg["rpc_url"]), timeout_s)
        try:
            sender = TxSender(w3, key, chain_id)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{self.name}: private_key is not a valid key") from exc

        def contract(name: str, address: str) -> AsyncContract:
            abi = load_artifact(name).abi
            return w3.eth.contract(address=to_checksum_address(address), abi=abi)

        return ChainHandle(
            chain_id,
            lz_eid,
            selector,
            w3,
            sender,
            contract("MockLayerZeroEndpoint", cfg["lz_endpoint"]),
            contract("MockCCIPRouter", cfg["ccip_router"]),
            contract("AitbcSettlementSource", cfg["source"]),
            contract("AitbcSettlementDestination", cfg["destination"]),
        )

    def _bridge_ids(self, chain_id: int, cfg: Mapping[str, Any]) -> tuple[int | None, int | None]:
        known = self.registry.get(chain_id) if chain_id in self.registry else None
        lz_eid = cfg.get("lz_eid", known.lz_eid if known else None)
        selector = cfg.get("ccip_selector", known.ccip_selector if known else None)
        return (
            int(lz_eid) if lz_eid is not None else None,
            int(selector) if selector is not None else None,
        )

    def supported_chains(self) -> set[int]:
        """Chain ids configured for this adapter."""
        return set(self._chains)

    def chain(self, chain_id: int) -> ChainHandle:
        """The handle of a configured chain; raises UnsupportedChainError otherwise."""
        try:
            return self._chains[chain_id]
        except KeyError:
            raise UnsupportedChainError(
                f"{self.name}: chain {chain_id} is not configured"
            ) from None

    async def close(self) -> None:
        """Close every chain connection."""
        chains, self._chains = self._chains, {}
        for handle in chains.values():
            await close_web3(handle.w3)

    # -- validation and message encoding ------------------------------------------

    def check_message(self, message: SettlementMessage) -> tuple[ChainHandle, ChainHandle, bytes]:
        """Validate ``message`` for on-chain use; returns (source, target, receipt bytes32)."""
        if message.source_chain_id == message.target_chain_id:
            raise SettlementValidationError("source and target chain must differ")
        src, dst = self.chain(message.source_chain_id), self.chain(message.target_chain_id)
        if message.payment_token != "native":
            raise SettlementValidationError(f"{self.name}: only the native token is supported")
        if not 0 < message.payment_amount <= MAX_AMOUNT:
            raise SettlementValidationError(
                f"payment_amount must be in 1..2**96-1, got {message.payment_amount}"
            )
        if not is_address(message.recipient):
            raise SettlementValidationError(
                f"recipient {message.recipient!r} is not an EVM address"
            )
        if message.gas_limit <= 0:
            raise SettlementValidationError("gas_limit must be positive")
        match = _RECEIPT_HASH.match(message.receipt_hash)
        if match is None:
            raise SettlementValidationError(
                "receipt_hash must be 'sha256:' + 64 lowercase hex digits"
            )
        return src, dst, bytes.fromhex(match.group(1))

    # -- bridge-specific hooks -------------------------------------------------------

    bridge_code: int = 0

    @abstractmethod
    def route(self, chain: ChainHandle) -> int:
        """This bridge's id of ``chain`` (LayerZero eid / CCIP chain selector)."""

    @abstractmethod
    async def bridge_result(
        self, prepared: PreparedSettlement, sent: SentMessage
    ) -> SettlementResult | None:
        """FAILED (with why) when the bridge shows the order's delivery failed; IN_PROGRESS
        with a note when it is held up (blocked path); None while it is on its way."""

    @abstractmethod
    async def reexecute(
        self, prepared: PreparedSettlement, sent: SentMessage, gas_limit: int
    ) -> TxOutcome:
        """Run the order's delivery again on the destination with ``gas_limit``; raises
        BridgeTransactionError when the bridge holds nothing to execute."""

    @abstractmethod
    def decode_sent(self, src: ChainHandle, logs: Sequence[Any], message_id: bytes) -> Any:
        """The bridge's record of the order in the send transaction's ``logs``."""

    async def after_cancel(self, prepared: PreparedSettlement) -> None:
        """Bridge housekeeping once an order is cancelled; nothing by default."""

    # -- time, quotes, prepare, send -------------------------------------------------

    async def chain_time(self, chain: ChainHandle) -> int:
        """The timestamp of ``chain``'s latest block (deadlines are in chain time)."""
        block = await guarded("eth_getBlockByNumber", chain.w3.eth.get_block("latest"))
        return int(block["timestamp"])

    async def _fee(self, src: ChainHandle, dst: ChainHandle, payload: bytes, gas: int) -> int:
        # The fee depends on route, payload size and gas only: quoted once per shape.
        key = (src.chain_id, dst.chain_id, len(payload), gas)
        if key not in self._fees:
            call = src.source.functions.quoteMessage(
                self.bridge_code, self.route(dst), payload, gas
            )
            self._fees[key] = int(await guarded("quoteMessage", call.call(), src.source.abi))
        return self._fees[key]

    async def estimate_cost(self, message: SettlementMessage) -> CostEstimate:
        """Quote the bridge fee for ``message`` (nothing is sent)."""
        src, dst, receipt = self.check_message(message)
        payload = encode_order(
            src.sender.address, receipt, message.recipient, message.payment_amount, 0
        )
        fee = await self._fee(src, dst, payload, message.gas_limit)
        return CostEstimate(self.name, native_fee=fee, gas_limit=message.gas_limit)

    async def prepare(self, message: SettlementMessage) -> PreparedSettlement:
        """Fix our settlement id, the deadline (destination time) and the fee; no side effects."""
        src, dst, receipt = self.check_message(message)
        block = await guarded("eth_getBlockByNumber", dst.w3.eth.get_block("latest"))
        dst_now = int(block["timestamp"])
        deadline = -(-(dst_now + self.refund_timeout_s) // DEADLINE_STEP_S) * DEADLINE_STEP_S
        payer = src.sender.address
        recipient = checksum(message.recipient)
        payload = encode_order(payer, receipt, recipient, message.payment_amount, deadline)
        fee = await self._fee(src, dst, payload, message.gas_limit)
        sid = settlement_id(payer, receipt, recipient, message.payment_amount, deadline)
        extra = {
            "deadline": deadline,
            "payer": payer,
            "route": self.route(dst),
            "source_route": self.route(src),
            "src_from_block": await guarded("eth_blockNumber", src.w3.eth.block_number),
            # where the destination's event lookups (failure reasons) start
            "dst_from_block": int(block["number"]),
        }
        estimate = CostEstimate(self.name, native_fee=fee, gas_limit=message.gas_limit)
        return PreparedSettlement("0x" + sid.hex(), message, estimate, extra)

    async def send(self, prepared: PreparedSettlement) -> SettlementResult:
        """Escrow the payment and send the order: one ``settle`` transaction with the fee
        quoted at prepare. Raises BridgeTransactionError when it reverts."""
        m, x = prepared.message, prepared.extra
        src, _, receipt = self.check_message(m)
        call = src.source.functions.settle(
            self.bridge_code,
            int(x["route"]),
            receipt,
            checksum(m.recipient),
            m.payment_amount,
            int(x["deadline"]),
            m.gas_limit,
        )
        outcome = await src.sender.transact(
            "settle",
            call,
            value=m.payment_amount + prepared.fee.native_fee,
            gas=SETTLE_GAS,
            abi=[*src.source.abi, *src.endpoint.abi, *src.router.abi],
            receipt_timeout_s=self.receipt_timeout_s,
        )
        self._remember_send(src, prepared, outcome)
        result = self.result(prepared, BridgeStatus.IN_PROGRESS, outcome.tx_hash)
        result.gas_used, result.fee_paid = outcome.gas_used, prepared.fee.native_fee
        return result

    def _remember_send(
        self, src: ChainHandle, prepared: PreparedSettlement, outcome: TxOutcome
    ) -> None:
        """Keep what the send's own receipt says, so the first status poll need not look the
        send up again (eth_getLogs + eth_getTransactionReceipt). Anything unreadable is
        simply not kept: ``sent_message`` then finds it on chain as after a restart."""
        wanted = hex_bytes(prepared.message_id)
        try:
            for entry in src.source.events.SettlementSent().process_receipt(
                {"logs": outcome.logs}, errors=DISCARD
            ):
                if bytes(entry["args"]["settlementId"]) == wanted:
                    message_id = bytes(entry["args"]["messageId"])
                    packet = self.decode_sent(src, outcome.logs, message_id)
                    self._sends[prepared.message_id] = SentMessage(
                        outcome.tx_hash, message_id, packet
                    )
                    return
        except BridgeTransactionError:  # no bridge event for the id: look it up later
            return

    # -- our contracts first -----------------------------------------------------------

    async def source_state(self, prepared: PreparedSettlement) -> int:
        """The order's state on our source contract (0 = never sent)."""
        src = self.chain(prepared.message.source_chain_id)
        order = await guarded(
            "orders", src.source.functions.orders(hex_bytes(prepared.message_id)).call()
        )
        return int(order[4])

    async def destination_outcome(self, prepared: PreparedSettlement) -> int:
        """The order's outcome on our destination contract (0 none, 1 paid, 2 cancelled)."""
        dst = self.chain(prepared.message.target_chain_id)
        call = dst.destination.functions.outcomeOf(
            self.bridge_code, int(prepared.extra["source_route"]), hex_bytes(prepared.message_id)
        )
        return int(await guarded("outcomeOf", call.call()))

    async def sent_message(self, prepared: PreparedSettlement) -> SentMessage | None:
        """The send of this order, found by our settlement id in the source contract's
        events (so a restarted process finds it without knowing the bridge's id)."""
        cached = self._sends.get(prepared.message_id)
        if cached is not None:
            return cast(SentMessage, cached)
        src = self.chain(prepared.message.source_chain_id)
        logs = await guarded(
            "eth_getLogs",
            src.source.events.SettlementSent().get_logs(
                from_block=int(prepared.extra.get("src_from_block", 0)),
                argument_filters={"settlementId": hex_bytes(prepared.message_id)},
            ),
        )
        if not logs:
            return None
        entry = logs[-1]
        tx_hash = "0x" + bytes(entry["transactionHash"]).hex()
        message_id = bytes(entry["args"]["messageId"])
        lookup = src.w3.eth.get_transaction_receipt(HexStr(tx_hash))
        receipt = await guarded("eth_getTransactionReceipt", lookup)
        sent = SentMessage(tx_hash, message_id, self.decode_sent(src, receipt["logs"], message_id))
        self._sends[prepared.message_id] = sent
        return sent

    async def get_status(self, prepared: PreparedSettlement) -> SettlementResult:
        """Our contracts first (the destination's outcome, then the source escrow), then the
        bridge, then the deadline. ``SettlementSent`` is emitted with the escrow in one
        transaction, so no event means never sent; the escrow can only have moved once the
        destination has an outcome."""
        sent = await self.sent_message(prepared)
        if sent is None:
            return self.result(prepared, BridgeStatus.PENDING)
        outcome = await self.destination_outcome(prepared)
        if outcome == DST_PAID:
            return self.result(prepared, BridgeStatus.COMPLETED, sent.tx_hash)
        if outcome == DST_CANCELLED:
            if await self.source_state(prepared) == SRC_REFUNDED:
                return self.result(prepared, BridgeStatus.REFUNDED, sent.tx_hash)
            if await self._cancel_reported(prepared):  # tracked until the refund lands
                return self.result(
                    prepared,
                    BridgeStatus.IN_PROGRESS,
                    sent.tx_hash,
                    "cancelled on the destination; the refund is on its way",
                )
            return self.result(
                prepared,
                BridgeStatus.FAILED,
                sent.tx_hash,
                "cancelled on the destination; refund() sends the payer's refund",
            )
        seen = await self.bridge_result(prepared, sent)
        if seen is not None and seen.status is BridgeStatus.FAILED:
            return seen
        dst = self.chain(prepared.message.target_chain_id)
        deadline = int(prepared.extra["deadline"])
        if await self.chain_time(dst) > deadline:
            return self.result(
                prepared,
                BridgeStatus.FAILED,
                sent.tx_hash,
                f"not delivered before its deadline (destination time {deadline}): refundable",
            )
        return seen or self.result(prepared, BridgeStatus.IN_PROGRESS, sent.tx_hash)

    async def _cancel_reported(self, prepared: PreparedSettlement) -> bool:
        """Whether the destination has sent this order's outcome back (``Reported``)."""
        dst = self.chain(prepared.message.target_chain_id)
        logs = await guarded(
            "eth_getLogs",
            dst.destination.events.Reported().get_logs(
                from_block=int(prepared.extra.get("dst_from_block", 0)),
                argument_filters={"settlementId": hex_bytes(prepared.message_id)},
            ),
        )
        return bool(logs)

    async def require_sent(self, prepared: PreparedSettlement) -> SentMessage:
        """The send of this order; BridgeTransactionError if the source never saw it."""
        sent = await self.sent_message(prepared)
        if sent is None:
            raise BridgeTransactionError(f"{prepared.message_id} was never sent from the source")
        return sent

    async def retry(
        self, prepared: PreparedSettlement, gas_limit: int | None = None
    ) -> SettlementResult:
        """Re-execute the order's delivery (more gas allowed) while the destination has no
        outcome; raises BridgeTransactionError when there is nothing to re-execute."""
        sent = await self.require_sent(prepared)
        if (
            await self.source_state(prepared) != SRC_PENDING
            or await self.destination_outcome(prepared) != DST_NONE
        ):
            return await self.get_status(prepared)
        limit = max(gas_limit or 0, prepared.message.gas_limit)
        outcome = await self.reexecute(prepared, sent, limit)
        result = await self.get_status(prepared)
        if result.status is BridgeStatus.FAILED:
            raise BridgeTransactionError(
                f"re-execution of {prepared.message_id} failed again: {result.error_message}"
            )
        result.gas_used = outcome.gas_used
        return result

    async def refund(self, prepared: PreparedSettlement) -> SettlementResult:
        """Cancel the order on the destination after its deadline (destination time); the
        report then refunds the payer on the source. Calling it again resends the report.

        Raises BridgeTransactionError when the order was paid or the deadline has not passed.
        """
        state = await self.source_state(prepared)
        if state != SRC_PENDING:
            raise BridgeTransactionError(
                f"{prepared.message_id} is not refundable (source state {state})"
            )
        if await self.destination_outcome(prepared) == DST_PAID:
            raise BridgeTransactionError(f"{prepared.message_id} was paid: not refundable")
        dst = self.chain(prepared.message.target_chain_id)
        deadline = int(prepared.extra["deadline"])
        if await self.chain_time(dst) <= deadline:
            raise BridgeTransactionError(
                f"refund of {prepared.message_id} not available before destination time {deadline}"
            )
        m, x = prepared.message, prepared.extra
        _, _, receipt = self.check_message(m)
        fns = dst.destination.functions
        source_route = int(x["source_route"])
        fee = await guarded(
            "quoteReport",
            fns.quoteReport(self.bridge_code, source_route, hex_bytes(prepared.message_id)).call(),
        )
        call = fns.cancel(
            self.bridge_code,
            source_route,
            str(x["payer"]),
            receipt,
            checksum(m.recipient),
            m.payment_amount,
            deadline,
        )
        outcome = await dst.sender.transact(
            "cancel",
            call,
            value=int(fee),
            gas=CANCEL_GAS,
            abi=[*dst.destination.abi, *dst.endpoint.abi, *dst.router.abi],
            receipt_timeout_s=self.receipt_timeout_s,
        )
        await self.after_cancel(prepared)
        result = await self.get_status(prepared)  # in progress: the report is on its way
        result.gas_used = outcome.gas_used
        return result

    def result(
        self,
        prepared: PreparedSettlement,
        status: BridgeStatus,
        tx_hash: str | None = None,
        error: str | None = None,
    ) -> SettlementResult:
        """A SettlementResult for ``prepared`` stamped now."""
        now = datetime.now(UTC)
        return SettlementResult(
            message_id=prepared.message_id,
            status=status,
            bridge_name=self.name,
            transaction_hash=tx_hash,
            error_message=error,
            fee_paid=prepared.fee.native_fee,
            updated_at=now,
            completed_at=now if status.is_final else None,
        )


@dataclass(frozen=True)
class SentMessage:
    """An order as sent: its transaction, the bridge's message id (from the send's return
    value, recorded in our SettlementSent event) and the bridge's own record of it."""

    tx_hash: str
    message_id: bytes
    packet: Any


def encode_order(payer: str, receipt: bytes, recipient: str, amount: int, deadline: int) -> bytes:
    """abi.encode(payer, receiptHash, recipient, amount, deadline): what the destination decodes."""
    return encode(
        ["address", "bytes32", "address", "uint256", "uint64"],
        [payer, receipt, recipient, amount, deadline],
    )
