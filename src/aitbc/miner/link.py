"""The miner's side of the miner routes: one method per route, plus retrying delivery.

Every method raises :mod:`aitbc.errors` only (the transport maps its backend's errors).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from ..core.signing import SigningKey
from ..errors import AITBCError, ProtocolError
from ..transports.base import JSONDict, Transport
from .backoff import Backoff, is_retryable
from .claims import NodeIdentity

_log = logging.getLogger("aitbc.miner")


class CoordinatorLink:
    """Talks to one coordinator for one miner identity over a :class:`Transport`."""

    def __init__(self, transport: Transport, key: SigningKey, backoff: Backoff) -> None:
        self.transport = transport
        self.key = key
        self.backoff = backoff
        self.node: NodeIdentity | None = None
        self.miner_id: str | None = None

    async def register(self, capabilities: Mapping[str, Any]) -> str:
        """Read ``/v1/info`` and register; return the miner id the node assigned.

        Raises ProtocolError when the node's answers are malformed or it recorded
        another key than ours.
        """
        self.node = NodeIdentity.from_info(await self.transport.request("GET", "/v1/info"))
        answer = await self.transport.request(
            "POST",
            "/v1/miners/register",
            {"public_key": self.key.verify_key.b64, "capabilities": dict(capabilities)},
        )
        miner_id = answer.get("id")
        if not isinstance(miner_id, str) or answer.get("key_id") != self.key.key_id:
            raise ProtocolError(f"unexpected registration answer: {answer!r}")
        self.miner_id = miner_id
        return miner_id

    async def heartbeat(self) -> set[str]:
        """Send a heartbeat; return the ids of the jobs whose leases the node renewed."""
        answer = await self.transport.request("POST", "/v1/miners/heartbeat", {})
        renewed = answer.get("renewed", [])
        if not isinstance(renewed, list):
            raise ProtocolError("heartbeat answer carries no 'renewed' list")
        return {str(job_id) for job_id in renewed}

    async def poll(self, wait_seconds: float) -> JSONDict | None:
        """Long-poll for a job; return ``{"job", "lease_expires_at"}`` or None (204)."""
        answer = await self.transport.request(
            "POST", "/v1/miners/poll", {"wait_seconds": wait_seconds}
        )
        if not answer:
            return None
        if not isinstance(answer.get("job"), dict):
            raise ProtocolError("poll answer carries no job")
        return answer

    async def get_job(self, job_id: str) -> JSONDict:
        """The job as the node sees it now (a miner sees the jobs it holds)."""
        return await self.transport.request("GET", f"/v1/jobs/{job_id}")

    async def deliver(self, path: str, body: Mapping[str, Any], give_up_after: float) -> JSONDict:
        """POST ``body`` to ``path``, retrying retryable failures with backoff for up to
        ``give_up_after`` seconds; then raise the last error. Other errors raise at once.

        Used for results and failures, which must reach the node across a restart.
        """
        give_up = time.monotonic() + give_up_after
        backoff = Backoff(self.backoff.base, self.backoff.cap)
        while True:
            try:
                return await self.transport.request("POST", path, body)
            except AITBCError as exc:
                delay = backoff.next_delay(exc)
                if not is_retryable(exc) or time.monotonic() + delay > give_up:
                    raise
                _log.warning("POST %s failed (%s); retrying in %.1fs", path, exc, delay)
                await asyncio.sleep(delay)
