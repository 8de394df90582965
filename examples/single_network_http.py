"""Single network over HTTP: the seed's first usage example, runnable.

Submits a job, waits for it, fetches the result and verifies its receipt offline
against the keys the node publishes. Needs a running node and miner, e.g.::

    aitbc serve &                                  # prints an admin key on first start
    aitbc keys create --role client --name alice   # then fund it (admin faucet)
    aitbc miner --coordinator http://127.0.0.1:8000 --api-key <miner key> &
    AITBC_API_KEY=<client key> python examples/single_network_http.py

Settings: ``--node`` / AITBC_NODE_URL (default http://127.0.0.1:8000), ``--api-key`` /
AITBC_API_KEY. Exit status 0 only when the job completed and its receipt verified.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from aitbc import AITBCClient, AITBCError, HTTPTransport


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", default=os.environ.get("AITBC_NODE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("AITBC_API_KEY"))
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the job")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    # --- the seed's example: create a client with HTTP transport ---
    transport = HTTPTransport(
        {
            "base_url": args.node,
            "timeout": 30,
            "default_headers": {"X-API-Key": args.api_key},
        }
    )
    client = AITBCClient(transport)
    await client.connect()
    try:
        # Use APIs normally
        job = await client.jobs.create(
            {
                "job_type": "echo",
                "payload": {"prompt": "hello, marketplace"},
                "price": 100,  # base units, escrowed until the job ends
            }
        )
        print(f"created {job['id']} ({job['state']})")

        done = await client.jobs.wait_for_completion(job["id"], timeout=args.timeout)
        print(f"job {done['id']} {done['state']} by {done['miner_id']}")
        if done["state"] != "COMPLETED":
            raise SystemExit(1)

        answer = await client.jobs.result(job["id"])
        print(f"result: {answer['result']}")
        await client.receipts.verify(answer.receipt)  # raises ReceiptVerificationError
        print(f"receipt {answer.receipt['receipt_id']} verified")

        balance = await client.wallet.balance()
        print(f"balance: {balance['balance']} (escrowed {balance['escrowed']})")
    finally:
        await client.disconnect()


if __name__ == "__main__":
    arguments = parse_args()
    if not arguments.api_key:
        raise SystemExit("set AITBC_API_KEY or pass --api-key")
    try:
        asyncio.run(main(arguments))
    except AITBCError as exc:
        raise SystemExit(f"error: {exc}") from None
