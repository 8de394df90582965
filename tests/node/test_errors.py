"""One error envelope for everything: routing, validation, body limits, crashes."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.exc import OperationalError

from .conftest import Cast

JOB = {"job_type": "echo", "payload": {"n": 1}, "price": "100"}


async def test_404_405_and_request_id_echo(cast: Cast) -> None:
    await cast.client.err("GET", "/v1/nope", 404, "not_found")
    await cast.client.err("GET", "/v1/jobs/job_missing", 404, "job_not_found")
    await cast.client.err("DELETE", "/v1/jobs", 405, "method_not_allowed")
    response = await cast.client.http.get("/v1/me", headers={"X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"


async def test_bad_bodies(cast: Cast) -> None:
    c = cast.client
    raw = {"headers": {"content-type": "application/json"}}
    await c.err("POST", "/v1/jobs", 400, "bad_request", content=b'{"job_type": ', **raw)
    error = await c.err("POST", "/v1/jobs", 422, "validation_error", json={**JOB, "price": 100})
    assert error["details"][0]["loc"] == ["body", "price"]
    await c.err("POST", "/v1/jobs", 422, "validation_error", json={**JOB, "price": "-5"})
    await c.err("POST", "/v1/jobs", 422, "validation_error", json={**JOB, "price": "1.5"})
    await c.err("POST", "/v1/jobs", 422, "validation_error", json={**JOB, "bogus": 1})
    await c.err("POST", "/v1/jobs", 422, "validation_error", json={"payload": {}})
    await c.err(
        "POST",
        "/v1/jobs",
        422,
        "validation_error",
        json={**JOB, "constraints": {"min_gpu_memory_gb": -1}},
    )
    # Python's JSON reader accepts NaN, but a payload must hash canonically (RFC 8785).
    await c.err(
        "POST",
        "/v1/jobs",
        422,
        "validation_error",
        content=b'{"job_type": "echo", "payload": NaN, "price": "1"}',
        **raw,
    )
    await c.err(
        "POST", "/v1/jobs", 413, "payload_too_large", json={**JOB, "payload": "x" * 2_000_000}
    )
    await c.err(
        "POST", "/v1/wallet/transfer", 422, "validation_error", json={"to": c.id, "amount": "1"}
    )
    await c.err(
        "POST",
        "/v1/wallet/transfer",
        404,
        "principal_not_found",
        json={"to": "prn_nobody", "amount": "1"},
    )
    await c.err(
        "POST", "/v1/wallet/transfer", 403, "forbidden", json={"to": "sys:mint", "amount": "1"}
    )
    # Nothing above was half-written.
    assert (await c.ok("GET", "/v1/jobs"))["items"] == []
    assert (await c.ok("GET", "/v1/wallet/balance"))["balance"] == "10000"


async def test_unhandled_exception_is_500_envelope(cast: Cast) -> None:
    async def boom() -> dict[str, Any]:
        raise RuntimeError("kaboom")

    cast.node.app.add_api_route("/test-boom", boom)
    async with httpx.AsyncClient(base_url=cast.node.url) as http:
        response = await http.get("/test-boom")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and "kaboom" not in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]


async def test_database_trouble_is_503_with_retry_after(cast: Cast) -> None:
    async def locked() -> dict[str, Any]:
        raise OperationalError("UPDATE jobs", {}, RuntimeError("database is locked"))

    cast.node.app.add_api_route("/test-locked", locked)
    async with httpx.AsyncClient(base_url=cast.node.url) as http:
        response = await http.get("/test-locked")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "unavailable"
