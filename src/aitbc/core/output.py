"""Streamed job output: the hash chain that node, miner and client compute alike.

A streamed job emits JSON-object chunks in order. Each chunk extends a chain::

    chain_0 = 64 zeros;  chain_i = sha256(bytes.fromhex(chain_{i-1}) || canonical_json(chunk_i))

The miner puts ``{"chunks": n, "chain": chain_n}`` under :data:`OUTPUT_KEY` in its
result, so the receipt's ``output_hash`` commits to every chunk in order; the node
refuses a result whose summary differs from the chunks it recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from .canonical import canonical_json

GENESIS = "0" * 64
#: The result key that summarises a streamed output.
OUTPUT_KEY = "output"
#: Chunks per ``POST /v1/miners/jobs/{id}/output`` (the miner batches up to this many).
MAX_CHUNKS_PER_POST = 256


def chain_next(chain: str, chunk: Mapping[str, Any]) -> str:
    """The chain value after ``chunk``. Raises ConfigurationError for non-JSON chunks."""
    return hashlib.sha256(bytes.fromhex(chain) + canonical_json(dict(chunk))).hexdigest()


def chain_of(chunks: Iterable[Mapping[str, Any]]) -> str:
    """The chain value after all ``chunks`` (a verifier recomputes the summary)."""
    chain = GENESIS
    for chunk in chunks:
        chain = chain_next(chain, chunk)
    return chain


def summary(chunks: int, chain: str) -> dict[str, Any]:
    """The ``output`` object a streamed result carries."""
    return {"chunks": chunks, "chain": chain}
