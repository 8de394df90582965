"""The miner side of a running job: streamed output to the node and blob reads.

:class:`JobStream` is the :class:`~aitbc.miner.executors.base.JobContext` one held job
gets. The executor calls it from its worker thread; chunks are handed to the event loop
and posted in order by one sender task. The first chunk goes out alone, at once, so it
arrives as early as it can; after that a post leaves when the previous one was answered
and at least ``interval`` seconds after the previous one left, carrying everything that
piled up meanwhile. The node pays one request and one transaction per post, so pacing
posts bounds its cost per stream (a fast server's tokens travel a few per post) while the
last chunks go out the moment the executor finishes, or calls ``flush`` because it knows
its output is complete (a chat server said ``finish_reason``) before it returns.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..api.blobs import BlobsAPI
from ..core.blobs import check_sha256, sha256_hex
from ..core.output import GENESIS, MAX_CHUNKS_PER_POST, chain_next, summary
from ..errors import AITBCError, ConfigurationError
from ..models import NodeInfo
from ..multinetwork import MultiNetworkClient, NetworkConfig
from ..transports.base import JSONDict, Transport
from .errors import ExecutionCanceled, ExecutorError
from .link import CoordinatorLink

_log = logging.getLogger("aitbc.miner")
#: Blobs kept in memory when no cache directory is configured.
_MEMORY_BLOBS = 8


class _LinkResolver:
    """Lets the SDK's BlobsAPI talk through the miner's own transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        # One network, chain id not needed: blob reads never route by chain.
        self._networks = MultiNetworkClient()
        self._networks.add_network(NetworkConfig("miner", None, transport))

    @property
    def networks(self) -> MultiNetworkClient:
        return self._networks

    async def transport_for(self, chain_id: int | None = None) -> Transport:
        return self._transport

    async def call(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        chain_id: int | None = None,
    ) -> JSONDict:
        # The transport's own request() applies the retry policy of its config.
        return await self._transport.request(method, path, data, params, headers)

    def remember_job(self, job_id: str, chain_id: int) -> None:
        """The miner reads blobs of one node: nothing to remember."""

    def job_chain(self, job_id: str) -> int | None:
        return None

    async def node_info(self, chain_id: int | None = None) -> NodeInfo:
        raise ConfigurationError("the miner's blob reader needs no node info")


class BlobCache:
    """Blobs by id: in ``directory`` when given (files named by their hash, checked
    when read), else the last few in memory. Misses are downloaded from the node."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._memory: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, sha256: str, transport: Transport) -> bytes:
        """The blob's bytes; raises NotFoundError when the node does not let us read it."""
        sha256 = check_sha256(sha256)
        async with self._locks.setdefault(sha256, asyncio.Lock()):
            cached = await asyncio.to_thread(self._load, sha256)
            if cached is not None:
                return cached
            data = await BlobsAPI(_LinkResolver(transport)).download(sha256)
            await asyncio.to_thread(self._store, sha256, data)
            return data

    def _load(self, sha256: str) -> bytes | None:
        if self.directory is None:
            if sha256 in self._memory:
                self._memory.move_to_end(sha256)
            return self._memory.get(sha256)
        path = self.directory / sha256
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if sha256_hex(data) != sha256:  # a damaged cache file is fetched again
            path.unlink(missing_ok=True)
            return None
        return data

    def _store(self, sha256: str, data: bytes) -> None:
        if self.directory is None:
            self._memory[sha256] = data
            while len(self._memory) > _MEMORY_BLOBS:
                self._memory.popitem(last=False)
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{sha256}.partial"
        partial.write_bytes(data)
        partial.replace(self.directory / sha256)


