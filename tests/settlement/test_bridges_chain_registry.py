"""The chain registry and the bridges' byte encodings (no chain needed)."""

from __future__ import annotations

import pytest

from aitbc.errors import ConfigurationError, UnsupportedChainError
from aitbc.settlement.bridges._codec import (
    address_to_bytes32,
    encode_generic_extra_args_v2,
    encode_lz_receive_option,
    lz_guid,
    lz_receive_gas,
)
from aitbc.settlement.chains import ChainEntry, ChainRegistry, default_registry


def test_public_chains_have_distinct_published_ids() -> None:
    registry = default_registry()
    assert (registry.lz_eid(1), registry.ccip_selector(1)) == (30101, 5009297550715157269)
    assert (registry.lz_eid(42161), registry.ccip_selector(42161)) == (30110, 4949039107694359620)
    assert (registry.lz_eid(137), registry.ccip_selector(137)) == (30109, 4051577828743386545)
    assert registry.chain_for_eid(30184) == 8453
    assert registry.chain_for_selector(5009297550715157269) == 1


def test_unknown_chains_raise_unsupported_chain_error() -> None:
    registry = default_registry()
    for lookup in (
        lambda: registry.get(999),
        lambda: registry.chain_for_eid(1),
        lambda: registry.chain_for_selector(2),
    ):
        with pytest.raises(UnsupportedChainError):
            lookup()
    registry.register(ChainEntry(31337, "devnet", lz_eid=50001))
    assert registry.lz_eid(31337) == 50001
    with pytest.raises(UnsupportedChainError, match="no CCIP chain selector"):
        registry.ccip_selector(31337)


def test_two_chains_may_not_share_a_bridge_id() -> None:
    registry = ChainRegistry([ChainEntry(1, "a", 30101, 7)])
    with pytest.raises(ConfigurationError, match="eid 30101"):
        registry.register(ChainEntry(2, "b", 30101, 8))
    with pytest.raises(ConfigurationError, match="selector 7"):
        registry.register(ChainEntry(2, "b", 30102, 7))
    registry.register(ChainEntry(1, "a-renamed", 30101, 7))
    assert registry.get(1).name == "a-renamed" and 1 in registry and len(list(registry)) == 1


def test_type3_options_carry_the_lz_receive_gas() -> None:
    options = encode_lz_receive_option(200_000)
    assert options.hex() == "0003" + "01" + "0011" + "01" + (200_000).to_bytes(16, "big").hex()
    assert lz_receive_gas(options) == 200_000
    assert lz_receive_gas(options + encode_lz_receive_option(5, value=1)[2:]) == 200_005
    assert lz_receive_gas(b"\x00\x01") == 0


def test_guid_is_the_packed_keccak_of_the_path() -> None:
    sender = address_to_bytes32("0x" + "11" * 20)
    receiver = address_to_bytes32("0x" + "22" * 20)
    guid = lz_guid(1, 30101, sender, 30110, receiver)
    assert len(guid) == 32 and guid != lz_guid(2, 30101, sender, 30110, receiver)
    assert sender == bytes(12) + b"\x11" * 20


def test_generic_extra_args_v2_has_the_ccip_tag() -> None:
    args = encode_generic_extra_args_v2(300_000, True)
    assert args[:4].hex() == "181dcf10"
    assert int.from_bytes(args[4:36], "big") == 300_000 and args[36:68] == (1).to_bytes(32, "big")
