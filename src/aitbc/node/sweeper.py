"""The periodic sweeper: each worker runs one; compare-and-set makes that safe."""

from __future__ import annotations

import asyncio
import logging

from .runtime import Node
from .services.transitions import sweep

log = logging.getLogger("aitbc.node")


async def run_sweeper(node: Node) -> None:
    """Expire and requeue due jobs every ``sweep_interval`` seconds until cancelled.

    A failing sweep (database briefly away) is logged and retried on the next tick.
    """
    while True:
        try:
            await sweep(node)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sweep failed; retrying next tick")
        await asyncio.sleep(node.settings.sweep_interval)
