"""Where the client commands find the node, the key and the settlement setup.

Every setting is looked up in this order, first hit wins:

1. a command-line flag (``--node``, ``--api-key``, ...);
2. an environment variable (``AITBC_NODE_URL``, ``AITBC_API_KEY``, ``AITBC_TIMEOUT``,
   ``AITBC_DEVNET_CONFIG``, ``AITBC_SETTLEMENT_STORAGE``);
3. the config file: ``--config PATH``, else ``$AITBC_CONFIG``, else
   ``$XDG_CONFIG_HOME/aitbc/config.toml`` (``~/.config/aitbc/config.toml``)::

       node_url = "http://127.0.0.1:8000"
       api_key = "aitbc_..."
       timeout = 30

       [settlement]
       devnet_config = "devnet.json"   # written by `aitbc devnet`
       storage = "settlements.db"      # where settlements are tracked
       key = "payer"                   # the devnet key (or 0x private key) that pays fees

4. the built-in default (``http://127.0.0.1:8000``, no key, 30 s).

A file named explicitly (flag or ``$AITBC_CONFIG``) must exist; the default one may not.
Relative paths inside the file are relative to the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

DEFAULT_NODE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
CONFIG_ENV = "AITBC_CONFIG"

#: setting name -> environment variable
ENV_VARS: dict[str, str] = {
    "node_url": "AITBC_NODE_URL",
    "api_key": "AITBC_API_KEY",
    "timeout": "AITBC_TIMEOUT",
    "devnet_config": "AITBC_DEVNET_CONFIG",
    "storage": "AITBC_SETTLEMENT_STORAGE",
}
_FILE_KEYS = ("node_url", "api_key", "timeout")
_SETTLEMENT_KEYS = ("devnet_config", "storage", "key")
_PATH_KEYS = ("devnet_config", "storage")


@dataclass(frozen=True)
class Settings:
    """The resolved settings; ``sources`` says where each came from (flag, env, file,
    default) so ``aitbc config show`` can explain a surprising value."""

    node_url: str = DEFAULT_NODE_URL
    api_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    devnet_config: str | None = None
    storage: str | None = None
    key: str = "payer"
    config_file: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def transport_config(self) -> dict[str, Any]:
        """The HTTPTransport config dict for the node (key sent as ``X-API-Key``)."""
        headers = {"X-API-Key": self.api_key} if self.api_key else {}
        return {"base_url": self.node_url, "timeout": self.timeout, "default_headers": headers}

    def public_view(self) -> dict[str, Any]:
        """The settings for display: the API key masked, sources included."""
        return {
            "node_url": self.node_url,
            "api_key": mask(self.api_key),
            "timeout": self.timeout,
            "devnet_config": self.devnet_config,
            "storage": self.storage,
            "key": self.key if not self.key.startswith("0x") else mask(self.key),
            "config_file": self.config_file,
            "sources": dict(self.sources),
        }


def mask(secret: str | None) -> str | None:
    """``aitbc_abcd…wxyz``-style masking so a key can be recognised but not reused."""
    if not secret:
        return None
    return secret if len(secret) <= 8 else f"{secret[:6]}…{secret[-4:]}"


def default_config_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/aitbc/config.toml`` (``~/.config`` when unset)."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aitbc" / "config.toml"


def read_config_file(path: Path, *, required: bool) -> dict[str, Any]:
    """The file's settings flattened to ``Settings`` names, paths made absolute.

    Raises ConfigurationError when a required file is missing, or any file is not
    valid TOML or holds a value of the wrong type.
    """
    if not path.is_file():
        if required:
            raise ConfigurationError(f"config file {path} does not exist")
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc
    flat = {k: raw[k] for k in _FILE_KEYS if k in raw}
    section = raw.get("settlement", {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"{path}: [settlement] must be a table")
    flat.update({k: section[k] for k in _SETTLEMENT_KEYS if k in section})
    for name, value in flat.items():
        _check_type(path, name, value)
    for name in _PATH_KEYS:
        if name in flat:
            flat[name] = str((path.parent / str(flat[name])).expanduser())
    return flat


def _check_type(path: Path, name: str, value: Any) -> None:
    if name == "timeout":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigurationError(f"{path}: {name} has the wrong type ({value!r})")


def resolve(
    flags: Mapping[str, Any],
    *,
    config_path: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from ``flags`` (None = not given), then the environment, then the file.

    Raises ConfigurationError for an unreadable file or a value that does not parse.
    """
    env = os.environ if environ is None else environ
    explicit = config_path or env.get(CONFIG_ENV) or None
    path = Path(explicit).expanduser() if explicit else default_config_path(env)
    from_file = read_config_file(path, required=explicit is not None)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in (*_FILE_KEYS, *_SETTLEMENT_KEYS):
        value, source = _lookup(name, flags, env, from_file)
        if value is not None:
            values[name], sources[name] = value, source
    values["timeout"] = _timeout(values.get("timeout", DEFAULT_TIMEOUT))
    values["node_url"] = _node_url(str(values.get("node_url", DEFAULT_NODE_URL)))
    file_used = str(path) if path.is_file() else None
    return Settings(**values, config_file=file_used, sources=sources)


def _lookup(
    name: str, flags: Mapping[str, Any], env: Mapping[str, str], from_file: Mapping[str, Any]
) -> tuple[Any, str]:
    if flags.get(name) is not None:
        return flags[name], "flag"
    var = ENV_VARS.get(name)
    if var and env.get(var):
        return env[var], f"env:{var}"
    if name in from_file:
        return from_file[name], "file"
    return None, "default"


def _timeout(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"timeout must be a number of seconds, got {value!r}") from exc
    if not seconds > 0:
        raise ConfigurationError(f"timeout must be positive, got {value!r}")
    return seconds


def _node_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"node URL must start with http:// or https://, got {url!r}")
    return url.rstrip("/")
