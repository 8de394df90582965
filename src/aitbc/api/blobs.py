"""``client.blobs``: content-addressed uploads and downloads, hash-checked both ways.

Bytes travel in base64 parts of :data:`aitbc.core.blobs.PART_BYTES` over the ordinary
transport, so no request exceeds the node's body limit. Reference an uploaded blob in
a job payload with :func:`aitbc.core.blobs.blob_ref` (``{"$blob": sha256}``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from pathlib import Path

from ..core.blobs import check_sha256, sha256_hex, split_parts
from ..errors import BlobIntegrityError, ConfigurationError, NotFoundError, ProtocolError
from ..models import Blob, BlobPartData
from .base import ResourceAPI, parse

__all__ = ["Blob", "BlobsAPI"]


def _read_source(source: bytes | str | os.PathLike[str]) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read {source!s}: {exc}") from exc
    raise ConfigurationError(f"upload takes bytes or a path, got {type(source).__name__}")


class BlobsAPI(ResourceAPI):
    """Blobs readable by the principal whose key the transport sends."""

    async def upload(
        self, source: bytes | str | os.PathLike[str], *, chain_id: int | None = None
    ) -> Blob:
        """Store ``source`` (bytes, or a file path) and return its Blob.

        A blob you can already read is not sent again. Raises ValidationError when the
        node's hash of the parts differs from ours, APIError 413 above its size limit.
        """
        data = await asyncio.to_thread(_read_source, source)
        sha256 = sha256_hex(data)
        try:
            return await self.get(sha256, chain_id=chain_id)
        except NotFoundError:
            pass
        for idx, part in enumerate(split_parts(data)):
            body = {"data": base64.b64encode(part).decode()}
            await self._request(
                "PUT", f"/v1/blobs/{sha256}/parts/{idx}", data=body, chain_id=chain_id
            )
        answer = await self._request(
            "POST", f"/v1/blobs/{sha256}/complete", data={"size": len(data)}, chain_id=chain_id
        )
        blob = parse(Blob, answer, "blob")
        if blob.sha256 != sha256 or blob.size != len(data):
            raise ProtocolError(f"the node stored {blob.sha256}/{blob.size}, not {sha256}")
        return blob

    async def get(self, sha256: str, *, chain_id: int | None = None) -> Blob:
        """The blob's metadata; NotFoundError when absent or not readable by you."""
        sha256 = check_sha256(sha256)
        return parse(
            Blob, await self._request("GET", f"/v1/blobs/{sha256}", chain_id=chain_id), "blob"
        )

    async def download(self, sha256: str, *, chain_id: int | None = None) -> bytes:
        """The blob's bytes, checked against ``sha256``.

        Raises NotFoundError when absent or not readable by you, BlobIntegrityError when
        the bytes received do not hash to ``sha256``.
        """
        blob = await self.get(sha256, chain_id=chain_id)
        digest = hashlib.sha256()
        parts: list[bytes] = []
        for idx in range(blob.parts):
            answer = await self._request(
                "GET", f"/v1/blobs/{blob.sha256}/parts/{idx}", chain_id=chain_id
            )
            # the model's pattern admits only valid base64
            part = base64.b64decode(parse(BlobPartData, answer, "blob part").data)
            digest.update(part)
            parts.append(part)
        data = b"".join(parts)
        if digest.hexdigest() != blob.sha256 or len(data) != blob.size:
            raise BlobIntegrityError(f"downloaded bytes do not hash to {blob.sha256}")
        return data
