"""Outbound messages as the relayer sees them on a source chain, decoded from events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from aitbc.settlement.bridges._codec import lz_receive_gas


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
    """A CCIP message decoded from the router's ``CCIPMessageSent``."""

    message_id_bytes: bytes
    src_selector: int
    dst_selector: int
    sequence_number: int
    sender: str
    receiver: str
    data: bytes
    gas_limit: int

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


def decode_ccip_sent(args: Any, src_selector: int) -> CcipPacket:
    """Decode a CCIPMessageSent event emitted by the router of chain ``src_selector``."""
    receiver = bytes(args["receiver"])
    return CcipPacket(
        message_id_bytes=bytes(args["messageId"]),
        src_selector=src_selector,
        dst_selector=int(args["destChainSelector"]),
        sequence_number=int(args["sequenceNumber"]),
        sender=to_checksum_address(args["sender"]),
        receiver=to_checksum_address(receiver[-20:]),
        data=bytes(args["data"]),
        gas_limit=int(args["gasLimit"]),
    )
