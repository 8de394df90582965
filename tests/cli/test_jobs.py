"""``aitbc jobs ...`` through the real command line against a real node and miner."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Stack, run_cli


async def test_submit_wait_streams_then_prints_result(mined: Stack) -> None:
    ran = await run_cli(
        "jobs",
        "submit",
        "echo",
        "--price",
        "250",
        "--payload",
        '{"msg": "hi"}',
        "--wait",
        *mined.flags(),
    )
    assert ran.exit_code == 0, ran.stderr
    assert "COMPLETED" in ran.stdout
    assert '{"echo":{"msg":"hi"}}' in ran.stdout  # the result table
    assert "events (stream)" in ran.stdout  # the live view followed the event stream


async def test_submit_wait_json_is_one_document(mined: Stack, tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"data": "abc", "rounds": 3}))
    ran = await run_cli(
        "jobs",
        "submit",
        "sha256",
        "--price",
        "1_000",
        "--payload",
        f"@{payload}",
        "--ttl",
        "120",
        "--wait",
        "--poll",
        "--json",
        *mined.flags(),
    )
    assert ran.exit_code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["job"]["state"] == "COMPLETED"
    assert doc["job"]["price"] == "1000" and doc["job"]["ttl_seconds"] == 120
    assert doc["result"]["result"]["rounds"] == 3
    assert doc["result"]["receipt"]["job_id"] == doc["job"]["id"]


async def test_submit_get_list_cancel_without_miner(stack: Stack) -> None:
    submitted = await run_cli(
        "jobs",
        "submit",
        "echo",
        "--price",
        "300",
        "--model",
        "llama",
        "--region",
        "eu",
        "--max-price",
        "500",
        "--json",
        *stack.flags(),
    )
    assert submitted.exit_code == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert job["state"] == "QUEUED"
    assert job["constraints"]["models"] == ["llama"] and job["constraints"]["region"] == "eu"

    got = await run_cli("jobs", "get", job["id"], "--json", *stack.flags())
    assert json.loads(got.stdout)["id"] == job["id"]
    human = await run_cli("jobs", "get", job["id"], *stack.flags())
    assert job["id"] in human.stdout and "QUEUED" in human.stdout

    listed = await run_cli("jobs", "list", "--state", "queued", "--json", *stack.flags())
    assert [j["id"] for j in json.loads(listed.stdout)["items"]] == [job["id"]]

    canceled = await run_cli("jobs", "cancel", job["id"], "--json", *stack.flags())
    assert canceled.exit_code == 0, canceled.stderr
    assert json.loads(canceled.stdout)["state"] == "CANCELED"
    balance = await run_cli("wallet", "balance", "--json", *stack.flags())
    assert json.loads(balance.stdout)["balance"] == "100000"  # refunded in full

    again = await run_cli("jobs", "cancel", job["id"], *stack.flags())
    assert again.exit_code == 1
    assert again.lines() == [again.lines()[0]] and "job_not_cancelable" in again.stderr

    watched = await run_cli("jobs", "watch", job["id"], *stack.flags())
    assert watched.exit_code == 1  # a watched job that did not complete
    assert "CANCELED" in watched.stdout and "ended CANCELED" in watched.stderr


async def test_watch_json_lines_until_completed(mined: Stack) -> None:
    submitted = await run_cli("jobs", "submit", "echo", "--price", "10", "--json", *mined.flags())
    job_id = json.loads(submitted.stdout)["id"]
    ran = await run_cli("jobs", "watch", job_id, "--json", *mined.flags())
    assert ran.exit_code == 0, ran.stderr
    events = [json.loads(line) for line in ran.stdout.splitlines()]
    assert events[-1]["data"]["state"] == "COMPLETED"
    assert all(e["topic"] == f"job:{job_id}" for e in events)
    result = await run_cli("jobs", "result", job_id, "--json", *mined.flags())
    assert json.loads(result.stdout)["result"] == {"echo": {}}


async def test_bad_payload_is_one_line_and_sends_nothing(stack: Stack) -> None:
    for payload, needle in (
        ('{"a": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("@/nonexistent/p.json", "cannot read"),
    ):
        ran = await run_cli(
            "jobs", "submit", "echo", "--price", "1", "--payload", payload, *stack.flags()
        )
        assert ran.exit_code == 2
        assert len(ran.lines()) == 1 and needle in ran.stderr
        assert "Traceback" not in ran.stderr
    negative = await run_cli("jobs", "submit", "echo", "--price", "-5", *stack.flags())
    assert negative.exit_code == 2 and "--price must be a non-negative" in negative.stderr
    listed = await run_cli("jobs", "list", "--json", *stack.flags())
    assert json.loads(listed.stdout)["items"] == []  # nothing reached the node


async def test_unknown_job_is_not_found(stack: Stack) -> None:
    ran = await run_cli("jobs", "get", "job_nope", *stack.flags())
    assert ran.exit_code == 5
    assert ran.lines() == ["error: not found: job job_nope not found (404 job_not_found)"]


async def test_bad_state_filter_is_bad_input(stack: Stack) -> None:
    ran = await run_cli("jobs", "list", "--state", "sleeping", *stack.flags())
    assert ran.exit_code == 2 and "--state must be one of" in ran.stderr


async def test_payload_from_stdin_and_constraints_json(stack: Stack) -> None:
    ran = await run_cli(
        "jobs",
        "submit",
        "matmul",
        "--price",
        "9",
        "--payload",
        "@-",
        "--constraints",
        '{"models": ["m1"], "min_gpu_memory_gb": 8}',
        "--region",
        "us",
        "--json",
        *stack.flags(),
        stdin='{"seed": 3, "n": 2}',
    )
    assert ran.exit_code == 0, ran.stderr
    job = json.loads(ran.stdout)
    assert job["payload"] == {"seed": 3, "n": 2}
    assert job["constraints"]["models"] == ["m1"] and job["constraints"]["region"] == "us"
    assert job["constraints"]["min_gpu_memory_gb"] == 8