class JobStream:
    """Streams one job's output chunks to the node and reads its blobs."""

    def __init__(
        self,
        job_id: str,
        link: CoordinatorLink,
        blobs: BlobCache,
        give_up_after: float,
        interval: float = 0.0,
    ) -> None:
        self.job_id = job_id
        self._link = link
        self._blobs = blobs
        self._give_up_after = give_up_after
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        #: Chunks from the executor's thread not yet taken by the sender (deque appends
        #: and pops are atomic, so the thread never waits for the loop).
        self._incoming: collections.deque[dict[str, Any]] = collections.deque()
        #: True while a wake-up of the sender is on its way: one per post, not per chunk.
        self._signalled = False
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        #: Set by close() or flush(): posts no longer wait for the interval.
        self._hurry = asyncio.Event()
        self.emitted = 0
        self.chain = GENESIS
        self.sent = 0
        self.posts = 0
        self.error: AITBCError | None = None
        self._sender = asyncio.create_task(self._send_loop(), name=f"aitbc-output-{job_id}")

    # -- called from the executor's thread ---------------------------------------------

    def emit(self, chunk: Mapping[str, Any]) -> None:
        """Queue one chunk; raises ExecutionCanceled once the node refused output."""
        if self.error is not None:
            raise ExecutionCanceled(f"the node refused streamed output: {self.error}")
        if not isinstance(chunk, Mapping):
            raise ExecutorError("an output chunk must be a JSON object")
        item = dict(chunk)
        try:
            self.chain = chain_next(self.chain, item)
        except ConfigurationError as exc:
            raise ExecutorError(f"output chunk is not canonical JSON: {exc}") from exc
        self.emitted += 1
        self._incoming.append(item)
        if not self._signalled:
            # The sender clears the flag before it drains, so a chunk appended after a
            # drain always finds it clear and wakes the sender: none is left behind.
            self._signalled = True
            self._loop.call_soon_threadsafe(self._wake.set)

    def flush(self) -> None:
        """Post what was emitted at once, and everything after it without pacing."""
        self._loop.call_soon_threadsafe(self._hurry.set)

    def fetch_blob(self, sha256: str) -> bytes:
        """The blob's bytes (blocking; from the executor's thread)."""
        future = asyncio.run_coroutine_threadsafe(
            self._blobs.get(sha256, self._link.transport), self._loop
        )
        try:
            return future.result(timeout=self._give_up_after)
        except TimeoutError as exc:
            future.cancel()
            raise ExecutorError(f"blob {sha256} did not arrive in {self._give_up_after}s") from exc
        except AITBCError as exc:
            raise ExecutorError(f"cannot read blob {sha256}: {exc}") from exc

    # -- on the event loop ---------------------------------------------------------------

    def _take(self) -> None:
        """Move the chunks the executor emitted so far into the pending batch."""
        self._signalled = False
        while self._incoming:
            self._pending.append(self._incoming.popleft())

    async def _pace(self, last_post: float) -> None:
        """Wait until ``interval`` after the previous post left, or a close or flush."""
        delay = last_post + self._interval - self._loop.time()
        if delay > 0 and not self._hurry.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._hurry.wait()

    async def _send_loop(self) -> None:
        last_post = float("-inf")
        while self.error is None:
            # Read before taking: once the job closes every chunk was emitted already.
            closing = self._closing.is_set()
            self._take()
            if self._pending:
                await self._pace(last_post)
                self._take()
                batch = self._pending[:MAX_CHUNKS_PER_POST]
                body = {"start": self.sent, "chunks": batch}
                last_post = self._loop.time()
                try:
                    await self._link.deliver(
                        f"/v1/miners/jobs/{self.job_id}/output", body, self._give_up_after
                    )
                except AITBCError as exc:
                    _log.warning("job %s: output refused: %s", self.job_id, exc)
                    self.error = exc
                    return
                del self._pending[: len(batch)]
                self.sent += len(batch)
                self.posts += 1
                continue
            if closing:
                return
            await self._wake.wait()
            self._wake.clear()

    async def close(self) -> dict[str, Any] | None:
        """Send every queued chunk; return the output summary (None when nothing was
        emitted). Raises the AITBCError that made the node refuse a post."""
        self._closing.set()
        self._hurry.set()
        self._wake.set()
        await self._sender
        if self.error is not None:
            raise self.error
        return summary(self.emitted, self.chain) if self.emitted else None

    async def abandon(self) -> None:
        """Stop sending (the job is over without a result)."""
        self._closing.set()
        self._hurry.set()
        self._wake.set()
        await self._sender
