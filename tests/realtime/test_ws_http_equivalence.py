"""The same call answers the same over both doors: WS request envelopes and plain HTTP.

Raw clients on both sides (aiohttp for HTTP, ``websockets`` for WS) against a real node,
so what is compared is the wire: status, body, error envelope, request id, idempotency,
and the request metrics the node keeps by route.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import websockets

from aitbc.node.realtime import dispatch

from .conftest import Principal

Answer = tuple[int, Any]


class Doors:
    """One caller's two doors into ``node``: ``http(...)`` and ``ws(...)`` answer alike."""

    def __init__(self, node: Any, http: aiohttp.ClientSession, ws: Any, key: str) -> None:
        self.node, self.session, self.socket, self.key = node, http, ws, key
        self.ids = itertools.count()

    async def http(
        self, method: str, path: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        sent = {"X-API-Key": self.key, **(headers or {})}
        body = None if data is None else json.dumps(data)
        if body is not None:
            sent["Content-Type"] = "application/json"
        async with self.session.request(
            method, self.node.url + path, data=body, headers=sent
        ) as resp:
            return resp.status, await resp.json()

    async def ws(
        self, method: str, path: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        rid = f"eq{next(self.ids)}"
        envelope = {"id": rid, "method": method, "path": path, "data": data}
        await self.socket.send(json.dumps({**envelope, "headers": headers or {}}))
        reply = json.loads(await self.socket.recv())
        assert reply["id"] == rid
        if "error" in reply:
            return reply["status"], {"error": reply["error"]}
        return reply["status"], reply["data"]


@pytest.fixture
async def doors(node: Any, alice: Principal) -> AsyncIterator[Doors]:
    async with (
        aiohttp.ClientSession() as http,
        websockets.connect(node.ws_url, additional_headers={"X-API-Key": alice.key}) as ws,
    ):
        yield Doors(node, http, ws, alice.key)


def _without_request_id(answer: Answer) -> Answer:
    """The answer with the (per request, random) error request id taken out."""
    status, body = answer
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = dict(body["error"])
        assert error.pop("request_id")  # every error names its request
        return status, {"error": error}
    return answer


async def test_reads_and_errors_answer_alike(doors: Doors, alice: Principal) -> None:
    bad_job = {"job_type": "echo", "payload": {}, "price": "-1"}
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/v1/me", None),
        ("GET", "/v1/wallet/balance", None),
        ("GET", "/v1/jobs?limit=5", None),
        ("GET", "/v1/jobs/job_missing", None),  # 404
        ("POST", "/v1/jobs", bad_job),  # 422, with details
        ("POST", "/v1/jobs", None),  # 422: no body at all
        ("POST", "/v1/admin/realtime/kick", None),  # 403: a client key on an admin route
        ("GET", "/v1/no/such/route", None),  # 404 from the router
        ("DELETE", "/v1/me", None),  # 405
    ]
    seen = set()
    for _ in range(2):  # the second round takes the routes the node remembered
        for method, path, data in calls:
            over_http = _without_request_id(await doors.http(method, path, data))
            over_ws = _without_request_id(await doors.ws(method, path, data))
            assert over_ws == over_http, (method, path)
            seen.add(over_http[0])
    assert seen == {200, 403, 404, 405, 422}
    status, me = await doors.ws("GET", "/v1/me")
    assert status == 200 and me["id"] == alice.id


async def test_conflicts_and_state_errors_answer_alike(doors: Doors) -> None:
    job = {"job_type": "echo", "payload": {}, "price": "1"}
    status, made = await doors.http("POST", "/v1/jobs", job)
    assert status in (200, 201)
    cancel = f"/v1/jobs/{made['id']}/cancel"
    assert (await doors.ws("POST", cancel))[0] == 200
    again = [_without_request_id(await door("POST", cancel)) for door in (doors.http, doors.ws)]
    assert again[0] == again[1] and again[0][0] == 409, again


async def test_idempotent_replay_is_one_job_across_both_doors(doors: Doors) -> None:
    job = {"job_type": "echo", "payload": {"n": 1}, "price": "2"}
    key = {"Idempotency-Key": "equivalence-1"}
    first = await doors.http("POST", "/v1/jobs", job, key)
    replays = [await door("POST", "/v1/jobs", job, key) for door in (doors.ws, doors.http)]
    assert replays[0] == replays[1]  # a replay answers alike, whichever door replays
    assert replays[0][1] == first[1]  # and it is the job the first call made
    changed = {**job, "price": "3"}
    conflicts = [_without_request_id(await d("POST", "/v1/jobs", changed, key)) for d in
                 (doors.http, doors.ws)]  # fmt: skip
    assert conflicts[0] == conflicts[1]
    assert conflicts[0][0] == 409 and conflicts[0][1]["error"]["code"] == "idempotency_key_reused"


async def test_a_given_request_id_is_kept_on_both_doors(doors: Doors) -> None:
    for door in (doors.http, doors.ws):
        status, body = await door("GET", "/v1/jobs/job_x", None, {"X-Request-ID": "trace-42"})
        assert status == 404 and body["error"]["request_id"] == "trace-42"


async def test_unauthenticated_calls_are_401_on_both_doors(node: Any) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(node.url + "/v1/me") as resp,
        websockets.connect(node.ws_url) as ws,  # no key: the socket waits for an auth message
    ):
        over_http = await resp.json()
        await ws.send(json.dumps({"id": "1", "method": "GET", "path": "/v1/me"}))
        over_ws = json.loads(await ws.recv())
    assert resp.status == over_ws["status"] == 401
    assert over_http["error"]["code"] == over_ws["error"]["code"] == "unauthenticated"


