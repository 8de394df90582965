"""Built-in job executors and the entry-point registry that finds plugins.

Built in (entry point group ``aitbc.executors``): ``echo``, ``sha256`` (hash chain) and
``matmul`` (integer matrix product).
"""

from __future__ import annotations

from .base import Execution, Executor
from .echo import EchoExecutor
from .hashchain import HashChainExecutor
from .matmul import MatMulExecutor
from .registry import ENTRY_POINT_GROUP, available_executors, load_executors

__all__ = [
    "ENTRY_POINT_GROUP",
    "EchoExecutor",
    "Execution",
    "Executor",
    "HashChainExecutor",
    "MatMulExecutor",
    "available_executors",
    "load_executors",
]
