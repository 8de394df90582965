"""Validated WebSocketTransport settings (config keys: see the package docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ConfigurationError

__all__ = ["WSSettings"]


def _setting(config: Mapping[str, Any], key: str, default: float | None) -> float | None:
    value = config.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"config[{key!r}] must be a non-negative number, got {value!r}")
    return float(value)


class WSSettings:
    """Validated transport settings (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        url = config.get("ws_url")
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise ConfigurationError("WebSocketTransport needs config['ws_url'] (ws:// or wss://)")
        self.url = url
        headers = dict(config.get("headers") or {})
        if config.get("api_key"):
            headers["X-API-Key"] = str(config["api_key"])
        self.headers = {str(k): str(v) for k, v in headers.items()}
        self.timeout = _setting(config, "timeout", 30.0)
        self.open_timeout = _setting(config, "open_timeout", 10.0)
        self.close_timeout = _setting(config, "close_timeout", 0.5) or 0.0
        self.queue_size = max(1, int(_setting(config, "queue_size", 1000) or 1))
        self.reconnect = bool(config.get("reconnect", True))
        self.base_delay = _setting(config, "reconnect_base_delay", 0.05) or 0.0
        self.max_delay = _setting(config, "reconnect_max_delay", 5.0) or 0.0
        attempts = config.get("max_reconnect_attempts")
        self.max_attempts = None if attempts is None else int(attempts)
        self.heartbeat = _setting(config, "heartbeat_interval", 15.0)
        self.max_size = int(_setting(config, "max_message_size", 16 * 2**20) or 2**20)
        self.proxy: str | None = config.get("proxy")
        chain = config.get("chain_id")
        self.chain_id = None if chain is None else int(chain)
