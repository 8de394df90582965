"""The dashboard's RFC 8785 canonicaliser (canonical.js) against the Python one
(``rfc8785``, what the node signs with) on the same inputs, in the real browser."""

from __future__ import annotations

import json
import random
import struct
from typing import Any

import pytest

from aitbc.core.canonical import canonical_json
from aitbc.errors import ConfigurationError

from .conftest import PageProbe

FIXED: list[Any] = [
    None,
    True,
    0,
    -0.0,
    1.0,
    -1.5,
    1e21,
    1e-7,
    123456789012345680000.0,
    5e-324,
    1.7976931348623157e308,
    0.1 + 0.2,
    9007199254740991,
    -9007199254740991,
    "",
    "plain",
    'quote " backslash \\ slash / controls \b\f\n\r\t \u0000 \u001f \u007f',
    "é 模型 ✓ 🚀 \u2028 \u2029 \ufeff",
    [],
    {},
    {"b": 1, "a": 2, "aa": 3, "A": 4, "": 5},
    {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7},
    {"nested": {"z": [1, {"y": None, "x": [True, False]}], "a": "b"}},
    {"receipt": {"price": "100", "units": 5, "chain_id": 1, "sig": "abc-_"}},
]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**53) + 1, 2**53 - 1)
    if kind == 2:  # any finite double, from random bits
        while True:
            value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
            if value == value and abs(value) != float("inf"):
                return value
    if kind in (3, 4):
        alphabet = "aZ09 \"\\\n\t\u00e9\u6a21\u2028\U0001f680\u0001<>&'"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
    if kind == 5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        _random_value(rng, 4)
        if rng.random() < 0.5
        else rng.choice("bBa\u00e9\U0001f680"): _random_value(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


def _key_safe(value: Any) -> Any:
    """Object keys must be strings; random keys that are not become their JSON text."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else json.dumps(k): _key_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_key_safe(v) for v in value]
    return value


LONE_SURROGATES = ['"\\ud800"', '{"a": "x\\udc00y"}']

CANONICALIZE_ALL = """async (texts) => {
    const { canonicalize } = await import('/dashboard/canonical.js');
    return texts.map((text) => {
        try {
            return { ok: canonicalize(JSON.parse(text)) };
        } catch (e) {
            return { error: e.message };
        }
    });
}"""


async def test_js_canonical_json_matches_python(node: Any, probe: PageProbe) -> None:
    rng = random.Random(8785)
    values = FIXED + [_key_safe(_random_value(rng)) for _ in range(300)]
    # JSON text is what crosses to the browser; json.dumps keeps every double exact.
    texts = [json.dumps(v, ensure_ascii=rng.random() < 0.5) for v in values]
    await probe.page.goto(node.url + "/")
    got = await probe.page.evaluate(CANONICALIZE_ALL, texts + LONE_SURROGATES)
    for value, js in zip(values, got[: len(values)], strict=True):
        assert js["ok"].encode() == canonical_json(json.loads(json.dumps(value))), value
    # Both refuse what JSON cannot carry exactly: strings with a lone surrogate.
    assert got[len(values) :] == [{"error": "string has a lone surrogate"}] * 2
    for text in LONE_SURROGATES:
        with pytest.raises(ConfigurationError):
            canonical_json(json.loads(text))
