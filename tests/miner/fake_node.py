"""An in-memory stand-in for the miner routes, for unit tests of the miner's own logic.

Only the miner's client-side decisions are tested against it (retries, lease loss,
shutdown); the real node is exercised in test_miner_node.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aitbc.core.canonical import content_hash
from aitbc.core.receipts import sign_receipt
from aitbc.core.signing import SigningKey, VerifyKey
from aitbc.errors import AITBCError
from aitbc.transports.base import JSONDict, Transport


class FakeNode(Transport):
    """Answers the miner routes from memory; ``fail_next[route]`` raises errors first."""

    def __init__(self, lease_seconds: float = 30.0) -> None:
        super().__init__({})
        self.coordinator = SigningKey.generate()
        self.lease_seconds = lease_seconds
        self.queue: list[dict[str, Any]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.held: set[str] = set()
        self.renew = True
        self.calls: list[str] = []
        self.fail_next: dict[str, list[AITBCError]] = {}
        self.results: dict[str, JSONDict] = {}
        self.failures: dict[str, str] = {}
        self.registrations: list[JSONDict] = []
        self.miner_key = ""

    async def connect(self) -> None:
        self._connected = True

    async def disconnect(self) -> None:
        self._connected = False

    def stream(self, method: str, path: str, data: Mapping[str, Any] | None = None) -> Any:
        raise AssertionError("the miner does not stream")

    def add_job(self, job_type: str, payload: dict[str, Any], job_id: str = "job_1") -> None:
        job = {"id": job_id, "job_type": job_type, "payload": payload, "price": "10"}
        self.jobs[job_id] = job
        self.queue.append(job)

    async def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        route = path.rsplit("/", 1)[-1]
        self.calls.append(route)
        pending = self.fail_next.get(route)
        if pending:
            raise pending.pop(0)
        return await self._routes()[route](dict(data or {}), path)

    def _routes(self) -> dict[str, Callable[[JSONDict, str], Awaitable[JSONDict]]]:
        return {
            "info": self._info,
            "register": self._register,
            "heartbeat": self._heartbeat,
            "poll": self._poll,
            "result": self._result,
            "fail": self._fail,
        }

    async def _info(self, data: JSONDict, path: str) -> JSONDict:
        key = self.coordinator.verify_key
        return {
            "chain_id": 5,
            "coordinator_id": "coord_fake",
            "signing_keys": [{"key_id": key.key_id, "alg": "ed25519", "public_key": key.b64}],
        }

    async def _register(self, data: JSONDict, path: str) -> JSONDict:
        self.registrations.append(data)
        self.miner_key = data["public_key"]
        return {"id": "prn_miner", "key_id": VerifyKey.from_b64(self.miner_key).key_id}

    async def _heartbeat(self, data: JSONDict, path: str) -> JSONDict:
        return {"ok": True, "renewed": sorted(self.held) if self.renew else []}

    async def _poll(self, data: JSONDict, path: str) -> JSONDict:
        if not self.queue:
            await asyncio.sleep(float(data["wait_seconds"]))
            return {}
        job = self.queue.pop(0)
        self.held.add(job["id"])
        expires = datetime.now(UTC) + timedelta(seconds=self.lease_seconds)
        return {"job": job, "lease_expires_at": expires.isoformat()}

    async def _result(self, data: JSONDict, path: str) -> JSONDict:
        job_id = path.split("/")[-2]
        self.held.discard(job_id)
        self.results[job_id] = data
        receipt = {
            "job_id": job_id,
            "input_hash": content_hash(self.jobs[job_id]["payload"]),
            "output_hash": content_hash(data["result"]),
            "units": data["units"],
            "price": "10",
            "chain_id": 5,
            "coordinator_id": "coord_fake",
            "miner_id": "prn_miner",
            "miner_key": self.miner_key,
            "attestations": [{"role": "miner", **data["attestation"]}],
        }
        return {"job": {"id": job_id}, "receipt": sign_receipt(self.coordinator, receipt)}

    async def _fail(self, data: JSONDict, path: str) -> JSONDict:
        job_id = path.split("/")[-2]
        self.held.discard(job_id)
        self.failures[job_id] = data["error"]
        return {"id": job_id, "state": "FAILED"}
