"""Sans-I/O core: canonical JSON, hashing, Ed25519 signing, receipts, error envelopes.

Nothing here imports asyncio, aiohttp, websockets or a database: bytes and dicts in,
bytes and dicts out. The node and the SDK share it, so both sides agree byte for byte.
"""
