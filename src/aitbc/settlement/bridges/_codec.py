"""Byte-level encodings the bridges define: LayerZero GUIDs and type-3 options, CCIP
extraArgs. Pure functions, no I/O."""

from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.crypto import keccak

TYPE_3 = 3
EXECUTOR_WORKER = 1
OPTION_LZRECEIVE = 1
GENERIC_EXTRA_ARGS_V2_TAG = bytes.fromhex("181dcf10")


def lz_guid(nonce: int, src_eid: int, sender: bytes, dst_eid: int, receiver: bytes) -> bytes:
    """GUID = keccak256(abi.encodePacked(uint64 nonce, uint32 srcEid, bytes32 sender,
    uint32 dstEid, bytes32 receiver)), as LayerZero V2 defines it."""
    return keccak(
        nonce.to_bytes(8, "big")
        + src_eid.to_bytes(4, "big")
        + sender
        + dst_eid.to_bytes(4, "big")
        + receiver
    )


def address_to_bytes32(address: str) -> bytes:
    """Left-pad a 20-byte 0x address to LayerZero's bytes32 form."""
    return bytes(12) + bytes.fromhex(address[2:])


def encode_lz_receive_option(gas_limit: int, value: int = 0) -> bytes:
    """Type-3 options carrying one executor lzReceive option (gas, optional value)."""
    body = bytes([OPTION_LZRECEIVE]) + gas_limit.to_bytes(16, "big")
    if value:
        body += value.to_bytes(16, "big")
    header = TYPE_3.to_bytes(2, "big") + bytes([EXECUTOR_WORKER]) + len(body).to_bytes(2, "big")
    return header + body


def lz_receive_gas(options: bytes) -> int:
    """Total executor lzReceive gas in type-3 ``options`` (0 if none or malformed)."""
    if len(options) < 2 or int.from_bytes(options[:2], "big") != TYPE_3:
        return 0
    gas, cursor = 0, 2
    while cursor + 3 <= len(options):
        worker, size = options[cursor], int.from_bytes(options[cursor + 1 : cursor + 3], "big")
        body = options[cursor + 3 : cursor + 3 + size]
        if worker == EXECUTOR_WORKER and body[:1] == bytes([OPTION_LZRECEIVE]) and len(body) >= 17:
            gas += int.from_bytes(body[1:17], "big")
        cursor += 3 + size
    return gas


def encode_generic_extra_args_v2(gas_limit: int, allow_out_of_order: bool) -> bytes:
    """CCIP GenericExtraArgsV2: tag 0x181dcf10 + abi.encode(uint256 gasLimit, bool)."""
    return GENERIC_EXTRA_ARGS_V2_TAG + encode(["uint256", "bool"], [gas_limit, allow_out_of_order])
