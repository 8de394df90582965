"""Server-Sent Events streaming for HTTPTransport (``GET /v1/events``).

:func:`open_sse_stream` is what ``HTTPTransport.stream()`` returns: an async iterator of
``{"topic", "seq", "event", "data"}`` with the same guarantees as the WebSocket
transport. The node encodes every topic's position in each event id; after a dropped
stream (network error, node restart, slow-consumer cut-off, silence past
``sse_read_timeout``) the iterator reconnects with backoff and full jitter, sends
``Last-Event-ID`` and drops replayed duplicates, so each event is seen exactly once, in
order. It raises StreamGapError when the node cannot replay.

Extra transport config keys: ``sse_read_timeout`` (45 s without a byte, heartbeats
included, counts as a dead stream), ``reconnect_base_delay`` (0.05 s),
``reconnect_max_delay`` (5 s), ``max_reconnect_attempts`` (None = keep trying).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp

from ..core.backoff import full_jitter_delay
from ..core.envelope import error_from_response
from ..core.streams import (
    STREAM_GAP,
    Sequencer,
    SSEDecoder,
    SSEEvent,
    Verdict,
    decode_positions,
    encode_positions,
    parse_topic_list,
)
from ..errors import (
    ConfigurationError,
    ConnectError,
    ProtocolError,
    StreamGapError,
    TransportClosedError,
)

if TYPE_CHECKING:
    from .http import HTTPTransport

__all__ = ["SSEStream", "open_sse_stream"]

JSONDict = dict[str, Any]


class _Reconnect(Exception):
    """The stream ended in a way that resuming fixes (internal)."""


def _float(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"config[{key!r}] must be a non-negative number")
    return float(value)


class SSEStream(AsyncIterator[JSONDict]):
    """Events of one or more topics over SSE; see the module docstring.

    Use ``async with`` or call ``aclose()`` to end it early; ``last_event_id`` is the
    resume point (pass it back as ``data={"last_event_id": ...}`` in a new process).
    """

    def __init__(
        self, transport: HTTPTransport, topics: list[str], positions: dict[str, int]
    ) -> None:
        config = transport.config
        self._transport = transport
        self._topics = topics
        self._seqs = {t: Sequencer(t, positions[t]) for t in topics if t in positions}
        self._read_timeout = _float(config, "sse_read_timeout", 45.0)
        self._base = _float(config, "reconnect_base_delay", 0.05)
        self._cap = _float(config, "reconnect_max_delay", 5.0)
        limit = config.get("max_reconnect_attempts")
        self._max_attempts = None if limit is None else int(limit)
        self._gen: AsyncIterator[JSONDict] | None = None
        self._opened_once = False
        self.reconnects = 0

    @property
    def last_event_id(self) -> str:
        """Every topic's position, encoded as the node's event ids are."""
        return encode_positions({t: s.last_seq for t, s in self._seqs.items()})

    def __aiter__(self) -> SSEStream:
        return self

    async def __anext__(self) -> JSONDict:
        if self._gen is None:
            self._gen = self._events()
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop streaming and release the connection (idempotent)."""
        gen, self._gen = self._gen, _closed()
        if gen is not None and hasattr(gen, "aclose"):
            await gen.aclose()

    async def __aenter__(self) -> SSEStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _events(self) -> AsyncIterator[JSONDict]:
        failures = 0
        while True:
            try:
                async for event in self._one_connection():
                    failures = 0
                    yield event
            except _Reconnect as exc:
                if not self._opened_once:
                    # Like a WebSocket connect(): the first open fails loudly (so a caller
                    # can fail over); only a stream that worked is resumed in the background.
                    cause = exc.__cause__ or exc
                    raise ConnectError(f"cannot open the SSE stream: {cause}") from cause
            failures += 1
            if self._max_attempts is not None and failures > self._max_attempts:
                raise ConnectError(f"SSE stream lost; gave up after {self._max_attempts} tries")
            self.reconnects += 1
            await asyncio.sleep(full_jitter_delay(failures, base=self._base, cap=self._cap))

    async def _one_connection(self) -> AsyncIterator[JSONDict]:
        session = self._transport.ensure_session()
        url = self._transport.base_url + "/v1/events"
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if self._seqs:
            headers["Last-Event-ID"] = self.last_event_id
        params = {"topics": ",".join(self._topics)}
        try:
            async with session.get(url, params=params, headers=headers) as resp:
                await self._check_status(resp)
                self._opened_once = True
                decoder = SSEDecoder()
                while True:
                    async with asyncio.timeout(self._read_timeout or None):
                        chunk = await resp.content.readany()
                    if not chunk:
                        raise _Reconnect  # the node ended the stream: resume
                    for frame in decoder.feed(chunk):
                        for event in self._handle(frame):
                            yield event
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if session.closed:
                raise TransportClosedError("the HTTPTransport was disconnected") from exc
            raise _Reconnect from exc
        except RuntimeError as exc:  # aiohttp: "Session is closed" after disconnect()
            if session.closed:
                raise TransportClosedError("the HTTPTransport was disconnected") from exc
            raise

    async def _check_status(self, resp: aiohttp.ClientResponse) -> None:
        if resp.status == 200:
            return
        error = error_from_response(
            resp.status, await resp.read(), request_id=resp.headers.get("X-Request-ID")
        )
        if error.code == STREAM_GAP:
            raise StreamGapError(error.message, topic=",".join(self._topics))
        if error.status >= 500 or error.status == 429:
            raise _Reconnect from error
        raise error

    def _handle(self, frame: SSEEvent) -> list[JSONDict]:
        if frame.event == "subscribed":
            self._position(frame.id or "")
            return []
        body = _decode(frame.data)
        if frame.event == "error":
            self._raise_error(body)
        return self._accept(body)

    def _position(self, event_id: str) -> None:
        # Topics we had no position for start where the node says "now" is.
        for topic, seq in decode_positions(event_id).items():
            self._seqs.setdefault(topic, Sequencer(topic, seq))

    def _raise_error(self, body: JSONDict) -> None:
        raw = body.get("error")
        error: JSONDict = raw if isinstance(raw, dict) else {}
        if error.get("code") == STREAM_GAP:
            topic = str(error.get("topic") or "")
            last = self._seqs[topic].last_seq if topic in self._seqs else 0
            raise StreamGapError(str(error.get("message")), topic=topic, last_seq=last)
        raise _Reconnect(str(error.get("message") or "the node ended the stream"))

    def _accept(self, body: JSONDict) -> list[JSONDict]:
        topic, seq = body.get("topic"), body.get("seq")
        if not isinstance(topic, str) or not isinstance(seq, int) or topic not in self._seqs:
            raise ProtocolError(f"unexpected SSE event: {body!r:.200}")
        sequencer = self._seqs[topic]
        verdict = sequencer.judge(seq)
        if verdict is Verdict.DUPLICATE:
            return []
        if verdict is Verdict.GAP:
            raise StreamGapError(
                f"{topic}: got seq {seq} after {sequencer.last_seq}",
                topic=topic,
                last_seq=sequencer.last_seq,
            )
        sequencer.advance(seq)
        return [{"topic": topic, "seq": seq, "event": body.get("event"), "data": body.get("data")}]


