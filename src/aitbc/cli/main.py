"""The ``aitbc`` Typer app, with its commands loaded lazily.

Each command group lives in its own module exposing ``register(app)``; adding one is a
row in ``COMMANDS``. A module is imported only when its command runs (or shows its own
help), so ``aitbc --help`` imports none of them: it lists the commands from the table.
A command whose extra is not installed answers with one line naming the extra and exit
status 2, whatever its arguments. The console script enters through
:mod:`aitbc.cli.entry`, which checks the cli extra itself before importing this module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from .._extras import missing_extra_error, require_extras
from ..errors import MissingExtraError
from .failures import EXIT_BAD_INPUT


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives, its one-line help (shown without importing the module)
    and the extras it needs beyond ``cli``."""

    module: str
    help: str
    extras: tuple[str, ...] = ()


# tests/cli/test_main_startup.py checks each help line against the loaded command's.
COMMANDS: dict[str, LazyCommand] = {
    "serve": LazyCommand(
        "aitbc.cli.serve", "Run the coordinator node (migrates the database on start).", ("node",)
    ),
    "miner": LazyCommand(
        "aitbc.cli.miner",
        "Serve jobs from a coordinator: register, heartbeat, poll, run, co-sign, submit.",
    ),
    "demo": LazyCommand(
        "aitbc.cli.demo",
        "Run the marketplace end to end on this machine and check every step.",
        ("node", "devnet"),
    ),
    "devnet": LazyCommand(
        "aitbc.cli.devnet",
        "Start a local multi-chain devnet and keep it running until Ctrl-C.",
        ("devnet",),
    ),
    "keys": LazyCommand("aitbc.cli.serve", "Manage API keys.", ("node",)),
    "jobs": LazyCommand("aitbc.cli.jobs", "Submit, inspect, follow and cancel compute jobs."),
    "wallet": LazyCommand("aitbc.cli.wallet", "Balance, transfers and ledger history."),
    "offers": LazyCommand("aitbc.cli.offers", "List, create and close marketplace offers."),
    "receipts": LazyCommand("aitbc.cli.receipts", "Fetch receipts and verify them offline."),
    "settle": LazyCommand(
        "aitbc.cli.settle", "Settle job payments across chains.", ("settlement",)
    ),
    "config": LazyCommand("aitbc.cli.config_command", "Show the resolved client configuration."),
    "admin": LazyCommand(
        "aitbc.cli.admin", "Create principals, mint funds, manage API keys, read the audit log."
    ),
    "chat": LazyCommand(
        "aitbc.cli.chat", "Ask a model on the marketplace; the answer streams as it is written."
    ),
    "blobs": LazyCommand("aitbc.cli.blobs", "Upload and download blobs (by SHA-256)."),
}


def _missing_extra_command(name: str, error: MissingExtraError) -> _click.Command:
    """A command that answers any arguments with one line naming the extra, exit 2."""

    def answer() -> None:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)

    return TyperCommand(
        name,
        callback=answer,
        help=str(error),
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def load_command(name: str) -> _click.Command:
    """Import the module of command ``name`` and build its click command; a command
    whose extras are missing gets the one-line answer instead."""
    spec = COMMANDS[name]
    feature = f"aitbc {name}"
    try:
        require_extras(feature, spec.extras)
        module = importlib.import_module(spec.module)
    except MissingExtraError as error:
        return _missing_extra_command(name, error)
    except ImportError as exc:
        for extra in ("cli", *spec.extras):
            missing = missing_extra_error(exc, feature, extra)
            if missing is not None:
                return _missing_extra_command(name, missing)
        raise
    holder = typer.Typer()
    module.register(holder)
    return typer.main.get_group(holder).commands[name]


class LazyGroup(TyperGroup):
    """The root group: commands from ``COMMANDS``, each loaded on first lookup."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in COMMANDS:
            found = self.commands[cmd_name] = load_command(cmd_name)
        return found

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """List the commands from the table: no module is imported to show help."""
        rows = []
        for name, spec in COMMANDS.items():
            line = spec.help
            try:
                require_extras(f"aitbc {name}", spec.extras)
            except MissingExtraError as error:
                line += f" (needs aitbc[{error.extra}])"
            rows.append((name, line))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="aitbc",
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: rich's command panel would look up (so import) every command.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
)


@app.callback()
def _root() -> None:
    """AITBC AI-compute marketplace: SDK, node, miner and devnet."""


def main() -> None:
    """Run the CLI (every error, usage errors included, is one line: cli.failures)."""
    from .failures import run_app

    run_app(app)
