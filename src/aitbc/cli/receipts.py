"""``aitbc receipts get|verify``: fetch receipts and verify them offline.

Verification trusts only the coordinator keys the node publishes in ``GET /v1/info``
(or a saved copy of it, ``--info-file``), never a key named inside the receipt. It
checks the coordinator signature, the miner attestation, the chain id and the
coordinator id. Exit status 1 when a receipt does not verify.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .. import AITBCClient
from ..core.receipts import verify_receipt
from ..errors import ConfigurationError, ReceiptVerificationError
from ..models import NodeInfo, Receipt
from .failures import describe
from .inputs import read_json_object
from .invocation import Invocation, with_invocation
from .output import fields_table, money, when

receipts_app = typer.Typer(help="Fetch receipts and verify them offline.", no_args_is_help=True)

IdArg = Annotated[
    str | None,
    typer.Argument(help="A receipt id (rcpt_...) or a job id (job_...) for its receipt."),
]


def register(app: typer.Typer) -> None:
    """Add ``receipts`` to the ``aitbc`` command."""
    app.add_typer(receipts_app, name="receipts")


async def fetch_receipt(client: AITBCClient, ident: str) -> Receipt:
    """The receipt ``ident`` names: a receipt id, or a completed job's id."""
    if ident.startswith("job_"):
        return (await client.jobs.result(ident)).receipt
    return await client.receipts.get(ident)


@receipts_app.command("get")
@with_invocation()
def get(
    inv: Invocation,
    ident: Annotated[str, typer.Argument(help="A receipt id (rcpt_...) or a job id (job_...).")],
) -> None:
    """Print a receipt (``--json`` gives it exactly as signed, e.g. to save and verify)."""
    receipt = inv.run(lambda client: fetch_receipt(client, ident))
    inv.out.result(receipt, lambda c: c.print(receipt_table(receipt)))


@receipts_app.command("verify")
@with_invocation()
def verify(
    inv: Invocation,
    ident: IdArg = None,
    file: Annotated[
        str | None, typer.Option("--file", help="Verify a receipt JSON file (or - for stdin).")
    ] = None,
    info_file: Annotated[
        str | None,
        typer.Option("--info-file", help="A saved GET /v1/info answer: verify without the node."),
    ] = None,
) -> None:
    """Verify a receipt offline against the node's published keys; exit 1 if it fails."""
    try:
        given = _given_receipt(ident, file)
        info = _node_info_file(info_file) if info_file else None
    except ValueError as exc:
        inv.fail_with(exc)

    async def load(client: AITBCClient) -> tuple[dict[str, Any], NodeInfo]:
        wire = given if given is not None else (await fetch_receipt(client, str(ident))).to_wire()
        return wire, info if info is not None else await client.node_info()

    if given is not None and info is not None:
        wire, trusted = given, info  # fully offline: no node contacted at all
    else:
        wire, trusted = inv.run(load, require_key=given is None)
    report = {
        "receipt_id": wire.get("receipt_id"),
        "job_id": wire.get("job_id"),
        "chain_id": trusted.chain_id,
        "coordinator_id": trusted.coordinator_id,
    }
    try:
        check_receipt(wire, trusted)
    except ReceiptVerificationError as exc:
        if inv.out.json_mode:
            inv.out.json_line({**report, "valid": False, "reason": str(exc)})
        inv.fail(describe(exc, inv.settings.node_url))
    key_id = (wire.get("signature") or {}).get("key_id")
    inv.out.result(
        {**report, "valid": True, "key_id": key_id},
        lambda c: c.print(
            f"[green]✓[/] receipt {report['receipt_id']} verifies: coordinator signature "
            f"(key {key_id}), miner attestation, chain {trusted.chain_id}"
        ),
    )


def check_receipt(wire: dict[str, Any], info: NodeInfo) -> None:
    """Raise ReceiptVerificationError unless ``wire`` was signed by ``info``'s node."""
    verify_receipt(wire, info.verify_keys(), chain_id=info.chain_id)
    if wire.get("coordinator_id") != info.coordinator_id:
        raise ReceiptVerificationError(
            f"receipt is from coordinator {wire.get('coordinator_id')!r}, "
            f"not {info.coordinator_id!r}"
        )


def _given_receipt(ident: str | None, file: str | None) -> dict[str, Any] | None:
    if (ident is None) == (file is None):
        raise ConfigurationError("give either a receipt/job id or --file, not both or neither")
    if file is None:
        return None
    loaded = read_json_object(f"@{file}", "--file")
    # Accept what `jobs result --json` prints too: the receipt sits under "receipt".
    inner = loaded.get("receipt")
    return dict(inner) if isinstance(inner, dict) else loaded


def _node_info_file(path: str) -> NodeInfo:
    raw = read_json_object(f"@{path}", "--info-file")
    try:
        return NodeInfo.model_validate(raw)
    except ValueError as exc:
        raise ConfigurationError(f"--info-file is not a /v1/info answer: {exc}") from exc


def receipt_table(receipt: Receipt) -> Any:
    """A receipt's fields for reading (signatures shortened)."""
    sig = receipt.signature
    return fields_table(
        f"receipt {receipt.receipt_id}",
        [
            ("job", receipt.job_id),
            ("client", receipt.client_id),
            ("miner", receipt.miner_id),
            ("job type", receipt.job_type),
            ("units", receipt.units),
            ("price", money(receipt.price)),
            ("chain", receipt.chain_id),
            ("coordinator", receipt.coordinator_id),
            ("input hash", receipt.input_hash),
            ("output hash", receipt.output_hash),
            ("completed", when(receipt.completed_at)),
            ("signature", f"{sig.alg} key {sig.key_id} {sig.sig[:16]}…"),
            ("attestations", ", ".join(f"{a.role}:{a.key_id}" for a in receipt.attestations)),
        ],
    )
