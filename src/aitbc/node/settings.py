"""Node settings: one frozen dataclass, from arguments or ``AITBC_NODE_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./aitbc-node.sqlite3"
#: URL schemes the node can open (see aitbc.node.database.create_engine).
DATABASE_SCHEMES = ("sqlite://", "sqlite+aiosqlite://", "postgresql://", "postgresql+asyncpg://")
ENV_PREFIX = "AITBC_NODE_"


@dataclass(frozen=True)
class NodeSettings:
    """Everything a node needs to start.

    ``signing_key_seed`` (base64url Ed25519 seed) and ``admin_key`` are optional: without
    them the node generates a signing key (persisted in the database) and, when no admin
    exists yet, an admin key that it prints once.
    """

    database_url: str = DEFAULT_DATABASE_URL
    chain_id: int = 1
    signing_key_seed: str | None = None
    lease_seconds: float = 30.0
    max_attempts: int = 3
    admin_key: str | None = None
    redis_url: str | None = None
    sweep_interval: float = 1.0
    poll_recheck_seconds: float = 0.5
    max_body_bytes: int = 1_048_576
    default_ttl_seconds: int = 3600
    #: A miner counts as live when heard from (registration or heartbeat) this recently:
    #: the OpenAI door offers only live miners' models, and a queued job says when no
    #: live miner can take it.
    miner_live_seconds: float = 60.0
    #: Largest blob (bytes) a principal may upload (docs/ai.md); blobs live in the database.
    max_blob_bytes: int = 64 * 1024 * 1024
    #: The ttl of an OpenAI-door job: a chat completion no miner finishes in this many
    #: seconds expires (refunded) and the waiting request is answered 504.
    door_ttl_seconds: int = 600
    #: Job types accepted before any miner registers one (comma-separated); the types
    #: registered miners serve are accepted too. The default is the reference miner's
    #: executors, so a fresh node takes the jobs its bundled miner can run.
    job_types: str = "echo,sha256,matmul"
    #: Requests per second per principal (and the burst saved up) for client routes and
    #: for the miner API; 0 turns a class's limit off (the default).
    client_rate_per_second: float = 0.0
    client_burst: float = 100.0
    miner_rate_per_second: float = 0.0
    miner_burst: float = 200.0
    #: FastAPI's OpenTelemetry spans and metrics, for an operator who configures an
    #: OpenTelemetry SDK in the process (``opentelemetry-instrument``, say). Off by
    #: default: FastAPI otherwise asks, on every request, whether a provider has been
    #: configured, about 6% of a small request's CPU, for nothing when none ever is.
    opentelemetry: bool = False

    def __post_init__(self) -> None:
        if self.lease_seconds <= 0 or self.sweep_interval <= 0:
            raise ConfigurationError("lease_seconds and sweep_interval must be positive")
        if self.door_ttl_seconds < 1:
            raise ConfigurationError("door_ttl_seconds must be at least 1")
        if self.max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1")
        if min(self.client_rate_per_second, self.miner_rate_per_second) < 0:
            raise ConfigurationError("rate limits must not be negative")
        if min(self.client_burst, self.miner_burst) < 1:
            raise ConfigurationError("a burst must allow at least one request")
        if self.chain_id < 0:
            raise ConfigurationError("chain_id must not be negative")
        # Checked here, before anything opens the database, so a typo fails fast and
        # leaves nothing behind.
        if not self.database_url.startswith(DATABASE_SCHEMES):
            raise ConfigurationError(
                f"unsupported database URL {self.database_url!r}"
                " (use sqlite+aiosqlite:///file or postgresql+asyncpg://...)"
            )

    @property
    def configured_job_types(self) -> frozenset[str]:
        """``job_types`` as a set of names."""
        return frozenset(name.strip() for name in self.job_types.split(",") if name.strip())

    def with_changes(self, **changes: Any) -> NodeSettings:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> NodeSettings:
        """Settings from ``AITBC_NODE_<FIELD>`` variables; unset ones keep defaults.

        Raises ConfigurationError when a value does not parse.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field.name, str(field.type), raw)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The ``AITBC_NODE_*`` variables that reproduce these settings (for workers)."""
        env: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                env[ENV_PREFIX + field.name.upper()] = str(value)
        return env


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _parse(name: str, type_name: str, raw: str) -> Any:
    if type_name.startswith("bool"):
        if raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        raise ConfigurationError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not true or false")
    try:
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from exc
    return raw
