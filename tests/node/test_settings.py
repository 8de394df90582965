"""NodeSettings from arguments and AITBC_NODE_* variables."""

from __future__ import annotations

import pytest

from aitbc.errors import ConfigurationError
from aitbc.node.settings import NodeSettings


def test_env_round_trip_and_overrides() -> None:
    settings = NodeSettings.from_env(
        {
            "AITBC_NODE_CHAIN_ID": "5",
            "AITBC_NODE_LEASE_SECONDS": "2.5",
            "AITBC_NODE_ADMIN_KEY": "aitbc_k",
            "AITBC_NODE_REDIS_URL": "",
            "AITBC_NODE_OPENTELEMETRY": "Yes",
        }
    )
    assert settings.opentelemetry is True
    assert NodeSettings.from_env({"AITBC_NODE_OPENTELEMETRY": "off"}).opentelemetry is False
    assert NodeSettings().opentelemetry is False
    assert (settings.chain_id, settings.lease_seconds, settings.admin_key) == (5, 2.5, "aitbc_k")
    assert settings.redis_url is None
    assert NodeSettings.from_env(settings.to_env()) == settings
    assert settings.with_changes(chain_id=7, admin_key=None).chain_id == 7


@pytest.mark.parametrize(
    "env",
    [
        {"AITBC_NODE_CHAIN_ID": "one"},
        {"AITBC_NODE_MAX_ATTEMPTS": "0"},
        {"AITBC_NODE_LEASE_SECONDS": "-1"},
        {"AITBC_NODE_OPENTELEMETRY": "maybe"},
    ],
)
def test_bad_values_are_configuration_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        NodeSettings.from_env(env)