def _decode(data: str) -> JSONDict:
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise ProtocolError("SSE data is not JSON") from exc
    if not isinstance(body, dict):
        raise ProtocolError("SSE data must be a JSON object")
    return body


async def _closed() -> AsyncIterator[JSONDict]:
    return
    yield  # pragma: no cover - makes this an (empty) async generator


def _positions(topics: list[str], data: Mapping[str, Any]) -> dict[str, int]:
    if data.get("last_event_id"):
        known = decode_positions(str(data["last_event_id"]))
        everyone = known.pop("*", None)
        if everyone is not None:
            known.update(dict.fromkeys(topics, everyone))
        return {t: s for t, s in known.items() if t in topics}
    resume = data.get("resume_from")
    if resume is None:
        return {}
    if isinstance(resume, bool) or not isinstance(resume, int) or resume < 0:
        raise ConfigurationError("resume_from must be a non-negative integer")
    return dict.fromkeys(topics, resume)


def open_sse_stream(
    transport: HTTPTransport,
    method: str,
    path: str,
    data: Mapping[str, Any] | None = None,
) -> SSEStream:
    """Stream the topics in ``path`` (``"job:job_1"`` or ``"a,b"``) over SSE.

    ``method`` is ``"subscribe"`` (``"GET"`` accepted). ``data`` may hold ``resume_from``
    (replay every event after that seq, per topic; 0 = all history) or ``last_event_id``
    (a previous stream's :attr:`SSEStream.last_event_id`); without either the stream
    starts now. Raises ConfigurationError for a bad topic or method; the iterator raises
    StreamGapError, an APIError (401/403/404 for topics this key cannot read), or
    ConnectError when the first open fails or after ``max_reconnect_attempts``.
    """
    if method.lower() not in ("subscribe", "get"):
        raise ConfigurationError(f"stream() method must be 'subscribe', got {method!r}")
    topics = [t.name for t in parse_topic_list(path)]
    return SSEStream(transport, topics, _positions(topics, data or {}))
