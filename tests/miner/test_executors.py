"""Built-in executors, each result re-computed here independently of the miner's code."""

from __future__ import annotations

import hashlib
import threading
from importlib.metadata import EntryPoint

import pytest

from aitbc.errors import ConfigurationError
from aitbc.miner import ExecutionCanceled, InvalidPayloadError, available_executors
from aitbc.miner.executors import (
    EchoExecutor,
    HashChainExecutor,
    MatMulExecutor,
    load_executors,
    registry,
)


@pytest.fixture
def go() -> threading.Event:
    return threading.Event()


@pytest.fixture
def canceled() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def _chain(data: str, rounds: int) -> str:
    digest = hashlib.sha256(data.encode()).digest()
    for _ in range(rounds - 1):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def _generated(seed: int, name: str, n: int) -> list[list[int]]:
    """The documented generator: SHA-256 counter blocks, 2 bytes per entry, v%201-100."""
    raw = b"".join(
        hashlib.sha256(f"aitbc-matmul:{seed}:{name}:{i}".encode()).digest()
        for i in range((n * n * 2 + 31) // 32)
    )
    flat = [int.from_bytes(raw[2 * i : 2 * i + 2], "big") % 201 - 100 for i in range(n * n)]
    return [flat[r * n : (r + 1) * n] for r in range(n)]


def _naive(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    out = [[0] * len(b[0]) for _ in a]
    for i in range(len(a)):
        for j in range(len(b[0])):
            for k in range(len(b)):
                out[i][j] += a[i][k] * b[k][j]
    return out


def test_echo_returns_payload(go: threading.Event) -> None:
    run = EchoExecutor().run({"msg": "hi", "n": [1, 2]}, go)
    assert run.result == {"echo": {"msg": "hi", "n": [1, 2]}}
    assert run.units == 1


@pytest.mark.parametrize(("data", "rounds"), [("abc", 1), ("abc", 2), ("héllo", 2500)])
def test_hash_chain_matches_hashlib(go: threading.Event, data: str, rounds: int) -> None:
    run = HashChainExecutor().run({"data": data, "rounds": rounds}, go)
    assert run.result == {"digest": _chain(data, rounds), "rounds": rounds}
    assert run.units == -(-rounds // 1000)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"data": "x"}, "rounds"),
        ({"data": "x", "rounds": 0}, "rounds"),
        ({"data": "x", "rounds": 10**9}, "rounds"),
        ({"data": "x", "rounds": True}, "rounds"),
        ({"data": "x", "rounds": "5"}, "rounds"),
        ({"data": 5, "rounds": 5}, "data"),
        ({"data": "x", "rounds": 5, "extra": 1}, "extra"),
    ],
)
def test_hash_chain_rejects_bad_payloads(
    go: threading.Event, payload: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidPayloadError, match=field):
        HashChainExecutor().run(payload, go)


def test_hash_chain_stops_when_canceled(canceled: threading.Event) -> None:
    with pytest.raises(ExecutionCanceled):
        HashChainExecutor().run({"data": "x", "rounds": 50_000}, canceled)


@pytest.mark.parametrize(("seed", "n"), [(0, 1), (7, 5), (2**40, 33)])
def test_matmul_seeded_matches_naive_product(go: threading.Event, seed: int, n: int) -> None:
    run = MatMulExecutor().run({"seed": seed, "n": n}, go)
    expected = _naive(_generated(seed, "a", n), _generated(seed, "b", n))
    assert run.result == {"rows": n, "cols": n, "c": expected}
    assert run.units == 1


def test_matmul_explicit_rectangular(go: threading.Event) -> None:
    a = [[1, 2, 3], [4, 5, 6]]
    b = [[7], [8], [9]]
    run = MatMulExecutor().run({"a": a, "b": b}, go)
    assert run.result == {"rows": 2, "cols": 1, "c": [[50], [122]]}


def test_matmul_units_count_million_multiply_adds(go: threading.Event) -> None:
    # 101 x 101 x 101 = 1,030,301 multiply-adds: just over one unit.
    assert MatMulExecutor().run({"seed": 1, "n": 101}, go).units == 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "either"),
        ({"seed": 1}, "both"),
        ({"seed": 1, "n": 2, "a": [[1]]}, "either"),
        ({"a": [[1, 2]], "b": [[1, 2]]}, "inner dimensions"),
        ({"a": [[1, 2], [3]], "b": [[1], [2]]}, "rectangular"),
        ({"a": [[]], "b": [[1]]}, "non-empty"),
        ({"a": [[2**21]], "b": [[1]]}, "within"),
        ({"a": [[1.5]], "b": [[1]]}, "integer"),
        ({"seed": 1, "n": 257}, "n"),
        ({"seed": -1, "n": 2}, "seed"),
    ],
)
def test_matmul_rejects_bad_payloads(
    go: threading.Event, payload: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidPayloadError, match=message):
        MatMulExecutor().run(payload, go)


def test_matmul_stops_when_canceled(canceled: threading.Event) -> None:
    with pytest.raises(ExecutionCanceled):
        MatMulExecutor().run({"seed": 1, "n": 4}, canceled)


def test_registry_loads_built_ins_by_entry_point() -> None:
    assert {"echo", "sha256", "matmul"} <= set(available_executors())
    loaded = load_executors(["sha256", "echo", "sha256"])
    assert list(loaded) == ["sha256", "echo"]
    assert isinstance(loaded["sha256"], HashChainExecutor)


@pytest.mark.parametrize(("names", "message"), [([], "at least one"), (["nope"], "installed")])
def test_registry_rejects_unknown_names(names: list[str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_executors(names)


@pytest.mark.parametrize(
    ("value", "message"),
    [("aitbc.miner.errors:ExecutorError", "not an Executor"), ("no_such_mod:X", "does not load")],
)
def test_registry_rejects_broken_plugins(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    broken = EntryPoint(name="broken", value=value, group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "_entry_points", lambda: {"broken": broken})
    with pytest.raises(ConfigurationError, match=message):
        load_executors(["broken"])
