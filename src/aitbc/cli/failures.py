"""The one place where errors become what a CLI user sees: a one-line message and an
exit status. No traceback reaches the terminal for an error aitbc raises on purpose.

Exit statuses of the client commands:

=====  ==========================================================================
0      success
1      the operation failed (node error, job failed, receipt does not verify, ...)
2      bad input (flags, payload, amounts, config file)
3      the node could not be reached or did not answer in time
4      the node refused the API key (401) or the action (403)
5      not found (404)
130    interrupted (Ctrl-C)
=====  ==========================================================================
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

from ..errors import (
    AITBCError,
    APIError,
    AuthenticationError,
    ConnectError,
    InsufficientFundsError,
    NotFoundError,
    PermissionDeniedError,
    ReceiptVerificationError,
    TransportError,
    TransportTimeout,
    ValidationError,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3
EXIT_REFUSED = 4
EXIT_NOT_FOUND = 5
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Failure:
    """What to tell the user: ``message`` (one line), ``code`` (machine-readable) and
    the process ``exit_code``."""

    message: str
    code: str
    exit_code: int

    def to_json(self) -> str:
        """The failure as one JSON line, for ``--json`` mode."""
        body = {"message": self.message, "code": self.code, "exit_code": self.exit_code}
        return json.dumps({"error": body}, sort_keys=True)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and newlines; cut very long texts so a message stays one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(exc: BaseException, node_url: str) -> Failure:
    """The Failure for ``exc``; ``node_url`` names the node in connection messages."""
    if isinstance(exc, TransportError):
        return _transport(exc, node_url)
    if isinstance(exc, APIError):
        return _api(exc)
    if isinstance(exc, ReceiptVerificationError):
        return Failure(one_line(f"receipt does NOT verify: {exc}"), "bad_receipt", EXIT_FAILED)
    if isinstance(exc, ValueError):  # ConfigurationError, bad bridge name, bad message...
        return Failure(one_line(str(exc)), "bad_input", EXIT_BAD_INPUT)
    if isinstance(exc, AITBCError):
        return Failure(one_line(str(exc)), _snake(type(exc).__name__), EXIT_FAILED)
    return Failure(one_line(f"{type(exc).__name__}: {exc}"), "internal_error", EXIT_FAILED)


def _transport(exc: TransportError, node_url: str) -> Failure:
    if isinstance(exc, ConnectError):
        text = f"cannot reach the node at {node_url} (is it running? is --node right?)"
    elif isinstance(exc, TransportTimeout):
        text = f"the node at {node_url} did not answer in time"
    else:
        text = f"connection to the node at {node_url} failed: {exc}"
    return Failure(one_line(text), "unreachable", EXIT_UNREACHABLE)


def _api(exc: APIError) -> Failure:
    where = f" ({exc.status} {exc.code})"
    if isinstance(exc, AuthenticationError):
        text = "the node rejected the API key: check --api-key, AITBC_API_KEY or the config file"
        return Failure(text + where, exc.code, EXIT_REFUSED)
    if isinstance(exc, PermissionDeniedError):
        return Failure(one_line(f"not allowed: {exc.message}{where}"), exc.code, EXIT_REFUSED)
    if isinstance(exc, NotFoundError):
        return Failure(one_line(f"not found: {exc.message}{where}"), exc.code, EXIT_NOT_FOUND)
    if isinstance(exc, ValidationError):
        return Failure(one_line(_validation(exc) + where), exc.code, EXIT_BAD_INPUT)
    if isinstance(exc, InsufficientFundsError):
        text = f"insufficient funds: {exc.message}{where}"
        return Failure(one_line(text), exc.code, EXIT_FAILED)
    return Failure(one_line(f"{exc.message}{where}"), exc.code, EXIT_FAILED)


def _validation(exc: APIError) -> str:
    problems = []
    for item in exc.details:
        if isinstance(item, dict) and "msg" in item:
            loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
            problems.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
    suffix = f" ({'; '.join(problems)})" if problems else ""
    return f"the node rejected the input: {exc.message}{suffix}"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def run_app(app: Any, args: list[str] | None = None) -> NoReturn:
    """Run the Typer ``app`` and exit; a usage error is one line on stderr and status 2.

    Typer's standalone mode would draw usage errors as a multi-line box; here Click runs
    non-standalone so that every error, usage errors included, ends the same way.
    """
    import typer

    try:  # typer >= 0.20 vendors its own click
        from typer._click import exceptions as clicks
    except ImportError:  # pragma: no cover - older typer on top of click
        from click import exceptions as clicks  # type: ignore[no-redef]

    try:
        result = app(args=args, standalone_mode=False)
    except clicks.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help(), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except clicks.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        typer.echo(f"error: {one_line(exc.format_message())}{hint}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except clicks.ClickException as exc:
        typer.echo(f"error: {one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("error: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(result if isinstance(result, int) else EXIT_OK)
