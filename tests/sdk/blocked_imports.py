"""Run Python code in a subprocess where some installed packages look uninstalled.

A ``sys.meta_path`` finder placed first refuses the blocked top-level modules, the way
an interpreter without them behaves: ``import web3`` raises ModuleNotFoundError (with
``name`` set) and ``importlib.util.find_spec`` finds nothing usable. A fresh process
per run, so nothing already imported by the test session can mask a missing module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Sequence

# Top-level modules of each extra, as a core install lacks them.
SETTLEMENT = ("web3", "eth_abi", "eth_account", "eth_utils", "sqlalchemy", "aiosqlite")
DEVNET_ONLY = ("eth_tester", "eth")
NODE = ("fastapi", "starlette", "uvicorn", "alembic", "asyncpg", "prometheus_client", "redis")
CLI = ("typer", "rich")
CORE_ONLY = (*SETTLEMENT, *DEVNET_ONLY, *NODE, *CLI)

_PRELUDE = """
import sys

class _Blocked:
    blocked = frozenset(sys.argv.pop(1).split(","))

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Blocked())
"""


def run_without(
    blocked: Iterable[str], code: str, args: Sequence[str] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (``python -c``) with ``blocked`` modules absent; ``args`` are its argv."""
    return subprocess.run(
        [sys.executable, "-c", _PRELUDE + code, ",".join(blocked), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


CLI_MAIN = "from aitbc.cli.entry import main\nmain()\n"
