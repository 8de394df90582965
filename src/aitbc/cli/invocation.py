"""What every client command shares: the connection options, the resolved settings, the
output mode, and running one async body with every error mapped to a one-line message.

A command body decorated with :func:`with_invocation` gets the common options appended to
its own and receives them resolved as an :class:`Invocation`; then ``inv.run(body)`` runs
``body(client)`` on a connected :class:`aitbc.AITBCClient` and exits with the status of
:mod:`aitbc.cli.failures`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from .. import AITBCClient, HTTPTransport
from ..errors import ConfigurationError
from .config import Settings, resolve
from .failures import EXIT_INTERRUPTED, Failure, describe
from .output import Output

T = TypeVar("T")

NodeOpt = Annotated[
    str | None,
    typer.Option(
        "--node", help="Node URL (env AITBC_NODE_URL, file node_url).", show_default=False
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key", help="API key (env AITBC_API_KEY, file api_key).", show_default=False
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        help="Config file (env AITBC_CONFIG; default ~/.config/aitbc/config.toml).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout", help="Seconds per request (env AITBC_TIMEOUT; default 30).", show_default=False
    ),
]


@dataclass
class Invocation:
    """One run of a client command: its settings and where it prints."""

    settings: Settings
    out: Output

    def fail(self, failure: Failure) -> NoReturn:
        """Print ``failure`` and exit with its status."""
        self.out.failure(failure)
        raise typer.Exit(failure.exit_code)

    def fail_with(self, exc: BaseException) -> NoReturn:
        """Print what ``exc`` means for the user and exit with its status."""
        self.fail(describe(exc, self.settings.node_url))

    def require_api_key(self) -> None:
        """Raise ConfigurationError unless an API key is configured."""
        if not self.settings.api_key:
            raise ConfigurationError(
                "no API key: pass --api-key, set AITBC_API_KEY or api_key in the config file"
            )

    def open_client(self, *, require_key: bool = True) -> AITBCClient:
        """A client for the configured node; ConfigurationError when a key is needed
        but none is configured."""
        if require_key:
            self.require_api_key()
        return AITBCClient(HTTPTransport(self.settings.transport_config()))

    def run(self, body: Callable[[AITBCClient], Awaitable[T]], *, require_key: bool = True) -> T:
        """Run ``body(client)`` on a connected client; map every failure to an exit."""

        async def main() -> T:
            async with self.open_client(require_key=require_key) as client:
                return await body(client)

        return self.run_async(main)

    def run_async(self, main: Callable[[], Awaitable[T]]) -> T:
        """Run ``main()`` in a fresh event loop; map every failure to an exit."""

        async def wrapped() -> T:
            return await main()

        try:
            return asyncio.run(wrapped())
        except KeyboardInterrupt:
            self.fail(Failure("interrupted", "interrupted", EXIT_INTERRUPTED))
        except typer.Exit:
            raise
        except Exception as exc:  # the last line of defence: no traceback for users
            self.fail_with(exc)


def invocation(
    node: str | None,
    api_key: str | None,
    config: str | None,
    json_mode: bool,
    timeout: float | None = None,
    **extra: Any,
) -> Invocation:
    """Resolve the settings (flags > env > file > defaults) for one command.

    ``extra`` are further flags (``devnet_config``, ``storage``, ``key``); None = not
    given. Exits with status 2 and a one-line message when the config is unusable.
    """
    out = Output(json_mode)
    flags = {"node_url": node, "api_key": api_key, "timeout": timeout, **extra}
    try:
        settings = resolve(flags, config_path=config)
    except ConfigurationError as exc:
        failure = describe(exc, node or "")
        out.failure(failure)
        raise typer.Exit(failure.exit_code) from exc
    return Invocation(settings, out)


def option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    """A typer option parameter named ``name`` (``annotation`` is an ``*Opt``), for the
    ``extra`` options of :func:`with_invocation`."""
    return inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation
    )


# The options every client command takes, last in its signature (and so in its --help).
_CONNECTION_OPTIONS = (
    option("node", NodeOpt),
    option("api_key", ApiKeyOpt),
    option("config", ConfigOpt),
    option("json_mode", JsonOpt, False),
    option("timeout", TimeoutOpt),
)

CommandBody = Callable[..., None]


def with_invocation(*extra: inspect.Parameter) -> Callable[[CommandBody], CommandBody]:
    """Turn ``body(inv, ...)`` into a typer command taking the connection options.

    Put it under ``@app.command(...)``. Typer sees the body's own parameters (after
    ``inv``), then ``extra`` (see :func:`option`), then ``--node``, ``--api-key``,
    ``--config``, ``--json`` and ``--timeout``; the command resolves those with
    :func:`invocation` (``extra`` as further flags, same names) and calls the body with
    the :class:`Invocation`. Exits with status 2 when the config is unusable.
    """

    def decorate(body: CommandBody) -> CommandBody:
        own = list(inspect.signature(body, eval_str=True).parameters.values())[1:]
        params = [*own, *extra, *_CONNECTION_OPTIONS]
        flag_names = [p.name for p in (*extra, *_CONNECTION_OPTIONS)]

        @functools.wraps(body)
        def command(**kwargs: Any) -> None:
            flags = {name: kwargs.pop(name) for name in flag_names}
            body(invocation(**flags), **kwargs)

        # typer reads the parameters from the signature and their types from the hints.
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate
