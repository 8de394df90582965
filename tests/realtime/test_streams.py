"""Sans-I/O stream logic: sequencing, topics, positions, SSE decoding, backoff."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitbc.core.streams import (
    Sequencer,
    SSEDecoder,
    SSEEvent,
    Verdict,
    decode_positions,
    encode_positions,
    encode_sse,
    parse_topic,
    parse_topic_list,
)
from aitbc.errors import ConfigurationError, ProtocolError


def test_sequencer_delivers_next_drops_old_flags_gaps() -> None:
    seq = Sequencer("job:j", 3)
    assert seq.judge(4) is Verdict.DELIVER
    assert seq.judge(3) is Verdict.DUPLICATE
    assert seq.judge(1) is Verdict.DUPLICATE
    assert seq.judge(6) is Verdict.GAP
    seq.advance(4)
    assert seq.judge(5) is Verdict.DELIVER


@given(st.lists(st.integers(min_value=1, max_value=40), max_size=200))
def test_sequencer_never_delivers_out_of_order(arrivals: list[int]) -> None:
    """Whatever order replays arrive in, delivered seqs are exactly 1..n once each."""
    seq = Sequencer("t")
    delivered: list[int] = []
    for value in arrivals:
        if seq.judge(value) is Verdict.DELIVER:
            seq.advance(value)
            delivered.append(value)
    assert delivered == list(range(1, len(delivered) + 1))


@pytest.mark.parametrize(
    ("name", "kind", "scope"),
    [
        ("job:job_1", "job", "job_1"),
        ("marketplace", "marketplace", ""),
        ("account:prn_x", "account", "prn_x"),
        ("receipts:prn_y", "receipts", "prn_y"),
    ],
)
def test_parse_topic(name: str, kind: str, scope: str) -> None:
    topic = parse_topic(name)
    assert (topic.kind, topic.scope, topic.name) == (kind, scope, name)


@pytest.mark.parametrize(
    "bad", ["", "jobz:1", "job", "job:", "marketplace:x", "job:a,b", "job:a=1", "job:a b"]
)
def test_parse_topic_rejects(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_topic(bad)


def test_parse_topic_list_dedups_and_requires_one() -> None:
    names = [t.name for t in parse_topic_list("marketplace, job:j1,marketplace")]
    assert names == ["marketplace", "job:j1"]
    with pytest.raises(ConfigurationError):
        parse_topic_list(" , ")


def test_positions_round_trip_and_bare_number() -> None:
    positions = {"job:job_1": 5, "marketplace": 12}
    assert decode_positions(encode_positions(positions)) == positions
    assert decode_positions("7") == {"*": 7}
    assert decode_positions("") == {}
    for bad in ("job:1", "a=b", "=3"):
        with pytest.raises(ConfigurationError):
            decode_positions(bad)


def test_sse_decoder_handles_every_line_ending_split_anywhere() -> None:
    stream = (
        b"\xef\xbb\xbf: hello\r\nretry: 1000\r\nid: a=1\r\nevent: x\r\ndata: one\r\n"
        b"data: two\r\n\r\ndata: {}\r\rid: a=2\ndata: three\n\n"
    )
    for cut in range(len(stream) + 1):
        decoder = SSEDecoder()
        events = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert events == [
            SSEEvent("x", "one\ntwo", "a=1", 1000),
            SSEEvent("message", "{}", "a=1"),
            SSEEvent("message", "three", "a=2"),
        ], cut


def test_sse_decoder_ignores_empty_events_and_bounds_lines() -> None:
    decoder = SSEDecoder(max_line=16)
    assert decoder.feed(b"event: lonely\n\n: ping\n\n") == []
    with pytest.raises(ProtocolError):
        decoder.feed(b"data: " + b"x" * 32)


def test_encode_sse_round_trips_multiline_data() -> None:
    frame = encode_sse("a\nb", event="job.created", id="job:j=3", retry=500)
    assert SSEDecoder().feed(frame) == [SSEEvent("job.created", "a\nb", "job:j=3", 500)]