async def test_ws_calls_are_counted_by_route_like_http(node: Any, doors: Doors) -> None:
    registry = node.app.state.metrics.registry

    def count(route: str, status: str) -> float:
        labels = {"method": "GET", "route": route, "status": status}
        return registry.get_sample_value("aitbc_http_requests_total", labels) or 0.0

    before = count("/v1/jobs/{job_id}", "404"), count("/v1/me", "200")
    for _ in range(2):  # the second WS call takes the remembered route
        await doors.ws("GET", "/v1/jobs/job_y")
        await doors.ws("GET", "/v1/me")
    await doors.http("GET", "/v1/jobs/job_y")
    assert count("/v1/jobs/{job_id}", "404") == before[0] + 3
    assert count("/v1/me", "200") == before[1] + 2


async def test_remembered_routes_still_read_each_path(doors: Doors) -> None:
    """Two jobs behind one route template, each asked for twice: every answer is its own
    job's (path parameters are never carried over from an earlier call)."""
    made = []
    for n in range(2):
        job = {"job_type": "echo", "payload": {"n": n}, "price": "1"}
        made.append((await doors.ws("POST", "/v1/jobs", job))[1]["id"])
    for _ in range(2):
        for n, job_id in enumerate(made):
            over_ws = await doors.ws("GET", f"/v1/jobs/{job_id}")
            assert over_ws == await doors.http("GET", f"/v1/jobs/{job_id}")
            assert over_ws[1]["id"] == job_id and over_ws[1]["payload"] == {"n": n}
        assert (await doors.ws("POST", f"/v1/jobs/{made[0]}"))[0] == 405  # same path, no POST


async def test_remembered_routes_are_bounded(
    node: Any, doors: Doors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch, "_MEMO_SIZE", 4)
    for n in range(10):
        assert (await doors.ws("GET", f"/v1/jobs/job_{n}"))[0] == 404
    layer: Any = dispatch.entry_layer(node.app)
    while not isinstance(layer, dispatch.RouteMemo):
        layer = layer.app
    assert list(layer.picked) == [("GET", f"/v1/jobs/job_{n}") for n in range(6, 10)]
