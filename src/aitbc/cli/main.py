"""Entry point of the ``aitbc`` command.

Each command group lives in its own module exposing ``register(app)``; adding a group is
one line in ``_COMMAND_MODULES``. Modules are imported lazily so that ``aitbc --help``
works even when an extra (node, evm) is not installed.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="aitbc",
    help="AITBC AI-compute marketplace: SDK, node, miner and devnet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES: tuple[str, ...] = (
    "aitbc.cli.serve",
    "aitbc.cli.miner",
    "aitbc.cli.demo",
    "aitbc.cli.devnet",
    "aitbc.cli.jobs",
    "aitbc.cli.wallet",
    "aitbc.cli.offers",
    "aitbc.cli.receipts",
    "aitbc.cli.settle",
    "aitbc.cli.config_command",
    "aitbc.cli.admin",
)


def _register_all() -> None:
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # an extra is missing: keep the rest usable
            missing = exc.name or module_name
            typer.echo(f"warning: {module_name} unavailable ({missing} not installed)", err=True)
            continue
        module.register(app)


def main() -> None:
    """Run the CLI (every error, usage errors included, is one line: cli.failures)."""
    from .failures import run_app

    _register_all()
    run_app(app)
