"""BridgeManager: validates, records and sends settlements, and follows them to the end.

Flow of :meth:`BridgeManager.settle_cross_chain`::

    validate ─► adapter.prepare (message id fixed) ─► store (pending, "prepared")
             ─► adapter.send ─► store (result, "sent") ─► tracker polls until settled

A message is never sent twice: the store keys records by receipt hash, so settling the
same receipt again returns its record. A record left "prepared" (the process died or the
send failed before the chain answered) is *recovered*, not resent blindly: the manager
asks the chain first (``adapter.get_status``) and sends only when the chain has never
seen the message. Recovery runs on :meth:`initialize`, on a repeated settle, on
:meth:`retry`, and from the tracker for a send whose outcome was unknown (a timeout).
A send that *reverted* is not resent on its own: it waits for :meth:`retry`.

Several processes may share one store: the receipt-hash key lets only one of them
record a receipt, and a manager only recovers records it wrote or found unfinished when
it started, never one another live process is sending.

On a live chain a transaction can sit unmined while recovery looks: resending is then
still safe, because the source contract accepts one open settlement per (payer, receipt)
and uses each settlement id once (docs/settlement.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from ..core.signing import VerifyKey
from ..errors import (
    AITBCError,
    BridgeTransactionError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    SettlementError,
)
from .bridges.base import (
    BridgeAdapter,
    BridgeStatus,
    CostEstimate,
    PreparedSettlement,
    SettlementMessage,
    SettlementResult,
)
from .codec import estimate_to_dict
from .registry import AdapterSet, enabled_configs, load_adapter
from .store import (
    SEND_PREPARED,
    SEND_SENT,
    SettlementRecord,
    SettlementStore,
    with_result,
)
from .tracker import SettlementTracker
from .validation import (
    DEFAULT_MAX_MESSAGE_BYTES,
    check_chains,
    trusted_keys_from,
    validate_message,
)

__all__ = ["DEFAULT_STORAGE", "BridgeManager"]

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_STORAGE = Path("~/.aitbc/settlements.db")
_ACTIVE = (BridgeStatus.PENDING, BridgeStatus.IN_PROGRESS)


async def _guard(bridge: str, call: Awaitable[T]) -> T:
    """Await an adapter call; a plugin's stray exception becomes a SettlementError."""
    try:
        return await call
    except AITBCError:
        raise
    except Exception as exc:  # a third-party adapter leaked a library error
        raise SettlementError(f"bridge {bridge!r} failed: {exc!r}") from exc


def _check_same_destination(record: SettlementRecord, message: SettlementMessage) -> None:
    """A receipt settles once: asking again for another chain or payee is a conflict."""
    stored = record.prepared.message
    if (stored.target_chain_id, stored.recipient.lower()) != (
        message.target_chain_id,
        message.recipient.lower(),
    ):
        raise ConflictError(
            f"receipt {message.receipt_hash} is already settled as {record.message_id} "
            f"to {stored.recipient} on chain {stored.target_chain_id}",
            status=409,
            code="already_settled",
        )


def _invalid_state(record: SettlementRecord, why: str) -> ConflictError:
    status = record.result.status.value
    return ConflictError(
        f"settlement {record.message_id} is {status}; {why}", status=409, code="invalid_state"
    )


def _changes(stored: SettlementResult, seen: SettlementResult) -> bool:
    """Whether the chain's answer says anything the record does not: a poll that learns
    nothing new must not cost a durable write (each is an fsync on SQLite)."""
    return (
        seen.status != stored.status
        or seen.error_message != stored.error_message
        or (seen.transaction_hash or stored.transaction_hash) != stored.transaction_hash
        or (seen.gas_used is not None and seen.gas_used != stored.gas_used)
        or (seen.fee_paid is not None and seen.fee_paid != stored.fee_paid)
    )


def _not_on_chain(result: SettlementResult) -> bool:
    """The adapter's way of saying "the chain never saw this message"."""
    return result.status is BridgeStatus.PENDING and result.transaction_hash is None


