"""REST routes: thin adapters from HTTP to :mod:`aitbc.node.services`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Response

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]


def created_or_replayed(response: Response, replayed: bool) -> None:
    """201 for a new resource; 200 plus ``Idempotent-Replayed: true`` for a replay."""
    response.status_code = 200 if replayed else 201
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
