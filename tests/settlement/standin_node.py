"""A stand-in coordinator node on a real loopback socket: /v1/info with a real signing
key and /v1/jobs/{id}/result serving signed receipts. Enough node for settlement tests
of the transport and client.settlement; the full node runs in the example test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from aitbc.core.envelope import error_envelope
from aitbc.core.signing import SigningKey


@dataclass
class StandinNode:
    coordinator: SigningKey
    chain_id: int = 1
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # job id → result body
    info_hits: int = 0
    url: str = ""

    def add_job(self, receipt: dict[str, Any], result: Any = None) -> str:
        job_id = str(receipt["job_id"])
        self.results[job_id] = {
            "job_id": job_id,
            "state": "COMPLETED",
            "result": result if result is not None else {"y": 2},
            "receipt": receipt,
        }
        return job_id

    def info(self) -> dict[str, Any]:
        key = self.coordinator.verify_key
        return {
            "chain_id": self.chain_id,
            "version": "test",
            "coordinator_id": "coord_test",
            "signing_keys": [{"key_id": key.key_id, "alg": "ed25519", "public_key": key.b64}],
        }


def _app(node: StandinNode) -> web.Application:
    async def info(request: web.Request) -> web.Response:
        node.info_hits += 1
        return web.json_response(node.info())

    async def result(request: web.Request) -> web.Response:
        body = node.results.get(request.match_info["job_id"])
        if body is None:
            envelope = error_envelope("job_not_found", "no such job", "req_test")
            return web.json_response(envelope, status=404)
        return web.json_response(body)

    async def missing(request: web.Request) -> web.Response:
        return web.json_response(error_envelope("not_found", "no route", "req_test"), status=404)

    app = web.Application()
    app.router.add_get("/v1/info", info)
    app.router.add_get("/v1/jobs/{job_id}/result", result)
    app.router.add_route("*", "/{tail:.*}", missing)
    return app


@asynccontextmanager
async def serve_standin(node: StandinNode) -> AsyncIterator[StandinNode]:
    """Serve ``node`` on 127.0.0.1:<free port>; sets ``node.url``."""
    runner = web.AppRunner(_app(node))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    node.url = f"http://127.0.0.1:{port}"
    try:
        yield node
    finally:
        await runner.cleanup()
