"""Blob rules shared by the node, the SDK and the miner (no I/O here).

A blob is a byte string named by the lowercase hex SHA-256 of its bytes. It travels in
parts of :data:`PART_BYTES` (base64 inside JSON, so every transport can carry it and no
request exceeds the node's body limit); every part but the last is exactly that long.
A job's payload or result references a blob with the JSON object ``{"$blob": "<sha256>"}``
anywhere in its tree, so the job's content hash (and the receipt) covers the blob's hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigurationError

#: Raw bytes per part (base64 makes a part ~342 KiB on the wire).
PART_BYTES = 256 * 1024
#: The key of a blob reference object.
REF_KEY = "$blob"

#: A blob id: the lowercase hex SHA-256 of its bytes.
BLOB_ID_PATTERN = r"^[0-9a-f]{64}$"
#: Standard padded base64, as ``base64.b64decode(..., validate=True)`` accepts it.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

_SHA256 = re.compile(BLOB_ID_PATTERN)


def check_sha256(value: object) -> str:
    """``value`` if it is a lowercase hex SHA-256; ConfigurationError otherwise."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ConfigurationError(f"a blob id is 64 lowercase hex digits, got {value!r}")
    return value


def sha256_hex(data: bytes) -> str:
    """The blob id of ``data``."""
    return hashlib.sha256(data).hexdigest()


def blob_ref(sha256: str) -> dict[str, str]:
    """The reference object for a blob: ``{"$blob": sha256}``."""
    return {REF_KEY: check_sha256(sha256)}


def part_count(size: int) -> int:
    """How many parts a blob of ``size`` bytes has (an empty blob has one empty part)."""
    return max(1, -(-size // PART_BYTES))


def split_parts(data: bytes) -> Iterator[bytes]:
    """``data`` cut into upload parts."""
    for index in range(part_count(len(data))):
        yield data[index * PART_BYTES : (index + 1) * PART_BYTES]


def find_refs(value: Any) -> set[str]:
    """Every blob id referenced in a JSON value. Raises ConfigurationError for a
    reference object whose id is malformed (so a typo is not silently plain data)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if REF_KEY in item:
                if len(item) != 1:
                    raise ConfigurationError(f"a blob reference has only the key {REF_KEY!r}")
                found.add(check_sha256(item[REF_KEY]))
                continue
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
