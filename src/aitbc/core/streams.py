"""Sans-I/O event-stream logic shared by the node and the SDK.

Nothing here touches a socket or an event loop: topics are parsed, sequence numbers are
judged, SSE bytes are decoded and resume positions are encoded, all with plain values.

* :class:`Sequencer` keeps one topic's last delivered sequence number and says, for each
  incoming event, whether to deliver it, drop it as a duplicate (a replay after a
  reconnect overlaps what was already seen) or stop on a gap.
* :class:`SSEDecoder` turns a byte stream into :class:`SSEEvent` values (WHATWG rules:
  any line ending, comments, multi-line ``data``, a sticky ``id``).
* :func:`encode_positions` / :func:`decode_positions` carry per-topic positions in one
  SSE ``id`` (``Last-Event-ID``), e.g. ``job:job_1=5,marketplace=12``.

Reconnect backoff lives in :mod:`aitbc.core.backoff`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import ConfigurationError, ProtocolError

#: Topic kinds of docs/protocol.md and whether each is scoped to a principal/job id.
TOPIC_KINDS: Mapping[str, bool] = {
    "job": True,
    "jobs": True,
    "account": True,
    "receipts": True,
    "settlement": True,
    "marketplace": False,
}

_TOPIC_ID = re.compile(r"^[A-Za-z0-9_.\-:]{1,128}$")

#: WebSocket close code the node uses when a consumer cannot keep up.
CLOSE_SLOW_CONSUMER = 4008
#: WebSocket close code for a failed authentication.
CLOSE_UNAUTHENTICATED = 4001
#: WebSocket close code an operator (or a test) uses to drop connections on purpose.
CLOSE_SERVER_KICK = 4010
#: Error code (WS error body and SSE ``error`` event) for history that cannot be replayed.
STREAM_GAP = "stream_gap"


@dataclass(frozen=True)
class Topic:
    """A parsed topic name: ``kind`` plus the id it is scoped to (``""`` for marketplace)."""

    kind: str
    scope: str

    @property
    def name(self) -> str:
        """The wire name, e.g. ``job:job_123``."""
        return f"{self.kind}:{self.scope}" if self.scope else self.kind


def parse_topic(name: str) -> Topic:
    """Parse and validate a topic name.

    Raises :class:`ConfigurationError` (a ValueError) for an unknown kind, a missing or
    extra scope, or characters that cannot appear in a topic (``,`` ``=`` whitespace).
    """
    kind, sep, scope = name.partition(":")
    scoped = TOPIC_KINDS.get(kind)
    if scoped is None:
        raise ConfigurationError(f"unknown topic {name!r}; kinds: {', '.join(TOPIC_KINDS)}")
    if scoped and not (sep and _TOPIC_ID.match(scope)):
        raise ConfigurationError(f"topic {name!r} needs an id, e.g. {kind}:<id>")
    if not scoped and sep:
        raise ConfigurationError(f"topic {kind!r} takes no id")
    return Topic(kind, scope)


def parse_topic_list(value: str) -> list[Topic]:
    """Parse ``a,b,c`` (duplicates dropped, order kept); raises ConfigurationError."""
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise ConfigurationError("at least one topic is required")
    return [parse_topic(n) for n in dict.fromkeys(names)]


class Verdict(enum.Enum):
    """What to do with one incoming event."""

    DELIVER = "deliver"
    DUPLICATE = "duplicate"
    GAP = "gap"


@dataclass
class Sequencer:
    """One topic's delivery position: every seq exactly once, in order.

    ``last_seq`` is the last sequence number delivered (0 = nothing yet). Feed each
    incoming seq to :meth:`judge`; only on ``DELIVER`` call :meth:`advance`.
    """

    topic: str
    last_seq: int = 0

    def judge(self, seq: int) -> Verdict:
        """DELIVER the next seq, DUPLICATE an old one, GAP when seqs were skipped."""
        if seq <= self.last_seq:
            return Verdict.DUPLICATE
        if seq == self.last_seq + 1:
            return Verdict.DELIVER
        return Verdict.GAP

    def advance(self, seq: int) -> None:
        """Record ``seq`` as delivered."""
        self.last_seq = seq


def encode_positions(positions: Mapping[str, int]) -> str:
    """Encode per-topic positions as one SSE id: ``topic=seq`` joined by commas."""
    return ",".join(f"{topic}={seq}" for topic, seq in positions.items())


def decode_positions(value: str) -> dict[str, int]:
    """Decode :func:`encode_positions` output; a bare integer means "every topic at N".

    The bare form is returned as ``{"*": N}``. Raises ConfigurationError when unreadable.
    """
    value = value.strip()
    if not value:
        return {}
    if value.isdigit():
        return {"*": int(value)}
    positions: dict[str, int] = {}
    for part in value.split(","):
        topic, sep, seq = part.rpartition("=")
        if not sep or not topic or not seq.isdigit():
            raise ConfigurationError(f"unreadable event id {value!r}")
        positions[topic] = int(seq)
    return positions


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched SSE event (``id`` is the last id seen, sticky per the spec)."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


@dataclass
class SSEDecoder:
    """Incremental SSE parser: ``feed(bytes)`` returns the events completed so far.

    ``max_line`` bounds memory: a line longer than it raises ProtocolError instead of
    growing the buffer forever.
    """

    max_line: int = 1 << 20
    last_event_id: str | None = None
    _buffer: bytes = b""
    _data: list[str] = field(default_factory=list)
    _event: str = ""
    _retry: int | None = None
    _started: bool = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume ``chunk``; return every event whose blank line has arrived."""
        self._buffer += chunk
        events: list[SSEEvent] = []
        for line in self._take_lines():
            event = self._line(line)
            if event is not None:
                events.append(event)
        if len(self._buffer) > self.max_line:
            raise ProtocolError(f"SSE line longer than {self.max_line} bytes")
        return events

    def _take_lines(self) -> Iterable[str]:
        while True:
            match = re.search(rb"\r\n|\r|\n", self._buffer)
            # A lone trailing CR may be the first half of CRLF: wait for the next byte.
            if match is None or (match.group() == b"\r" and match.end() == len(self._buffer)):
                return
            raw, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
            if not self._started:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
                self._started = True
            yield raw.decode("utf-8", "replace")

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: heartbeats look like this
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if not data:
            return None
        return SSEEvent(event or "message", "\n".join(data), self.last_event_id, retry)


def encode_sse(
    data: str, *, event: str | None = None, id: str | None = None, retry: int | None = None
) -> bytes:
    """Encode one SSE event (``data`` may span lines)."""
    lines: list[str] = []
    if event:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()
