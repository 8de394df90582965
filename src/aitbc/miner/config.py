"""Miner settings, checked once at construction so a bad value fails before any I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigurationError

DEFAULT_EXECUTORS = ("echo", "sha256", "matmul")
#: The node caps a long-poll at 30 s (docs/protocol.md).
MAX_POLL_WAIT = 30.0


@dataclass(frozen=True)
class MinerConfig:
    """Everything a :class:`~aitbc.miner.Miner` needs to serve one coordinator.

    ``coordinator`` is the node's base URL (``http://host:port``), ``api_key`` a miner
    principal's key. ``poll_wait`` is the long-poll length, ``max_concurrency`` how many
    jobs run at once, ``heartbeat_interval`` the longest gap between heartbeats (shorter
    when the node's leases are short). On shutdown an in-flight job gets
    ``shutdown_grace`` seconds to finish before it is stopped and reported failed.
    Reaching the node after an error backs off from ``backoff_base`` to ``backoff_cap``.
    ``models``, ``gpu_memory_gb``, ``region`` and ``min_price`` (base units) are
    advertised so the node only hands out jobs this miner accepts.
    """

    coordinator: str
    api_key: str
    executors: Sequence[str] = DEFAULT_EXECUTORS
    key_file: Path | None = None
    poll_wait: float = 10.0
    max_concurrency: int = 1
    heartbeat_interval: float = 10.0
    shutdown_grace: float = 10.0
    submit_timeout: float = 60.0
    backoff_base: float = 0.2
    backoff_cap: float = 10.0
    models: Sequence[str] = ()
    gpu_memory_gb: int = 0
    region: str | None = None
    min_price: int = 0
    extra_headers: dict[str, str] = field(default_factory=dict)
    #: Where blobs (e.g. ONNX models) are cached by hash; None keeps a few in memory.
    blob_cache_dir: Path | None = None
    #: When set, the miner publishes a marketplace offer for its models on start:
    #: ``offer_price`` base units per ``offer_unit`` ("job", "token" or "item"), at most
    #: ``offer_max_units`` units per job (e.g. a chat miner's max_tokens).
    offer_price: int | None = None
    offer_unit: str = "job"
    offer_max_units: int | None = None
    #: Streamed output: the least seconds between two posts of one job's chunks (the
    #: first chunk goes at once, the last ones as soon as the job ends). Each post is a
    #: request and a transaction on the node; 0 posts whenever the previous is answered.
    output_interval: float = 0.025

    def __post_init__(self) -> None:
        if isinstance(self.executors, str):  # "echo,sha256" as on the command line
            names = tuple(n.strip() for n in self.executors.split(",") if n.strip())
            object.__setattr__(self, "executors", names)
        if not self.coordinator.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"coordinator must be an http(s) URL, got {self.coordinator!r}"
            )
        if not self.api_key:
            raise ConfigurationError("api_key is required")
        if not 0 <= self.poll_wait <= MAX_POLL_WAIT:
            raise ConfigurationError(f"poll_wait must be within 0..{MAX_POLL_WAIT:g} seconds")
        if self.max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        if self.gpu_memory_gb < 0 or self.min_price < 0:
            raise ConfigurationError("gpu_memory_gb and min_price must be >= 0")
        for name in ("heartbeat_interval", "submit_timeout", "backoff_base", "backoff_cap"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name} must be > 0")
        if self.offer_unit not in ("job", "token", "item"):
            raise ConfigurationError("offer_unit must be job, token or item")
        if self.shutdown_grace < 0:
            raise ConfigurationError("shutdown_grace must be >= 0")
        if not 0 <= self.output_interval <= 60:
            raise ConfigurationError("output_interval must be within 0..60 seconds")

    @property
    def request_timeout(self) -> float:
        """Deadline of one request: a long-poll plus room for a slow answer."""
        return self.poll_wait + 15.0
