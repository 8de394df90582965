"""``aitbc demo``: the whole marketplace on one machine, checked end to end.

A node (SQLite in a temporary directory), two miners and a two-chain py-evm devnet run
in this process; a client submits a batch of jobs over HTTP and WebSocket, follows them
live, verifies every receipt offline, settles payments on the other chain through both
bridges and proves the books balance. See :func:`run_demo`.
"""

from __future__ import annotations

from .checks import BalanceRow, Checks
from .run import DemoOptions, DemoResult, KeptStack, run_demo
from .view import DemoView

__all__ = ["BalanceRow", "Checks", "DemoOptions", "DemoResult", "DemoView", "KeptStack", "run_demo"]
