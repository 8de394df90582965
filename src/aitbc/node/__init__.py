"""The reference coordinator node: jobs, miners, marketplace, ledger and signed receipts.

Build the ASGI app with :func:`aitbc.node.app.create_app`; run one in-process for tests
and demos with :func:`aitbc.node.embedded.run_node`. Business logic lives in
:mod:`aitbc.node.services` (plain async functions over a transaction and a principal), so
the REST routes and any other door (WebSocket) share one implementation.
"""

from __future__ import annotations

from .settings import NodeSettings

__all__ = ["NodeSettings"]
