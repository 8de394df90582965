"""The node's error type: raised by services, rendered as the error envelope by routes."""

from __future__ import annotations

from typing import Any


class NodeProblem(Exception):
    """A request the node refuses: an HTTP status, a protocol error code and a message.

    Services raise it; the HTTP layer (and any other door) renders it as the envelope
    ``{"error": {"code", "message", "request_id", "details"}}``.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def not_found(code: str, what: str, ident: str) -> NodeProblem:
    return NodeProblem(404, code, f"{what} {ident} not found")


def forbidden(message: str) -> NodeProblem:
    return NodeProblem(403, "forbidden", message)


def conflict(code: str, message: str) -> NodeProblem:
    return NodeProblem(409, code, message)


def invalid(message: str, loc: list[str | int], kind: str = "value_error") -> NodeProblem:
    """A 422 validation_error for a value that passed the schema but not the rules."""
    detail = {"loc": loc, "msg": message, "type": kind}
    return NodeProblem(422, "validation_error", message, details=[detail])
