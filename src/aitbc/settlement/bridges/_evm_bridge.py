"""What the ``layerzero`` and ``ccip`` adapters share: config, connections, validation,
the source settlement contract (escrow, deadline, send, refund) and the status steps
read from it before the destination-specific check."""

from __future__ import annotations

import os
import re
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_utils.address import is_address, to_checksum_address
from web3.contract import AsyncContract

from aitbc.contracts import load_artifact
from aitbc.errors import (
    BridgeTransactionError,
    ConfigurationError,
    SettlementValidationError,
    UnsupportedChainError,
)

from ..chains import ChainRegistry, default_registry
from ._evm import TxSender, Web3Client, checksum, close_web3, guarded, open_web3
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
SOURCE_STATES = {1: BridgeStatus.IN_PROGRESS, 2: BridgeStatus.COMPLETED, 3: BridgeStatus.REFUNDED}
ADDRESS_KEYS = ("lz_endpoint", "ccip_router", "source", "destination")


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


def escrow_arguments(
    prepared: PreparedSettlement, receipt: bytes
) -> tuple[bytes, bytes, str, int, int]:
    """The leading arguments of every ``settleVia*`` call on the source contract: message
    id, receipt hash, recipient, payment and deadline."""
    m = prepared.message
    deadline = int(prepared.extra["deadline"])
    return (
        hex_bytes(prepared.message_id),
        receipt,
        checksum(m.recipient),
        m.payment_amount,
        deadline,
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

    async def chain_time(self, chain: ChainHandle) -> int:
        """The timestamp of ``chain``'s latest block (deadlines are in chain time)."""
        block = await guarded("eth_getBlockByNumber", chain.w3.eth.get_block("latest"))
        return int(block["timestamp"])

    async def deadline_for(self, src: ChainHandle) -> int:
        """Deadline of a message prepared now, in the source chain's time."""
        return await self.chain_time(src) + self.refund_timeout_s

    async def block_marks(self, src: ChainHandle, dst: ChainHandle) -> dict[str, int]:
        """``src_from_block`` / ``dst_from_block`` for a prepared message's extra: where
        the event lookups of its status start on each chain."""
        return {
            "src_from_block": await guarded("eth_blockNumber", src.w3.eth.block_number),
            "dst_from_block": await guarded("eth_blockNumber", dst.w3.eth.block_number),
        }

    async def send_escrowed(
        self,
        prepared: PreparedSettlement,
        function: str,
        call: Any,
        fee: CostEstimate,
        abi: Sequence[Any],
    ) -> SettlementResult:
        """Send the source contract ``call`` with the payment plus the bridge fee as value;
        IN_PROGRESS with its hash, gas and fee. Raises BridgeTransactionError on revert."""
        src = self.chain(prepared.message.source_chain_id)
        outcome = await src.sender.transact(
            function,
            call,
            value=prepared.message.payment_amount + fee.native_fee,
            abi=abi,
            receipt_timeout_s=self.receipt_timeout_s,
        )
        result = self.result(prepared, BridgeStatus.IN_PROGRESS, outcome.tx_hash)
        result.gas_used, result.fee_paid = outcome.gas_used, fee.native_fee
        return result

    # -- the source contract: status, refund ---------------------------------------

    async def source_record(self, prepared: PreparedSettlement) -> tuple[int, int]:
        """(state, refund-available-at) of the message on our source contract.

        State 0 (never sent) also when the id is recorded for *another* message: a
        LayerZero GUID depends only on the path and nonce, so a stale prepared message
        shares its id with whichever message took that nonce, and must not adopt its fate.
        """
        src = self.chain(prepared.message.source_chain_id)
        message_id = hex_bytes(prepared.message_id)
        record = await guarded("settlements", src.source.functions.settlements(message_id).call())
        _, _, receipt = self.check_message(prepared.message)
        if bytes(record[6]) != receipt or int(record[1]) != prepared.message.payment_amount:
            return 0, 0
        available = await guarded(
            "refundAvailableAt", src.source.functions.refundAvailableAt(message_id).call()
        )
        return int(record[4]), int(available)

    async def require_sent(self, prepared: PreparedSettlement) -> None:
        """Raise BridgeTransactionError unless the source chain holds this very message."""
        state, _ = await self.source_record(prepared)
        if state == 0:
            raise BridgeTransactionError(f"{prepared.message_id} was never sent from the source")

    async def undelivered_error(
        self, prepared: PreparedSettlement, available_at: int
    ) -> str | None:
        """An error text when the refund of a still-pending message is open (its deadline
        passed without delivery), else None."""
        src = self.chain(prepared.message.source_chain_id)
        if await self.chain_time(src) < available_at:
            return None
        return f"not delivered before its deadline; refundable since chain time {available_at}"

    async def get_status(self, prepared: PreparedSettlement) -> SettlementResult:
        """The message's state: the source contract first (pending, refunded, delivered and
        acknowledged), then the destination's own view, then whether its deadline passed."""
        state, available_at = await self.source_record(prepared)
        if state == 0:
            return self.result(prepared, BridgeStatus.PENDING)
        tx_hash, _ = await self.sent_tx(prepared)
        if state != 1:
            return self.result(prepared, SOURCE_STATES[state], tx_hash)
        dst = self.chain(prepared.message.target_chain_id)
        delivered = await self.destination_result(dst, prepared, tx_hash)
        if delivered is not None:
            return delivered
        expired = await self.undelivered_error(prepared, available_at)
        if expired is not None:
            return self.result(prepared, BridgeStatus.FAILED, tx_hash, expired)
        return self.result(prepared, BridgeStatus.IN_PROGRESS, tx_hash)

    @abstractmethod
    async def destination_result(
        self, dst: ChainHandle, prepared: PreparedSettlement, tx_hash: str | None
    ) -> SettlementResult | None:
        """COMPLETED or FAILED as the destination chain shows a sent, unacknowledged
        message; None while it shows neither."""

    async def sent_tx(self, prepared: PreparedSettlement) -> tuple[str | None, int | None]:
        """(tx hash, block) of the SettlementSent event of this message, if any."""
        src = self.chain(prepared.message.source_chain_id)
        event = src.source.events.SettlementSent()
        from_block = int(prepared.extra.get("src_from_block", 0))
        logs = await guarded(
            "eth_getLogs",
            event.get_logs(
                from_block=from_block,
                argument_filters={"messageId": hex_bytes(prepared.message_id)},
            ),
        )
        if not logs:
            return None, None
        return "0x" + bytes(logs[-1]["transactionHash"]).hex(), int(logs[-1]["blockNumber"])

    async def refund(self, prepared: PreparedSettlement) -> SettlementResult:
        """Reclaim the escrow of an unacknowledged message once its deadline + grace passed.

        Raises BridgeTransactionError when the message is delivered, already refunded or
        the refund is not yet available (with the time it will be).
        """
        src = self.chain(prepared.message.source_chain_id)
        state, available_at = await self.source_record(prepared)
        if state != 1:
            raise BridgeTransactionError(
                f"{prepared.message_id} is not refundable (source state {state})"
            )
        if await self.chain_time(src) < available_at:
            raise BridgeTransactionError(
                f"refund of {prepared.message_id} not available before chain time {available_at}"
            )
        call = src.source.functions.refund(hex_bytes(prepared.message_id))
        outcome = await src.sender.transact(
            "refund", call, abi=src.source.abi, receipt_timeout_s=self.receipt_timeout_s
        )
        result = self.result(prepared, BridgeStatus.REFUNDED, outcome.tx_hash)
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
