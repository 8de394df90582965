"""Live job events over WebSocket: one socket carries requests and subscriptions.

Submits a few jobs over the WebSocket, subscribes to each job's event topic from the
start (``resume_from=0``, so nothing that happened before the subscription is missed)
and prints every event until all jobs are final.

Settings: ``--ws-url`` / AITBC_WS_URL (default: AITBC_NODE_URL with ws:// and /v1/ws),
``--api-key`` / AITBC_API_KEY, ``--jobs N`` (default 3). Exit status 0 only when every
job completed.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from aitbc import AITBCClient, AITBCError
from aitbc.transports.websocket import WebSocketTransport


def default_ws_url() -> str:
    if os.environ.get("AITBC_WS_URL"):
        return os.environ["AITBC_WS_URL"]
    node = os.environ.get("AITBC_NODE_URL", "http://127.0.0.1:8000").rstrip("/")
    return "ws" + node.removeprefix("http") + "/v1/ws"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ws-url", default=default_ws_url())
    parser.add_argument("--api-key", default=os.environ.get("AITBC_API_KEY"))
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)
    return parser.parse_args()


async def follow(transport: WebSocketTransport, job_id: str) -> str:
    """Print the job's events until it is final; returns the final state."""
    events = transport.stream("subscribe", f"job:{job_id}", {"resume_from": 0})
    async with events:
        async for event in events:
            state = event["data"]["state"]
            print(f"{job_id} seq={event['seq']} {event['event']} -> {state}")
            if state in ("COMPLETED", "FAILED", "CANCELED", "EXPIRED"):
                return str(state)
    raise RuntimeError("the event stream ended early")


async def main(args: argparse.Namespace) -> bool:
    transport = WebSocketTransport({"ws_url": args.ws_url, "api_key": args.api_key})
    async with AITBCClient(transport) as client:  # requests below travel over the socket
        jobs = [
            await client.jobs.create(job_type="echo", payload={"n": n}, price=10)
            for n in range(args.jobs)
        ]
        print(f"submitted {len(jobs)} jobs over WebSocket")
        async with asyncio.timeout(args.timeout):
            states = await asyncio.gather(*(follow(transport, job.id) for job in jobs))
        for job in jobs:  # results arrive over the same socket
            answer = await client.jobs.result(job.id)
            print(f"{job.id} result {answer.result}")
    ok = all(state == "COMPLETED" for state in states)
    print(f"{states.count('COMPLETED')}/{len(states)} jobs completed")
    return ok


if __name__ == "__main__":
    arguments = parse_args()
    if not arguments.api_key:
        raise SystemExit("set AITBC_API_KEY or pass --api-key")
    try:
        raise SystemExit(0 if asyncio.run(main(arguments)) else 1)
    except AITBCError as exc:
        raise SystemExit(f"error: {exc}") from None
