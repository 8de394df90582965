"""Exception handlers: every error the app produces leaves as the one envelope."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.envelope import error_envelope
from .middleware import request_id_of
from .problems import NodeProblem

log = logging.getLogger("aitbc.node")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def envelope_response(request: Request, problem: NodeProblem) -> JSONResponse:
    """The JSON response for ``problem`` carrying this request's id."""
    body = error_envelope(
        problem.code, problem.message, request_id_of(request.scope), problem.details
    )
    return JSONResponse(body, status_code=problem.status, headers=problem.headers or None)


def _validation_problem(exc: RequestValidationError) -> NodeProblem:
    errors = list(exc.errors())
    details = [
        {
            "loc": list(e.get("loc", [])),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]
    if any(e.get("type") == "json_invalid" for e in errors):
        return NodeProblem(400, "bad_request", "request body is not valid JSON", details=details)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    return NodeProblem(422, "validation_error", f"{where}: {first['msg']}", details=details)


def install_error_handlers(app: FastAPI) -> None:
    """Route NodeProblem, HTTP and validation errors to the envelope."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NodeProblem)
        return envelope_response(request, exc)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        headers = dict(exc.headers or {})
        return envelope_response(
            request, NodeProblem(exc.status_code, code, str(exc.detail), headers=headers)
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return envelope_response(request, _validation_problem(exc))

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        # Lost connections, lock timeouts, deadlocks: transient, and the transaction was
        # rolled back, so the client may safely retry.
        log.warning("database unavailable for %s: %s", request.url.path, exc)
        problem = NodeProblem(
            503,
            "unavailable",
            "database temporarily unavailable; retry",
            headers={"Retry-After": "1"},
        )
        return envelope_response(request, problem)

    app.add_exception_handler(OperationalError, on_database)
    app.add_exception_handler(InterfaceError, on_database)
    app.add_exception_handler(NodeProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
