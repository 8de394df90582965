"""The seed document's usage examples, run as written against a live node.

Only the placeholders change: the base URL points at the node, the API key is a real
key, and ``{...}`` becomes a real job.
"""

from __future__ import annotations

import textwrap
from typing import Any

from aitbc import AITBCClient

from .nodekit import Parties, parties

SINGLE_NETWORK = """
from aitbc import AITBCClient, HTTPTransport
# Create client with HTTP transport
transport = HTTPTransport({
'base_url': 'https://api.aitbc.io',
'timeout': 30,
'default_headers': {'X-API-Key': 'your-key'}
})
client = AITBCClient(transport)
await client.connect()
# Use APIs normally
job = await client.jobs.create({...})
"""

MIGRATION_OLD = """
# Old way
client = AITBCClient(api_key='key', base_url='url')
"""

MIGRATION_NEW = """
# New way (backward compatible)
client = AITBCClient({
'base_url': 'url',
'default_headers': {'X-API-Key': 'key'}
})
"""

MIGRATION_TRANSPORT = """
# Or with explicit transport
transport = HTTPTransport({
'base_url': 'url',
'default_headers': {'X-API-Key': 'key'}
})
client = AITBCClient(transport)
"""

JOB_LITERAL = "{'job_type': 'echo', 'payload': {'prompt': 'hi'}, 'price': '100'}"


async def run_snippet(source: str, env: Parties) -> dict[str, Any]:
    """Run ``source`` as the body of an async function; return its local names."""
    source = (
        source.replace("https://api.aitbc.io", env.url)
        .replace("'your-key'", repr(env.client_key))
        .replace("'url'", repr(env.url))
        .replace("'key'", repr(env.client_key))
        .replace("{...}", JOB_LITERAL)
    )
    body = textwrap.indent(source + "\nreturn locals()", "    ")
    namespace: dict[str, Any] = {"AITBCClient": AITBCClient}
    exec(f"async def __snippet():\n{body}", namespace)
    result: dict[str, Any] = await namespace["__snippet"]()
    return result


async def test_single_network_with_http_transport(node: Any) -> None:
    env = await parties(node)
    names = await run_snippet(SINGLE_NETWORK, env)
    client, job = names["client"], names["job"]
    try:
        assert job["state"] == "QUEUED"
        assert job["price"] == 100
        assert (await client.jobs.get(job["id"]))["id"] == job["id"]
    finally:
        await client.disconnect()


async def test_migration_guide_forms_all_work(node: Any) -> None:
    env = await parties(node)
    for snippet in (MIGRATION_OLD, MIGRATION_NEW, MIGRATION_TRANSPORT):
        names = await run_snippet("from aitbc import HTTPTransport\n" + snippet, env)
        async with names["client"] as client:
            balance = await client.wallet.balance()
        assert balance["account_id"] == env.client_id
        assert balance["balance"] == 10_000
