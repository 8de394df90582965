"""The reference miner: serves jobs from a coordinator with pluggable executors.

``Miner(MinerConfig(coordinator=..., api_key=...))`` then ``await miner.run()``;
``miner.stop()`` shuts it down gracefully. ``aitbc miner`` is the command-line front.
"""

from __future__ import annotations

from .config import DEFAULT_EXECUTORS, MinerConfig
from .errors import ExecutionCanceled, ExecutorError, InvalidPayloadError, UnsupportedJobTypeError
from .executors import Execution, Executor, available_executors, load_executors
from .jobs import MinerStats
from .runner import Miner

__all__ = [
    "DEFAULT_EXECUTORS",
    "Execution",
    "ExecutionCanceled",
    "Executor",
    "ExecutorError",
    "InvalidPayloadError",
    "Miner",
    "MinerConfig",
    "MinerStats",
    "UnsupportedJobTypeError",
    "available_executors",
    "load_executors",
]
