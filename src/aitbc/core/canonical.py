"""RFC 8785 canonical JSON and the content hashes built on it."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from ..errors import ConfigurationError


def canonical_json(value: Any) -> bytes:
    """Serialize ``value`` as RFC 8785 canonical JSON.

    Raises ConfigurationError for values JSON cannot carry exactly (floats that are not
    finite, integers beyond IEEE-754 range, non-string keys).
    """
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"value cannot be canonicalized: {exc}") from exc


def content_hash(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``: what receipts carry."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()