class BridgeManager:
    """Cross-chain settlement through pluggable bridge adapters with a durable store.

    ``storage`` is a SQLite path, a SQLAlchemy URL, an open SettlementStore (not closed by
    the manager) or None for ``~/.aitbc/settlements.db``. ``trusted_keys`` are the
    coordinator keys receipts must be signed with (key id → VerifyKey, or /v1/info
    ``signing_keys`` entries); without them no settlement is accepted.
    """

    def __init__(
        self,
        storage: str | Path | SettlementStore | None = None,
        *,
        trusted_keys: Mapping[str, VerifyKey] | Iterable[Any] | None = None,
        poll_interval: float = 2.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self._storage = DEFAULT_STORAGE if storage is None else storage
        self._store: SettlementStore | None = None
        self._adapters = AdapterSet()
        self._send_locks: dict[str, asyncio.Lock] = {}
        self._trusted: dict[str, VerifyKey] = {}
        if trusted_keys is not None:
            self.set_trusted_keys(trusted_keys)
        self._tracker = SettlementTracker(self._refresh_tracked, poll_interval)
        # Receipt hashes whose records this manager may recover: the ones it wrote, and
        # the unfinished ones it found at initialize. A record another live process just
        # wrote is never resent from here, even if it still reads "prepared".
        self._owned: set[str] = set()
        self.max_message_bytes = max_message_bytes

    # -- setup ---------------------------------------------------------------------

    def set_trusted_keys(self, keys: Mapping[str, VerifyKey] | Iterable[Any]) -> None:
        """Replace the coordinator keys receipts are verified against."""
        if isinstance(keys, Mapping):
            self._trusted = trusted_keys_from(keys.values())
        else:
            self._trusted = trusted_keys_from(keys)

    @property
    def has_trusted_keys(self) -> bool:
        return bool(self._trusted)

    def register_adapter(self, name: str, adapter: BridgeAdapter) -> None:
        """Add a ready adapter (a plugin or a test double) under ``name``.

        If :meth:`initialize` later gets a config for ``name``, the adapter is initialized
        with it; otherwise the caller is expected to have initialized it.
        """
        self._adapters.add(name, adapter)

    @property
    def bridges(self) -> list[str]:
        """Names of the usable bridges, in preference order."""
        return self._adapters.names()

    async def initialize(self, configs: Mapping[str, Any] | None = None) -> None:
        """Open the store, load and initialize the enabled bridges, resume tracking.

        ``configs`` maps bridge names to adapter configs; ``{"enabled": False}`` skips one.
        Names not registered are loaded from the ``aitbc.bridges`` entry points. Raises
        BridgeNotFoundError for an unknown name, ConfigurationError for bad configs.
        """
        for name, config in enabled_configs(configs or {}).items():
            if name not in self._adapters:
                self._adapters.add(name, load_adapter(name, self._adapters.names()))
            adapter = self._adapters.get(name)
            await _guard(name, adapter.initialize(config))
        if self._store is None:
            self._store = await self._open_store()
        await self._resume()

    async def _open_store(self) -> SettlementStore:
        if isinstance(self._storage, SettlementStore):
            return self._storage
        return await SettlementStore.open(self._storage)

    async def _resume(self) -> None:
        for record in await self.store.list_unfinished():
            if record.bridge_name not in self._adapters:
                log.warning(
                    "settlement %s uses bridge %r, which is not enabled: not tracked",
                    record.message_id,
                    record.bridge_name,
                )
                continue
            self._owned.add(record.prepared.message.receipt_hash)
            if record.send_state == SEND_PREPARED:
                await self._recover_logged(record)
            else:
                self._tracker.track(record.message_id)

    async def _recover_logged(self, record: SettlementRecord) -> None:
        try:
            await self._recover(record)
        except AITBCError as exc:  # one bad record must not stop the others resuming
            log.warning("settlement %s: recovery failed: %s", record.message_id, exc)

    @property
    def store(self) -> SettlementStore:
        """The open store; ConfigurationError before :meth:`initialize`."""
        if self._store is None:
            raise ConfigurationError("BridgeManager.initialize() has not been called")
        return self._store

    async def close(self) -> None:
        """Stop tracking, close the adapters and the store (if the manager opened it)."""
        await self._tracker.close()
        for name, adapter in self._adapters.items():
            try:
                await _guard(name, adapter.close())
            except AITBCError as exc:
                log.warning("bridge %s did not close cleanly: %s", name, exc)
        store, self._store = self._store, None
        if store is not None and not isinstance(self._storage, SettlementStore):
            await store.close()

    # -- settling ------------------------------------------------------------------

    async def settle_cross_chain(
        self, message: SettlementMessage, bridge_name: str | None = None
    ) -> SettlementResult:
        """Validate, record and send ``message``; return its result right after sending.

        With ``bridge_name`` None the first enabled bridge supporting both chains is used.
        Settling a receipt that already has a record returns that record (recovering it if
        its send never completed). Raises BridgeNotFoundError, UnsupportedChainError,
        SettlementValidationError, ConfigurationError (no trusted keys) or
        BridgeTransactionError (the send reverted; the record stays, retry is possible).
        """
        name = bridge_name or self._adapters.choose(message)
        adapter = self._adapters.get(name)
        validate_message(
            message,
            bridge_name=name,
            supported_chains=adapter.supported_chains(),
            trusted_keys=self._trusted,
            max_message_bytes=self.max_message_bytes,
        )
        async with self._lock(name):
            existing = await self.store.get_by_receipt(message.receipt_hash)
            if existing is None:
                prepared = await _guard(name, adapter.prepare(message))
                pending = SettlementResult(prepared.message_id, BridgeStatus.PENDING, name)
                record = SettlementRecord(prepared, pending, SEND_PREPARED, 0)
                existing = await self.store.insert(record)
                if existing is record:
                    self._owned.add(message.receipt_hash)
                    return await self._send(adapter, record)
                # else another process recorded this receipt first: its record, not ours
        _check_same_destination(existing, message)
        return await self._existing(existing)

    def _lock(self, bridge: str) -> asyncio.Lock:
        # prepare() may derive the id from chain state (a nonce, a block time): two concurrent
        # prepares on one bridge would get the same id, so prepare→send is serialized.
        return self._send_locks.setdefault(bridge, asyncio.Lock())

    async def _existing(self, record: SettlementRecord) -> SettlementResult:
        ours = record.prepared.message.receipt_hash in self._owned
        if ours and record.send_state == SEND_PREPARED and record.bridge_name in self._adapters:
            return (await self._recover(record)).result
        return record.result

    async def _send(self, adapter: BridgeAdapter, record: SettlementRecord) -> SettlementResult:
        """Send a stored, prepared record and store what came of it."""
        record.attempts += 1
        try:
            result = await _guard(record.bridge_name, adapter.send(record.prepared))
        except BridgeTransactionError as exc:
            # Reverted: nothing went out. The record stays "prepared" so retry resends.
            await self._store_failure(record, BridgeStatus.FAILED, str(exc))
            raise
        except AITBCError as exc:
            # Unknown outcome (timeout, connection): pending; the tracker recovers it.
            await self._store_failure(record, BridgeStatus.PENDING, str(exc))
            self._tracker.track(record.message_id)
            raise
        record = with_result(record, result)
        record.send_state = SEND_SENT
        await self.store.update(record)
        self._track_if_active(record)
        return record.result

    async def _store_failure(
        self, record: SettlementRecord, status: BridgeStatus, error: str
    ) -> None:
        failed = SettlementResult(record.message_id, status, record.bridge_name)
        failed.error_message = error
        await self.store.update(with_result(record, failed))

    async def _recover(
        self, record: SettlementRecord, gas_limit: int | None = None
    ) -> SettlementRecord:
        """Resolve a record whose send may or may not have reached the chain.

        Found on chain: adopt the chain's status. Never seen: send it (re-prepared, with
        ``gas_limit`` when given).
        """
        adapter = self._adapters.get(record.bridge_name)
        async with self._lock(record.bridge_name):
            fresh = await self.store.get(record.message_id) or record
            if fresh.send_state != SEND_PREPARED:
                return fresh
            seen = await _guard(fresh.bridge_name, adapter.get_status(fresh.prepared))
            if not _not_on_chain(seen):
                fresh = with_result(fresh, seen)
                fresh.send_state = SEND_SENT
                await self.store.update(fresh)
                self._track_if_active(fresh)
                return fresh
            fresh = await self._reprepare(adapter, fresh, gas_limit)
            await self._send(adapter, fresh)
        return await self.store.get(fresh.message_id) or fresh

    async def _reprepare(
        self, adapter: BridgeAdapter, record: SettlementRecord, gas_limit: int | None
    ) -> SettlementRecord:
        """Prepare a never-sent record again: the chain state the id derives from may have moved
        on meanwhile, and a retry may raise the gas limit."""
        message = record.prepared.message
        if gas_limit is not None:
            message = replace(message, gas_limit=gas_limit)
        prepared = await _guard(record.bridge_name, adapter.prepare(message))
        if prepared == record.prepared:
            return record
        pending = SettlementResult(prepared.message_id, BridgeStatus.PENDING, record.bridge_name)
        pending.created_at = record.result.created_at
        renewed = SettlementRecord(prepared, pending, SEND_PREPARED, record.attempts)
        await self.store.rekey(record.message_id, renewed)
        log.info("settlement %s re-prepared as %s", record.message_id, prepared.message_id)
        return renewed

    def _track_if_active(self, record: SettlementRecord) -> None:
        if record.result.status in _ACTIVE:
            self._tracker.track(record.message_id)
        else:
            self._tracker.untrack(record.message_id)

    # -- status, retry, refund -----------------------------------------------------

    async def _record(self, message_id: str) -> SettlementRecord:
        record = await self.store.get(message_id)
        if record is None:
            raise NotFoundError(
                f"settlement {message_id} not found", status=404, code="settlement_not_found"
            )
        return record

    async def get_settlement_status(self, message_id: str) -> SettlementResult:
        """The settlement's current result, refreshed from the chain unless final.

        Raises NotFoundError (code ``settlement_not_found``) for an unknown id.
        """
        record = await self._record(message_id)
        if record.result.status.is_final or record.bridge_name not in self._adapters:
            return record.result
        if record.send_state == SEND_PREPARED:
            return record.result  # not on chain as far as we know; recovery decides
        return (await self._refresh(record)).result

    async def _refresh(self, record: SettlementRecord) -> SettlementRecord:
        adapter = self._adapters.get(record.bridge_name)
        seen = await _guard(record.bridge_name, adapter.get_status(record.prepared))
        if _changes(record.result, seen):
            record = with_result(record, seen)
            await self.store.update(record)
        return record

    async def _refresh_tracked(self, message_id: str) -> bool:
        record = await self.store.get(message_id)
        if record is None or record.bridge_name not in self._adapters:
            return False
        if record.send_state == SEND_SENT:
            record = await self._refresh(record)
        elif record.result.status is BridgeStatus.PENDING:
            # A send with an unknown outcome: ask the chain, send only if it never saw it.
            record = await self._recover(record)
        return record.result.status in _ACTIVE

    async def retry(self, message_id: str, gas_limit: int | None = None) -> SettlementResult:
        """Re-execute a failed delivery (optionally with more gas), or resend a message
        whose send reverted or never reached the chain (its id may then change: the
        returned result carries the id to follow).

        Raises ConflictError (``invalid_state``) when the settlement is not failed.
        """
        if gas_limit is not None and gas_limit <= 0:
            raise ConfigurationError("gas_limit must be positive")
        record = await self._record(message_id)
        if record.send_state == SEND_PREPARED and record.result.status in (
            BridgeStatus.FAILED,
            BridgeStatus.PENDING,
        ):
            return (await self._recover(record, gas_limit)).result
        if record.result.status not in (BridgeStatus.FAILED, BridgeStatus.IN_PROGRESS):
            # IN_PROGRESS too: a CCIP execution whose transaction ran out of gas stays
            # untouched on the OffRamp, and the adapter can re-execute it.
            raise _invalid_state(record, "only failed or in-progress settlements can be retried")
        return await self._reexecute(record, gas_limit)

    async def _reexecute(self, record: SettlementRecord, gas_limit: int | None) -> SettlementResult:
        adapter = self._adapters.get(record.bridge_name)
        record.attempts += 1
        try:
            result = await _guard(record.bridge_name, adapter.retry(record.prepared, gas_limit))
        except BridgeTransactionError as exc:
            if record.result.status is BridgeStatus.FAILED:  # still failed: newest reason
                await self._store_failure(record, BridgeStatus.FAILED, str(exc))
            raise  # an in-progress one the bridge had nothing to re-execute stays as it was
        record = with_result(record, result)
        await self.store.update(record)
        self._track_if_active(record)
        return record.result

    async def refund(self, message_id: str) -> SettlementResult:
        """Claim the escrowed payment back once the source contract's timeout passed.

        Raises ConflictError for a completed (or already refunded) settlement and
        BridgeTransactionError when the chain refuses (e.g. the timeout has not passed).
        """
        record = await self._record(message_id)
        if record.result.status.is_final:
            raise _invalid_state(record, "nothing to refund")
        adapter = self._adapters.get(record.bridge_name)
        result = await _guard(record.bridge_name, adapter.refund(record.prepared))
        record = with_result(record, result)
        await self.store.update(record)
        self._track_if_active(record)
        return record.result

    # -- quotes --------------------------------------------------------------------

    async def estimate_cost(
        self, message: SettlementMessage, bridge_name: str | None = None
    ) -> CostEstimate:
        """The bridge's fee quote for ``message`` (typed). Checks chains, not the proof."""
        name = bridge_name or self._adapters.choose(message)
        adapter = self._adapters.get(name)
        check_chains(message, name, adapter.supported_chains())
        return await _guard(name, adapter.estimate_cost(message))

    async def estimate_settlement_cost(
        self, message: SettlementMessage, bridge_name: str | None = None
    ) -> dict[str, Any]:
        """:meth:`estimate_cost` as a JSON-ready dict (fees as decimal strings)."""
        return estimate_to_dict(await self.estimate_cost(message, bridge_name), message)

    async def get_prepared(self, message_id: str) -> PreparedSettlement:
        """The stored prepared message (id, fee, adapter extras) for ``message_id``."""
        return (await self._record(message_id)).prepared
