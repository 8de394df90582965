"""The chat executor's configuration errors (no inference server needed)."""

from __future__ import annotations

import pytest

from aitbc.demo.tiny_llm import free_port
from aitbc.errors import ConfigurationError
from aitbc.miner import load_executors
from aitbc.miner.executors.chat import ENV_BASE_URL, ChatExecutor, InferenceServer


def test_chat_needs_a_server_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_BASE_URL, raising=False)
    with pytest.raises(ConfigurationError, match=ENV_BASE_URL):
        ChatExecutor()
    with pytest.raises(ConfigurationError, match="must be http"):
        InferenceServer("ftp://example")


def test_an_unreachable_server_fails_the_miner_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_BASE_URL, f"http://127.0.0.1:{free_port()}")  # nothing listens
    with pytest.raises(ConfigurationError, match="cannot list models at"):
        load_executors(["chat"])
