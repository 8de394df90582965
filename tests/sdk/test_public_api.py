"""The public surface: a sorted ``__all__`` that names exactly the public names."""

from __future__ import annotations

import aitbc
import aitbc.api
import aitbc.transports


def test_all_is_sorted_and_complete() -> None:
    for module in (aitbc, aitbc.transports, aitbc.api):
        names = module.__all__
        assert names == sorted(names), f"{module.__name__}.__all__ is not sorted"
        assert len(set(names)) == len(names)
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name} missing"
        public = {
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and not getattr(v, "__name__", "").startswith(module.__name__)
            and getattr(v, "__module__", "").startswith("aitbc")
        }
        assert public <= set(names), f"{module.__name__} exports {public - set(names)} silently"


def test_seed_names_are_importable_from_the_top() -> None:
    from aitbc import AITBCClient, HTTPTransport, Transport  # noqa: F401


def test_every_seed_class_is_importable_from_the_top() -> None:
    from aitbc import (
        BridgeManager,
        BridgeStatus,
        CrossChainTransport,
        MultiNetworkClient,
        NetworkConfig,
        SettlementMessage,
        SettlementResult,
        WebSocketTransport,
    )

    assert issubclass(CrossChainTransport, aitbc.Transport)
    assert issubclass(WebSocketTransport, aitbc.Transport)
    assert BridgeManager.__module__ == "aitbc.settlement.manager"
    assert {s.value for s in BridgeStatus} == {
        "pending",
        "in_progress",
        "completed",
        "failed",
        "refunded",
    }
    assert SettlementMessage.__name__ == "SettlementMessage"
    assert SettlementResult.__name__ == "SettlementResult"
    assert MultiNetworkClient().default_network is None
    assert NetworkConfig.__dataclass_fields__["bridges"] is not None


def test_an_unknown_top_level_name_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        aitbc.Nope  # noqa: B018
