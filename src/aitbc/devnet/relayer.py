"""The devnet relayer: the off-chain half of both bridges.

It watches every chain's mock endpoint, router and destination contract. For LayerZero it
plays DVN (``verify``) and executor (``lzReceive``, reporting a failed run with
``lzReceiveAlert``); for CCIP it plays the commit and execute DONs of the destination's
OffRamp (``commit`` then ``execute``). Messages go both ways: orders from a source to a
destination, and outcome reports back. It also plays the liquidity provider's keeper: when
a destination pays an order it calls the permissionless ``report`` there, whose message
releases the escrow to the provider on the source. Nothing it does is trusted by the
contracts. A FaultPlan can drop, delay, duplicate, reorder or under-gas messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak
from web3.contract import AsyncContract

from aitbc.contracts import load_artifact
from aitbc.errors import AITBCError
from aitbc.settlement.bridges._evm import TxSender, Web3Client, close_web3, guarded, open_web3
from aitbc.settlement.bridges.ccip import EXECUTE_OVERHEAD as CCIP_EXECUTE_OVERHEAD
from aitbc.settlement.bridges.layerzero import EXECUTOR_OVERHEAD as LZ_EXECUTOR_OVERHEAD

from .config import ChainInfo
from .faults import FaultPlan, FaultRule
from .packets import CcipPacket, LzPacket, decode_ccip_sent, decode_packet_sent

log = logging.getLogger(__name__)

LZ_VERIFIED_NOT_EXECUTABLE, LZ_EXECUTABLE = 1, 2
STEP_GAS = {"verify": 150_000, "commit": 150_000, "report": 400_000, "alert": 300_000}


@dataclass(frozen=True)
class DeliveryAttempt:
    """One relayer action on chain (or a deliberate non-action, for ``dropped``)."""

    bridge: str
    message_id: str
    step: str
    ok: bool
    tx_hash: str = ""
    detail: str = ""


class _Chain:
    """The relayer's handles on one chain."""

    def __init__(self, info: ChainInfo, relayer_key: str) -> None:
        self.info = info
        self.w3: Web3Client = open_web3(info.rpc_url)
        self.sender = TxSender(self.w3, relayer_key, info.chain_id)
        c = info.contracts
        self.endpoint = self._contract(c.lz_endpoint, "MockLayerZeroEndpoint")
        self.router = self._contract(c.ccip_router, "MockCCIPRouter")
        self.destination = self._contract(c.destination, "AitbcSettlementDestination")
        self.off_ramps: dict[int, AsyncContract] = {}
        self.next_block = 0

    async def off_ramp(self, src_selector: int) -> AsyncContract | None:
        """This chain's OffRamp for messages from ``src_selector`` (from the router)."""
        if src_selector not in self.off_ramps:
            ramps = await guarded("getOffRamps", self.router.functions.getOffRamps().call())
            for selector, address in ramps:
                self.off_ramps[int(selector)] = self._contract(address, "MockCCIPOffRamp")
        return self.off_ramps.get(src_selector)

    def _contract(self, address: str, name: str) -> AsyncContract:
        return self.w3.eth.contract(address=address, abi=load_artifact(name).abi)  # type: ignore[call-overload, no-any-return]


