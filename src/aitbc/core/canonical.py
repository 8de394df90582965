"""RFC 8785 canonical JSON and the content hashes built on it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from ..errors import ConfigurationError


def canonical_json(value: Any) -> bytes:
    """Serialize ``value`` as RFC 8785 canonical JSON.

    Raises ConfigurationError for values JSON cannot carry exactly (floats that are not
    finite, integers beyond IEEE-754 range, non-string keys, lone surrogates).
    """
    if type(value) is dict and _flat_text(value):
        return _flat_text_json(value)
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"value cannot be canonicalized: {exc}") from exc


#: Built once: json.dumps with non-default options builds an encoder on every call.
_FLAT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _flat_text(value: dict[Any, Any]) -> bool:
    """A flat object of ASCII keys and string values: a streamed token ``{"delta": ...}``,
    hashed into the output chain once per token on the miner and again on the node."""
    return all(
        type(key) is str and key.isascii() and type(text) is str for key, text in value.items()
    )


def _flat_text_json(value: dict[str, str]) -> bytes:
    # For such an object the stdlib's C encoder writes exactly RFC 8785's form, several
    # times faster than the general canonicaliser: keys sorted (ASCII, so code point
    # order is UTF-16 order), no spaces, strings as ECMAScript writes them (only '"',
    # backslash and U+0000-U+001F escaped, the short escapes where there are, else
    # \u00xx in lower case), everything else literal UTF-8. A lone surrogate cannot be
    # encoded: refused, as RFC 8785 refuses it. tests/core/test_canonical.py compares.
    text = _FLAT_ENCODER.encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigurationError(f"value cannot be canonicalized: {exc}") from exc


def content_hash(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``: what receipts carry."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()
