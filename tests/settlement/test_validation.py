"""Nothing invalid goes on chain: each check refuses before prepare/send and stores nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from aitbc.core.signing import SigningKey
from aitbc.errors import (
    ConfigurationError,
    SettlementValidationError,
    UnsupportedChainError,
)
from aitbc.settlement.bridges.base import SettlementMessage
from aitbc.settlement.codec import message_from_dict, message_to_dict
from aitbc.settlement.manager import BridgeManager
from aitbc.settlement.validation import check_address, trusted_keys_from

from .memory_bridge import MemoryBridge, MemoryChains
from .receipts import make_receipt


async def _refused(
    manager: BridgeManager, chains: MemoryChains, message: SettlementMessage, error: type[Exception]
) -> str:
    with pytest.raises(error) as info:
        await manager.settle_cross_chain(message, "memory")
    assert chains.sends == 0
    assert await manager.store.get_by_receipt(message.receipt_hash) is None
    return str(info.value)


async def test_same_source_and_target_refused(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    text = await _refused(manager, chains, make_message(target=1), UnsupportedChainError)
    assert "nothing to bridge" in text


async def test_chain_the_bridge_lacks_refused(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    text = await _refused(manager, chains, make_message(target=999), UnsupportedChainError)
    assert "999" in text and "[1, 2]" in text


async def test_oversize_message_refused(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    manager.max_message_bytes = 512
    text = await _refused(manager, chains, make_message(), SettlementValidationError)
    assert "512-byte limit" in text


async def test_zero_payment_refused(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    await _refused(manager, chains, make_message(price=0), SettlementValidationError)


@pytest.mark.parametrize(
    "recipient",
    [
        "0x" + "0" * 40,  # zero address
        "0x1234",  # short
        "ab" * 20,  # no 0x
        "0x52908400098527886e0F7030069857D2E4169EE7",  # one letter in the wrong case
    ],
)
async def test_bad_recipient_refused(
    open_manager: Any, make_message: Any, chains: MemoryChains, recipient: str
) -> None:
    manager = await open_manager()
    await _refused(manager, chains, make_message(recipient=recipient), SettlementValidationError)


def test_checksummed_and_lowercase_addresses_accepted() -> None:
    check_address("0x52908400098527886E0F7030069857D2E4169EE7")
    check_address("0x52908400098527886e0f7030069857d2e4169ee7")


async def test_receipt_of_untrusted_coordinator_refused(
    open_manager: Any, chains: MemoryChains
) -> None:
    from aitbc.settlement.proof import message_from_receipt

    manager = await open_manager()
    forged = make_receipt(SigningKey.generate())
    message = message_from_receipt(forged, target_chain_id=2, recipient="0x" + "ab" * 20)
    text = await _refused(manager, chains, message, SettlementValidationError)
    assert "unknown key" in text


@pytest.mark.parametrize(
    "change",
    [
        {"payment_amount": 10**18},
        {"job_id": "job_other"},
        {"receipt_hash": "sha256:" + "0" * 64},
        {"source_chain_id": 2, "target_chain_id": 1},
        {"signature": {"alg": "ed25519", "key_id": "x", "sig": "y"}},
    ],
)
async def test_message_disagreeing_with_its_receipt_refused(
    open_manager: Any, make_message: Any, chains: MemoryChains, change: dict[str, Any]
) -> None:
    manager = await open_manager()
    message = dataclasses.replace(make_message(), **change)
    text = await _refused(manager, chains, message, SettlementValidationError)
    assert "disagrees with its receipt" in text


async def test_tampered_receipt_refused(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    message = make_message()
    receipt = dict(message.proof_data["receipt"])
    receipt["price"] = "999999"
    tampered = dataclasses.replace(message, proof_data={"receipt": receipt}, payment_amount=999999)
    text = await _refused(manager, chains, tampered, SettlementValidationError)
    assert "does not verify" in text


async def test_missing_proof_refused(
    open_manager: Any, make_message: Any, chains: MemoryChains
) -> None:
    manager = await open_manager()
    message = dataclasses.replace(make_message(), proof_data={})
    await _refused(manager, chains, message, SettlementValidationError)


async def test_no_trusted_keys_is_a_configuration_error(
    db_path: Any, chains: MemoryChains, make_message: Callable[..., SettlementMessage]
) -> None:
    manager = BridgeManager(db_path)
    manager.register_adapter("memory", MemoryBridge(chains))
    await manager.initialize()
    try:
        with pytest.raises(ConfigurationError, match="trusted coordinator keys"):
            await manager.settle_cross_chain(make_message(), "memory")
        assert chains.sends == 0
    finally:
        await manager.close()


def test_trusted_keys_from_info_entries(coordinator_key: SigningKey) -> None:
    entry = {
        "key_id": coordinator_key.key_id,
        "alg": "ed25519",
        "public_key": coordinator_key.verify_key.b64,
    }
    keys = trusted_keys_from([entry, coordinator_key.verify_key.b64])
    assert list(keys) == [coordinator_key.key_id]
    with pytest.raises(ConfigurationError):
        trusted_keys_from([42])


def test_message_json_round_trip(make_message: Any) -> None:
    message = make_message()
    assert message_from_dict(message_to_dict(message)) == message


@pytest.mark.parametrize(
    "body, field",
    [
        ({"payment_amount": 1.5}, "payment_amount"),
        ({"payment_amount": "12abc"}, "payment_amount"),
        ({"source_chain_id": True}, "source_chain_id"),
        ({"recipient": 5}, "recipient"),
        ({"proof_data": []}, "proof_data"),
    ],
)
def test_malformed_message_json_names_the_field(
    make_message: Any, body: dict[str, Any], field: str
) -> None:
    data = {**message_to_dict(make_message()), **body}
    with pytest.raises(SettlementValidationError, match=field):
        message_from_dict(data)


def test_message_json_missing_fields() -> None:
    with pytest.raises(SettlementValidationError, match="lacks"):
        message_from_dict({"job_id": "j"})