class Relayer:
    """Delivers messages between the devnet chains; ``start`` it, ``stop`` it when done."""

    def __init__(self, chains: Sequence[ChainInfo], relayer_key: str, poll_s: float = 0.05) -> None:
        self.faults = FaultPlan()
        self.attempts: list[DeliveryAttempt] = []
        self._infos = list(chains)
        self._key = relayer_key
        self._poll_s = poll_s
        self._chains: dict[int, _Chain] = {}
        self._by_eid: dict[int, _Chain] = {}
        self._by_selector: dict[int, _Chain] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[int, list[asyncio.Event]] = {}
        # LayerZero packets verified but waiting for an earlier nonce, per destination chain
        self._parked: dict[int, dict[tuple[int, bytes, int], tuple[LzPacket, int | None, str]]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    def add_fault(self, rule: FaultRule) -> None:
        """Inject ``rule`` into future deliveries (safe from any thread)."""
        self.faults.add(rule)

    def attempts_for(self, message_id: str) -> list[DeliveryAttempt]:
        """Every attempt recorded for ``message_id`` (0x hex, any case)."""
        return [a for a in list(self.attempts) if a.message_id == message_id.lower()]

    async def start(self) -> None:
        """Connect to every chain and start watching from the current block."""
        for info in self._infos:
            chain = _Chain(info, self._key)
            chain.next_block = await chain.w3.eth.block_number + 1
            self._chains[info.chain_id] = chain
            self._by_eid[info.lz_eid] = chain
            self._by_selector[info.ccip_selector] = chain
        self._loop_task = asyncio.create_task(self._run(), name="aitbc-relayer")

    async def stop(self) -> None:
        """Stop watching, cancel pending deliveries and close connections."""
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        for chain in self._chains.values():
            await close_web3(chain.w3)

    async def _run(self) -> None:
        while True:
            for chain in self._chains.values():
                try:
                    await self._poll(chain)
                except AITBCError as exc:  # a chain hiccup must not kill the relayer
                    log.warning("relayer: polling chain %s failed: %s", chain.info.chain_id, exc)
                except Exception:  # nor an event it cannot decode: log it and go on
                    log.exception("relayer: unexpected error on chain %s", chain.info.chain_id)
            await asyncio.sleep(self._poll_s)

    async def _poll(self, chain: _Chain) -> None:
        latest = await guarded("eth_blockNumber", chain.w3.eth.block_number)
        if latest < chain.next_block:
            return
        spec: Any = {
            "fromBlock": chain.next_block,
            "toBlock": latest,
            "address": [chain.endpoint.address, chain.router.address, chain.destination.address],
        }
        logs = await guarded("eth_getLogs", chain.w3.eth.get_logs(spec))
        chain.next_block = latest + 1
        for entry in logs:
            self._dispatch(chain, entry)

    def _dispatch(self, chain: _Chain, entry: Any) -> None:
        topic = bytes(entry["topics"][0])
        if entry["address"] == chain.endpoint.address:
            self._on_endpoint_log(chain, entry, topic)
        elif entry["address"] == chain.router.address:
            self._on_router_log(chain, entry, topic)
        elif topic == _topic(chain.destination.events.Paid):
            args = chain.destination.events.Paid().process_log(entry)["args"]
            self._spawn(self._report(chain, args))

    def _on_endpoint_log(self, chain: _Chain, entry: Any, topic: bytes) -> None:
        events = chain.endpoint.events
        if topic == _topic(events.PacketSent):
            packet = decode_packet_sent(events.PacketSent().process_log(entry)["args"])
            self._spawn(
                self._schedule(
                    "layerzero", packet.message_id, self._by_eid.get(packet.dst_eid), packet
                )
            )
        elif topic in (_topic(events.PacketDelivered), _topic(events.InboundNonceSkipped)):
            # the path may have moved on: execute what waited for an earlier nonce
            self._spawn(self._unpark(chain))

    def _on_router_log(self, chain: _Chain, entry: Any, topic: bytes) -> None:
        events = chain.router.events
        if topic == _topic(events.CCIPSendRequested):
            args = events.CCIPSendRequested().process_log(entry)["args"]
            self._spawn(self._route_ccip(chain, args))

    async def _route_ccip(self, src: _Chain, args: Any) -> None:
        # The id hashes the lane (source and destination selectors): the destination is
        # the chain whose selector reproduces it, as the real OnRamp per lane would tell.
        packet = None
        for dst in self._chains.values():
            if dst is src:
                continue
            candidate = decode_ccip_sent(args, dst.info.ccip_selector)
            lane_id = await guarded(
                "hashMessage",
                src.router.functions.hashMessage(candidate.message, dst.info.ccip_selector).call(),
            )
            if bytes(lane_id) == candidate.message_id_bytes:
                packet = candidate
                break
        if packet is None:
            message_id = "0x" + bytes(args["message"]["messageId"]).hex()
            self._record("ccip", message_id, "unroutable", False, detail="unknown destination")
            return
        await self._schedule(
            "ccip", packet.message_id, self._by_selector.get(packet.dst_selector), packet
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(self._logged(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _logged(coro: Any) -> None:
        # A delivery that fails unexpectedly is logged, never left as an unretrieved error.
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("relayer: delivery task failed")

    async def _schedule(
        self, bridge: str, message_id: str, dst: _Chain | None, packet: Any
    ) -> None:
        if dst is None:
            self._record(bridge, message_id, "unroutable", False, detail="unknown destination")
            return
        # Faults and attempts are keyed by our settlement id when the message is an order
        # (what the SDK knows before sending), else by the bridge's message id.
        message_id = _order_id(packet) or message_id
        rules = self.faults.take(bridge, message_id)
        actions = {rule.action: rule for rule in rules}
        if "drop" in actions:
            self._record(bridge, message_id, "dropped", True)
            return
        if "delay" in actions:
            await asyncio.sleep(actions["delay"].delay_s)
        if "reorder" in actions:
            await self._hold(dst.info.chain_id, actions["reorder"].delay_s)
        gas = actions["under_gas"].gas_limit if "under_gas" in actions else None
        for _ in range(2 if "duplicate" in actions else 1):
            await self._deliver(bridge, dst, packet, gas, message_id)
        self._release(dst.info.chain_id)

    async def _hold(self, chain_id: int, max_wait_s: float) -> None:
        released = asyncio.Event()
        self._held.setdefault(chain_id, []).append(released)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(released.wait(), max_wait_s)

    def _release(self, chain_id: int) -> None:
        for event in self._held.pop(chain_id, []):
            event.set()

    async def _deliver(
        self, bridge: str, dst: _Chain, packet: Any, gas: int | None, key: str
    ) -> None:
        if isinstance(packet, LzPacket):
            await self._deliver_lz(dst, packet, gas, key)
        elif isinstance(packet, CcipPacket):
            await self._deliver_ccip(dst, packet, gas, key)

    async def _deliver_lz(self, dst: _Chain, p: LzPacket, gas: int | None, key: str) -> None:
        fns = dst.endpoint.functions
        verify = fns.verify(p.origin, p.receiver, p.payload_hash)
        await self._step(dst, "layerzero", key, "verify", verify)
        state = await guarded("executable", fns.executable(p.origin, p.receiver).call())
        if int(state) == LZ_VERIFIED_NOT_EXECUTABLE:
            # an earlier nonce of the path is not verified: execute once it is (or skipped)
            self._parked.setdefault(dst.info.chain_id, {})[p.origin] = (p, gas, key)
            self._record("layerzero", key, "blocked", False, detail="waiting for an earlier nonce")
            return
        await self._execute_lz(dst, p, gas, key)

    async def _execute_lz(self, dst: _Chain, p: LzPacket, gas: int | None, key: str) -> None:
        fns = dst.endpoint.functions
        exec_gas = (gas if gas is not None else p.gas_limit) + LZ_EXECUTOR_OVERHEAD
        call = fns.lzReceive(p.origin, p.receiver, p.guid, p.message, b"")
        ok = await self._step(dst, "layerzero", key, "execute", call, exec_gas)
        if not ok:
            reason = await self._revert_data(dst, call, exec_gas)
            alert = fns.lzReceiveAlert(
                p.origin, p.receiver, p.guid, exec_gas, 0, p.message, b"", reason
            )
            await self._step(dst, "layerzero", key, "alert", alert)

    async def _unpark(self, dst: _Chain) -> None:
        parked = self._parked.get(dst.info.chain_id, {})
        for origin in sorted(parked, key=lambda o: o[2]):
            entry = parked.pop(origin, None)  # taken before any await: executed once
            if entry is None:
                continue
            p, gas, key = entry
            call = dst.endpoint.functions.executable(origin, p.receiver)
            state = int(await guarded("executable", call.call()))
            if state == LZ_VERIFIED_NOT_EXECUTABLE:
                parked[origin] = entry
            elif state == LZ_EXECUTABLE:
                await self._execute_lz(dst, p, gas, key)

    async def _deliver_ccip(self, dst: _Chain, p: CcipPacket, gas: int | None, key: str) -> None:
        ramp = await dst.off_ramp(p.src_selector)
        if ramp is None:
            self._record("ccip", key, "unroutable", False, detail="no OffRamp")
            return
        fns = ramp.functions
        commit = fns.commit([p.message_id_bytes], [p.sequence_number])
        await self._step(dst, "ccip", key, "commit", commit)
        limit = gas if gas is not None else p.gas_limit
        exec_gas = limit + limit // 63 + CCIP_EXECUTE_OVERHEAD
        report: tuple[Any, ...] = ([p.message], [[]], [], 0)
        await self._step(dst, "ccip", key, "execute", fns.execute(report), exec_gas)

    async def _report(self, dst: _Chain, paid: Any) -> None:
        """The liquidity provider's keeper: send the Paid outcome back to the source."""
        bridge, route, settlement = (
            int(paid["bridge"]),
            int(paid["sourceRoute"]),
            paid["settlementId"],
        )
        fns = dst.destination.functions
        fee = await guarded("quoteReport", fns.quoteReport(bridge, route, settlement).call())
        name = "layerzero" if bridge == 1 else "ccip"
        message_id = "0x" + bytes(paid["messageId"]).hex()
        try:
            outcome = await dst.sender.transact(
                "report",
                fns.report(bridge, route, settlement),
                value=int(fee),
                gas=STEP_GAS["report"],
            )
        except AITBCError as exc:
            self._record(name, message_id, "report", False, detail=str(exc))
            return
        self._record(name, message_id, "report", outcome.status == 1, outcome.tx_hash)

    async def _step(
        self,
        chain: _Chain,
        bridge: str,
        message_id: str,
        step: str,
        call: Any,
        gas: int | None = None,
    ) -> bool:
        # Explicit gas, no estimate: a delivery that must fail is sent and fails *on chain*.
        try:
            outcome = await chain.sender.transact(
                step, call, gas=gas or STEP_GAS[step], check=False
            )
        except AITBCError as exc:
            self._record(bridge, message_id, step, False, detail=str(exc))
            return False
        self._record(bridge, message_id, step, outcome.status == 1, outcome.tx_hash)
        return outcome.status == 1

    async def _revert_data(self, chain: _Chain, call: Any, gas: int) -> bytes:
        try:
            await call.call({"from": chain.sender.address, "gas": gas})
        except Exception as exc:  # the replay is expected to revert; keep its data
            data = getattr(exc, "data", None)
            if isinstance(data, str) and data.startswith("0x"):
                return bytes.fromhex(data[2:])
            return str(exc).encode()[:256]
        return b""

    def _record(
        self, bridge: str, message_id: str, step: str, ok: bool, tx_hash: str = "", detail: str = ""
    ) -> None:
        self.attempts.append(DeliveryAttempt(bridge, message_id.lower(), step, ok, tx_hash, detail))


def _topic(event: Any) -> bytes:
    from eth_utils.abi import event_abi_to_log_topic

    return bytes(event_abi_to_log_topic(event.abi))


ORDER_TYPES = ["address", "bytes32", "address", "uint256", "uint64"]
ORDER_BYTES = 5 * 32


def _order_id(packet: Any) -> str | None:
    """The settlement id of an order message (``None`` for a report)."""
    data = packet.message if isinstance(packet, LzPacket) else bytes(packet.message[9])
    if len(data) != ORDER_BYTES:
        return None
    return "0x" + keccak(encode(ORDER_TYPES, list(decode(ORDER_TYPES, data)))).hex()
