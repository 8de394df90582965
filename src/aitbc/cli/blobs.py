"""``aitbc blobs upload|download``: content-addressed files on the node."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .. import AITBCClient
from ..api.blobs import Blob
from .invocation import Invocation, with_invocation
from .output import fields_table

blobs_app = typer.Typer(help="Upload and download blobs (by SHA-256).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``blobs`` to the ``aitbc`` command."""
    app.add_typer(blobs_app, name="blobs")


@blobs_app.command("upload")
@with_invocation()
def upload(
    inv: Invocation,
    path: Annotated[Path, typer.Argument(help="The file to upload.", show_default=False)],
) -> None:
    """Upload a file; prints its id (SHA-256). Reference it in a job payload as
    {"$blob": "<sha256>"}."""

    async def run(client: AITBCClient) -> Blob:
        return await client.blobs.upload(path)

    blob = inv.run(run)
    rows = [("sha256", blob.sha256), ("size", blob.size), ("parts", blob.parts)]
    inv.out.result(blob, lambda c: c.print(fields_table("blob", rows)))


@blobs_app.command("download")
@with_invocation()
def download(
    inv: Invocation,
    sha256: Annotated[str, typer.Argument(help="The blob id (SHA-256 hex).", show_default=False)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """Download a blob, checked against its id, to a file or stdout."""
    data = inv.run(lambda client: client.blobs.download(sha256))
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        inv.fail_with(exc)
    inv.out.note(f"wrote {len(data)} bytes to {output}")
