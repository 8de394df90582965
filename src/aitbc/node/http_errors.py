"""Exception handlers: every error the app produces leaves as the one envelope."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.envelope import error_envelope
from .middleware import request_id_of
from .problems import NodeProblem
from .schemas import too_deep

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


def _allowed_methods(request: Request) -> str:
    """Every method the API documents at this path (Starlette names only the first route's)."""
    path = request.url.path
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            methods.update(method.upper() for method in operations)
    return ", ".join(sorted(methods))


def _http_problem(request: Request, exc: StarletteHTTPException) -> NodeProblem:
    if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        return too_deep()  # deeper than the JSON parser goes: the same answer as the limit
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return NodeProblem(exc.status_code, code, str(exc.detail), headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route NodeProblem, HTTP and validation errors to the envelope."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NodeProblem)
        return envelope_response(request, exc)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return envelope_response(request, _http_problem(request, exc))

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
