"""SyncAITBCClient: the AITBC client for synchronous code (scripts, notebooks, WSGI apps).

It is :class:`aitbc.AITBCClient` run on a private event loop in a background thread,
not a second implementation: every resource method is the async one, called through
``asyncio.run_coroutine_threadsafe`` and waited for::

    from aitbc import SyncAITBCClient

    with SyncAITBCClient({"base_url": "http://127.0.0.1:8000",
                          "default_headers": {"X-API-Key": key}}) as client:
        job = client.jobs.create({"job_type": "echo", "payload": {}, "price": 100})
        for j in client.jobs.list():          # pages fetched as you iterate
            print(j.id)
        for event in client.jobs.events(job.id):
            ...

It takes the same constructor arguments as ``AITBCClient``, and exposes the same
resources (``jobs``, ``marketplace``, ``wallet``, ``receipts``, ``settlement``), page
iterators and event iterators as plain iterators, ``with_options``, ``call``,
``node_info`` and ``transport``. Because calls run on the client's own loop, it is safe
to use from any thread, including one whose own event loop is running (a call then
blocks that thread until it returns). Use ``with`` or call :meth:`close` to stop the
background thread.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from .client import AITBCClient
from .errors import TransportClosedError
from .models import NodeInfo
from .transports.base import JSONDict, Transport

__all__ = ["SyncAITBCClient", "SyncIterator"]

T = TypeVar("T")


class _LoopThread:
    """A private event loop running forever in one daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="aitbc-sync-loop", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the private loop and wait for its result (its exception)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a SyncAITBCClient call from inside its own loop would deadlock")
        if self.loop.is_closed():
            coro.close()
            raise TransportClosedError("SyncAITBCClient used after close()")
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C while waiting: stop the call on the loop too
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class SyncIterator(Iterator[T]):
    """An async iterator (pages, events) walked from synchronous code, one item a call.

    ``close()`` (or leaving a ``with`` block) closes the async side, which for an event
    stream unsubscribes.
    """

    def __init__(self, source: AsyncIterator[T], loop: _LoopThread) -> None:
        self._source = source
        self._loop = loop

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        try:
            return self._loop.run(_next(self._source))
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        close = getattr(self._source, "aclose", None)
        if close is not None and not self._loop.loop.is_closed():
            self._loop.run(close())

    def __enter__(self) -> SyncIterator[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _next(source: AsyncIterator[T]) -> T:
    return await anext(source)


def _bridge(value: Any, loop: _LoopThread) -> Any:
    """Run what must be awaited; turn what must be iterated into a sync iterator."""
    if inspect.iscoroutine(value):
        return _bridge(loop.run(value), loop)
    if hasattr(value, "__anext__"):
        return SyncIterator(value, loop)
    if hasattr(value, "__aiter__") and not hasattr(value, "__iter__"):
        return _SyncProxy(value, loop)  # e.g. a PageIterator: iterable and has methods
    return value


class _SyncProxy:
    """Wraps an async object (a resource API, a page iterator): its methods become
    blocking calls, iteration becomes sync iteration; plain attributes pass through."""

    def __init__(self, target: Any, loop: _LoopThread) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_loop", loop)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value) or isinstance(value, type):
            return value

        def blocking(*args: Any, **kwargs: Any) -> Any:
            return _bridge(value(*args, **kwargs), self._loop)

        blocking.__name__ = name
        blocking.__doc__ = value.__doc__
        return blocking

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __iter__(self) -> Iterator[Any]:
        return SyncIterator(aiter(self._target), self._loop)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._target)))

    def __repr__(self) -> str:
        return f"<sync {self._target!r}>"


class SyncAITBCClient:
    """The AITBC client for synchronous code (see the module docstring).

    ``SyncAITBCClient(...)`` takes exactly what :class:`aitbc.AITBCClient` takes.
    Resource methods block and return what the async ones return; page and event
    iterators are plain iterators. Errors are the same :mod:`aitbc.errors` classes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        loop = _LoopThread()
        try:
            client = loop.run(_build(args, kwargs))
        except BaseException:
            loop.stop()
            raise
        self._adopt(client, loop, owns_loop=True)

    def _adopt(self, client: AITBCClient, loop: _LoopThread, *, owns_loop: bool) -> None:
        self._owns_loop = owns_loop
        self._client = client
        self._loop = loop
        self.jobs: Any = _SyncProxy(client.jobs, loop)
        self.marketplace: Any = _SyncProxy(client.marketplace, loop)
        self.wallet: Any = _SyncProxy(client.wallet, loop)
        self.receipts: Any = _SyncProxy(client.receipts, loop)
        self.settlement: Any = _SyncProxy(client.settlement, loop)

    @property
    def async_client(self) -> AITBCClient:
        """The AITBCClient underneath (its coroutines run only on this client's loop)."""
        return self._client

    @property
    def transport(self) -> Transport:
        """The default network's transport."""
        return self._client.transport

    def with_options(self, **options: Any) -> SyncAITBCClient:
        """This client with another per-call policy (see ``AITBCClient.with_options``);
        it shares this client's loop, transports and connection."""
        clone = object.__new__(type(self))
        clone._adopt(self._client.with_options(**options), self._loop, owns_loop=False)
        return clone

    def connect(self) -> None:
        """Connect and check the node(s), as ``AITBCClient.connect``."""
        self._loop.run(self._client.connect())

    def disconnect(self) -> None:
        """Close the transports; the client can ``connect()`` again."""
        self._loop.run(self._client.disconnect())

    def close(self) -> None:
        """Disconnect and stop the background loop; the client is unusable after.

        On a ``with_options`` copy it does nothing: the client it came from owns both.
        """
        if not self._owns_loop or self._loop.loop.is_closed():
            return
        try:
            self.disconnect()
        finally:
            self._loop.stop()

    def node_info(self, chain_id: int | None = None) -> NodeInfo:
        """The node's ``/v1/info``, as ``AITBCClient.node_info``."""
        return self._loop.run(self._client.node_info(chain_id))

    def call(self, method: str, path: str, *args: Any, **kwargs: Any) -> JSONDict:
        """One raw API call under the client's policy, as ``AITBCClient.call``."""
        return self._loop.run(self._client.call(method, path, *args, **kwargs))

    def __enter__(self) -> SyncAITBCClient:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> AITBCClient:
    # Built on the private loop, so transports bind their locks and events to it.
    return AITBCClient(*args, **kwargs)
