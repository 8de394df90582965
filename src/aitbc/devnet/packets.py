"""Outbound messages as the relayer sees them on a source chain, decoded from events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from aitbc.settlement.bridges._codec import lz_receive_gas
from aitbc.settlement.bridges.ccip import EVM2EVM_FIELDS


@dataclass(frozen=True)
class LzPacket:
    """A LayerZero packet decoded from ``PacketSent``."""

    nonce: int
    src_eid: int
    sender: bytes
    dst_eid: int
    receiver: str
    guid: bytes
    message: bytes
    gas_limit: int

    @property
    def message_id(self) -> str:
        return "0x" + self.guid.hex()

    @property
    def origin(self) -> tuple[int, bytes, int]:
        return (self.src_eid, self.sender, self.nonce)

    @property
    def payload_hash(self) -> bytes:
        return keccak(self.guid + self.message)


@dataclass(frozen=True)
class CcipPacket:
    """A CCIP message decoded from ``CCIPSendRequested`` (the whole EVM2EVMMessage)."""

    message: tuple[Any, ...]
    dst_selector: int

    @property
    def src_selector(self) -> int:
        return int(self.message[0])

    @property
    def sequence_number(self) -> int:
        return int(self.message[3])

    @property
    def gas_limit(self) -> int:
        return int(self.message[4])

    @property
    def message_id_bytes(self) -> bytes:
        return bytes(self.message[12])

    @property
    def message_id(self) -> str:
        return "0x" + self.message_id_bytes.hex()


def decode_packet_sent(args: Any) -> LzPacket:
    """Decode the ``encodedPayload`` / ``options`` of a PacketSent event."""
    raw = bytes(args["encodedPayload"])
    # Packet v1: version(1) nonce(8) srcEid(4) sender(32) dstEid(4) receiver(32) guid(32) message
    return LzPacket(
        nonce=int.from_bytes(raw[1:9], "big"),
        src_eid=int.from_bytes(raw[9:13], "big"),
        sender=raw[13:45],
        dst_eid=int.from_bytes(raw[45:49], "big"),
        receiver=to_checksum_address(raw[61:81]),
        guid=raw[81:113],
        message=raw[113:],
        gas_limit=lz_receive_gas(bytes(args["options"])),
    )


def evm2evm_tuple(message: Any) -> tuple[Any, ...]:
    """An EVM2EVMMessage event argument as the tuple a contract call takes."""
    values = [message[name] for name in EVM2EVM_FIELDS]
    values[10] = [(t["token"], t["amount"]) if not isinstance(t, tuple) else t for t in values[10]]
    return tuple(values)


def decode_ccip_sent(args: Any, dst_selector: int) -> CcipPacket:
    """Decode a CCIPSendRequested event whose message goes to ``dst_selector``."""
    return CcipPacket(evm2evm_tuple(args["message"]), dst_selector)
