"""canonical_json's fast path for flat text objects writes exactly what rfc8785 writes."""

from __future__ import annotations

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from aitbc.core.canonical import canonical_json
from aitbc.errors import ConfigurationError

#: Every code point, lone surrogates included, weighted towards the ones JSON escapes.
_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from('"\\/\b\f\n\r\t\x00\x01\x1f\x7f\u2028\u2029\ud800\udfff é€😀'),
        st.characters(),
    ),
    max_size=40,
)
_KEYS = st.text(alphabet=st.characters(max_codepoint=127), max_size=12)


def _reference(value: dict[str, str]) -> bytes | None:
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        return None


@given(st.dictionaries(_KEYS, _TEXT, max_size=6))
def test_flat_text_objects_match_rfc8785(value: dict[str, str]) -> None:
    expected = _reference(value)
    if expected is None:  # a lone surrogate: both refuse it
        try:
            canonical_json(value)
        except ConfigurationError:
            return
        raise AssertionError(f"accepted what RFC 8785 refuses: {value!r}")
    assert canonical_json(value) == expected


def test_other_values_take_the_general_path() -> None:
    # Numbers, nesting and non-ASCII keys (sorted by UTF-16 code units) go to rfc8785.
    for value in ({"b": 1.5, "a": [1, "x"]}, {"\U0001f600": "a", "\uffff": "b"}, {"a": None}):
        assert canonical_json(value) == bytes(rfc8785.dumps(value))
