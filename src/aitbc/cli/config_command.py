"""``aitbc config show|path``: which node, key and settlement setup the client commands
would use, and where each value came from (flag, environment, file or default)."""

from __future__ import annotations

import typer

from .config import ENV_VARS, default_config_path
from .invocation import Invocation, with_invocation
from .output import fields_table

config_app = typer.Typer(help="Show the resolved client configuration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``config`` to the ``aitbc`` command."""
    app.add_typer(config_app, name="config")


@config_app.command("show")
@with_invocation()
def show(inv: Invocation) -> None:
    """Print the settings in effect (API key masked) and the source of each."""
    view = inv.settings.public_view()
    sources = view.pop("sources")
    rows = [(name, f"{value}  [{sources.get(name, 'default')}]") for name, value in view.items()]
    inv.out.result(
        {**view, "sources": sources},
        lambda c: c.print(fields_table("aitbc client configuration", rows)),
    )


@config_app.command("path")
def path() -> None:
    """Print the default config file path and the environment variables read."""
    import os

    typer.echo(str(default_config_path(os.environ)))
    for name, var in ENV_VARS.items():
        typer.echo(f"{var}\t{name}")
