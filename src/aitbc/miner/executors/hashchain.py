"""The hash-chain executor: iterated SHA-256, a real CPU workload anyone can re-check.

Round 1 hashes the UTF-8 bytes of ``data``; every further round hashes the previous
32-byte digest. The result is the hex digest after ``rounds`` rounds.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any

import pydantic

from .base import Execution, Executor, PayloadModel, ceil_div, check_cancel, parse_payload

MAX_ROUNDS = 5_000_000
MAX_DATA_CHARS = 65_536
#: Rounds per unit of work reported to the node.
ROUNDS_PER_UNIT = 1_000
# Checking the cancel flag costs a little; every 10k rounds keeps a stop prompt (~10 ms).
_CANCEL_EVERY = 10_000


class HashChainPayload(PayloadModel):
    """``{"data": str, "rounds": int}``."""

    data: str = pydantic.Field(max_length=MAX_DATA_CHARS)
    rounds: int = pydantic.Field(ge=1, le=MAX_ROUNDS)


def hash_chain(data: bytes, rounds: int, cancel: threading.Event | None = None) -> bytes:
    """The digest after ``rounds`` rounds of SHA-256 starting from ``data``."""
    digest = hashlib.sha256(data).digest()
    for done in range(1, rounds):
        if cancel is not None and done % _CANCEL_EVERY == 0:
            check_cancel(cancel)
        digest = hashlib.sha256(digest).digest()
    return digest


class HashChainExecutor(Executor):
    """Job type ``sha256``: result ``{"digest": <hex>, "rounds": n}``; one unit per
    1,000 rounds (rounded up)."""

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        """Hash ``data`` ``rounds`` times; raises InvalidPayloadError on a bad payload."""
        params = parse_payload(HashChainPayload, payload)
        digest = hash_chain(params.data.encode("utf-8"), params.rounds, cancel)
        return Execution(
            result={"digest": digest.hex(), "rounds": params.rounds},
            units=ceil_div(params.rounds, ROUNDS_PER_UNIT),
        )
