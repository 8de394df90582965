"""``aitbc receipts get|verify``: offline verification against the node's keys."""

from __future__ import annotations

import json
from pathlib import Path

from aitbc.transports.http import HTTPTransport

from .conftest import Stack, run_cli


async def _completed_job(stack: Stack) -> str:
    ran = await run_cli(
        "jobs",
        "submit",
        "echo",
        "--price",
        "40",
        "--payload",
        '{"n": 1}',
        "--wait",
        "--json",
        *stack.flags(),
    )
    assert ran.exit_code == 0, ran.stderr
    return str(json.loads(ran.stdout)["job"]["id"])


async def test_get_and_verify_by_receipt_or_job_id(mined: Stack) -> None:
    job_id = await _completed_job(mined)
    by_job = await run_cli("receipts", "get", job_id, "--json", *mined.flags())
    receipt = json.loads(by_job.stdout)
    assert receipt["job_id"] == job_id and receipt["price"] == "40"
    by_id = await run_cli("receipts", "get", receipt["receipt_id"], *mined.flags())
    assert receipt["receipt_id"] in by_id.stdout and "ed25519" in by_id.stdout

    human = await run_cli("receipts", "verify", receipt["receipt_id"], *mined.flags())
    assert human.exit_code == 0, human.stderr
    assert "verifies" in human.stdout
    as_json = await run_cli("receipts", "verify", job_id, "--json", *mined.flags())
    report = json.loads(as_json.stdout)
    assert report["valid"] is True and report["receipt_id"] == receipt["receipt_id"]


async def test_verify_file_offline_and_tampered_receipt_fails(mined: Stack, tmp_path: Path) -> None:
    job_id = await _completed_job(mined)
    saved = tmp_path / "receipt.json"
    saved.write_text((await run_cli("receipts", "get", job_id, "--json", *mined.flags())).stdout)
    async with HTTPTransport({"base_url": mined.node.url}) as anonymous:
        info = await anonymous.request("GET", "/v1/info")
    info_file = tmp_path / "info.json"
    info_file.write_text(json.dumps(info))

    # Fully offline: the keys come from the saved /v1/info, no node address given.
    offline = await run_cli(
        "receipts",
        "verify",
        "--file",
        str(saved),
        "--info-file",
        str(info_file),
        "--node",
        "http://127.0.0.1:9",
    )
    assert offline.exit_code == 0, offline.stderr
    # No key needed to verify a file against the live node's published keys.
    keyless = await run_cli("receipts", "verify", "--file", str(saved), "--node", mined.node.url)
    assert keyless.exit_code == 0, keyless.stderr

    tampered = {**json.loads(saved.read_text()), "price": "4000"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tampered))
    refused = await run_cli("receipts", "verify", "--file", str(bad), "--info-file", str(info_file))
    assert refused.exit_code == 1
    assert refused.lines() == [
        "error: receipt does NOT verify: coordinator signature does not verify"
    ]
    as_json = await run_cli(
        "receipts", "verify", "--file", str(bad), "--info-file", str(info_file), "--json"
    )
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["valid"] is False

    other_chain = tmp_path / "other.json"
    other_chain.write_text(json.dumps({**info, "chain_id": 5}))
    wrong = await run_cli(
        "receipts", "verify", "--file", str(saved), "--info-file", str(other_chain)
    )
    assert wrong.exit_code == 1 and "expected 5" in wrong.stderr


async def test_verify_needs_exactly_one_source(stack: Stack, tmp_path: Path) -> None:
    neither = await run_cli("receipts", "verify", *stack.flags())
    assert neither.exit_code == 2 and "either a receipt/job id or --file" in neither.stderr
    garbage = tmp_path / "x.json"
    garbage.write_text("{not json")
    ran = await run_cli("receipts", "verify", "--file", str(garbage), *stack.flags())
    assert ran.exit_code == 2 and len(ran.lines()) == 1 and "not valid JSON" in ran.stderr
    missing = await run_cli("receipts", "get", "rcpt_nope", *stack.flags())
    assert missing.exit_code == 5
