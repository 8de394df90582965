"""REST routes: thin adapters from HTTP to :mod:`aitbc.node.services`.

Every route declares its answer model (from :mod:`aitbc.models`, the same classes the
SDK parses with) and the error statuses it can answer with, each carrying the error
envelope, so ``/openapi.json`` is the wire. Services already build the exact wire dicts,
so routes hand them out as :class:`JSONResponse` (FastAPI documents ``response_model``
but does not re-serialise a Response, which would reformat signed receipts).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Query
from fastapi.responses import JSONResponse

from ...models import ErrorEnvelope
from ..schemas import ID_PATTERN

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_\-]*={0,2}$")]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"),
]
Id = Annotated[str, Path(pattern=ID_PATTERN)]

_WHY = {
    400: "Malformed request (body not JSON, or nested too deep): `bad_request`",
    401: "Missing or unknown `X-API-Key`: `unauthenticated`; a revoked or expired key:"
    " `key_revoked`, `key_expired`",
    402: "The account cannot cover the amount: `insufficient_funds`",
    403: "The key's role may not do this: `forbidden`",
    404: "No such resource visible to this key",
    410: "The stream cannot resume from that position (not in the log): `stream_gap`",
    409: "The resource's state forbids this",
    413: "Body over the node's limit: `payload_too_large`",
    422: "The request does not validate: `validation_error`",
    425: "The job has no result yet: `job_not_ready`",
    429: "Over the rate limit: `rate_limited` (see `Retry-After`)",
    500: "Unexpected failure: `internal_error`",
    502: "The marketplace job failed or was canceled (its escrow refunded): `job_failed`",
    503: "The database is unavailable; retry after `Retry-After`: `unavailable`",
    504: "No miner finished the job within its ttl (its escrow refunded): `job_expired`",
}
#: Statuses any route may answer with.
COMMON = (400, 413, 422, 429, 500, 503)
#: ... and any route that needs an API key.
AUTHENTICATED = (*COMMON, 401, 403)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry documenting ``statuses`` with the error envelope."""
    return {s: {"model": ErrorEnvelope, "description": _WHY[s]} for s in sorted(set(statuses))}


def error_responses(*statuses: int) -> dict[str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``statuses`` with the error envelope, for an
    operation described by hand (not a FastAPI route)."""
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    return {str(s): {"description": _WHY[s], "content": envelope} for s in sorted(set(statuses))}


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """The wire dict ``body`` as it is: no second validation or serialisation."""
    return JSONResponse(body, status_code=status, headers=headers)


def created_or_replayed(body: Any, replayed: bool) -> JSONResponse:
    """201 for a new resource; 200 plus ``Idempotent-Replayed: true`` for a replay."""
    if replayed:
        return answer(body, 200, {"Idempotent-Replayed": "true"})
    return answer(body, 201)


def replay_docs(model: Any) -> dict[int | str, dict[str, Any]]:
    """Document the 200 answer of an idempotent replay beside the 201."""
    return {
        200: {
            "model": model,
            "description": "A replay of an earlier request with the same Idempotency-Key "
            "(header `Idempotent-Replayed: true`)",
        }
    }
