"""The matrix-product executor: integer matmul in pure Python, checkable by anyone.

Two payload forms:

- seeded: ``{"seed": s, "n": n}`` multiplies two n x n matrices generated from ``s``
  (see :func:`seeded_matrix`), so a tiny payload describes a real workload;
- explicit: ``{"a": [[...]], "b": [[...]]}`` multiplies the given integer matrices.

Entries are bounded so every product stays an exact JSON integer (below 2**53), which
the canonical-JSON output hash requires.
"""

from __future__ import annotations

import hashlib
import operator
import threading
from collections.abc import Mapping
from typing import Any, Self

import pydantic

from ..errors import InvalidPayloadError
from .base import Execution, Executor, PayloadModel, ceil_div, check_cancel, parse_payload

MAX_DIM = 256
MAX_ABS_ENTRY = 2**20
SEED_ENTRY_RANGE = 100
MULADDS_PER_UNIT = 1_000_000

Matrix = list[list[int]]


def seeded_matrix(seed: int, name: str, rows: int, cols: int) -> Matrix:
    """A deterministic ``rows`` x ``cols`` matrix with entries in [-100, 100].

    Bytes come from SHA-256 in counter mode: block ``i`` is
    ``sha256(f"aitbc-matmul:{seed}:{name}:{i}")``; each entry, in row-major order, takes
    the next 2 bytes as a big-endian integer ``v`` and is ``v % 201 - 100``.
    """
    needed = rows * cols * 2
    stream = bytearray()
    block = 0
    while len(stream) < needed:
        stream += hashlib.sha256(f"aitbc-matmul:{seed}:{name}:{block}".encode()).digest()
        block += 1
    span = 2 * SEED_ENTRY_RANGE + 1
    values = [
        int.from_bytes(stream[i : i + 2], "big") % span - SEED_ENTRY_RANGE
        for i in range(0, needed, 2)
    ]
    return [values[r * cols : (r + 1) * cols] for r in range(rows)]


def matmul(a: Matrix, b: Matrix, cancel: threading.Event | None = None) -> Matrix:
    """The product ``a @ b`` of integer matrices (shapes already checked)."""
    columns = list(zip(*b, strict=True))
    product: Matrix = []
    for row in a:
        if cancel is not None:
            check_cancel(cancel)
        product.append([sum(map(operator.mul, row, col)) for col in columns])
    return product


def _check_matrix(name: str, matrix: Matrix) -> None:
    if not matrix or not matrix[0]:
        raise ValueError(f"{name} must be a non-empty matrix")
    if len(matrix) > MAX_DIM or len(matrix[0]) > MAX_DIM:
        raise ValueError(f"{name} may be at most {MAX_DIM}x{MAX_DIM}")
    if any(len(row) != len(matrix[0]) for row in matrix):
        raise ValueError(f"{name} must be rectangular (all rows the same length)")
    if any(abs(v) > MAX_ABS_ENTRY for row in matrix for v in row):
        raise ValueError(f"{name} entries must lie within ±{MAX_ABS_ENTRY}")


class MatMulPayload(PayloadModel):
    """Either ``{"seed", "n"}`` or ``{"a", "b"}``."""

    seed: int | None = pydantic.Field(default=None, ge=0, le=2**63 - 1)
    n: int | None = pydantic.Field(default=None, ge=1, le=MAX_DIM)
    a: Matrix | None = None
    b: Matrix | None = None

    @pydantic.model_validator(mode="after")
    def _one_form(self) -> Self:
        seeded = self.seed is not None or self.n is not None
        explicit = self.a is not None or self.b is not None
        if seeded == explicit:
            raise ValueError('give either "seed" and "n", or "a" and "b"')
        if seeded and (self.seed is None or self.n is None):
            raise ValueError('the seeded form needs both "seed" and "n"')
        if explicit:
            if self.a is None or self.b is None:
                raise ValueError('the explicit form needs both "a" and "b"')
            _check_matrix("a", self.a)
            _check_matrix("b", self.b)
            if len(self.a[0]) != len(self.b):
                raise ValueError(
                    f"a is {len(self.a)}x{len(self.a[0])} and b is "
                    f"{len(self.b)}x{len(self.b[0])}: inner dimensions differ"
                )
        return self

    def operands(self) -> tuple[Matrix, Matrix]:
        """The two matrices to multiply."""
        if self.a is not None and self.b is not None:
            return self.a, self.b
        if self.seed is None or self.n is None:  # excluded by the validator
            raise InvalidPayloadError("invalid payload: no operands")
        return (
            seeded_matrix(self.seed, "a", self.n, self.n),
            seeded_matrix(self.seed, "b", self.n, self.n),
        )


class MatMulExecutor(Executor):
    """Job type ``matmul``: result ``{"rows", "cols", "c"}``; one unit per million
    multiply-adds (rounded up)."""

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        """Multiply the payload's matrices; raises InvalidPayloadError on a bad payload."""
        a, b = parse_payload(MatMulPayload, payload).operands()
        c = matmul(a, b, cancel)
        muladds = len(a) * len(b) * len(b[0])
        return Execution(
            result={"rows": len(c), "cols": len(c[0]), "c": c},
            units=ceil_div(muladds, MULADDS_PER_UNIT),
        )
