"""``client.receipts``: fetch receipts and verify them offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.receipts import verify_receipt
from ..errors import ConfigurationError, ReceiptVerificationError
from ..models import Receipt
from .base import ResourceAPI, parse, path_segment
from .routing import issuer_chain


class ReceiptsAPI(ResourceAPI):
    """Receipts of your jobs (clients), your work (miners) or all (admin)."""

    async def get(self, receipt_id: str, *, chain_id: int | None = None) -> Receipt:
        """The receipt as the node stores it; NotFoundError if not visible to you."""
        path = f"/v1/receipts/{path_segment(receipt_id, 'receipt_id')}"
        return parse(Receipt, await self._request("GET", path, chain_id=chain_id), "receipt")

    async def verify(
        self, receipt: Receipt | Mapping[str, Any], *, chain_id: int | None = None
    ) -> bool:
        """Check a receipt offline; returns True or raises ReceiptVerificationError.

        Trusts only the signing keys the node of ``chain_id`` published in ``/v1/info``
        (fetched once per client and cached), never a key named inside the receipt. Also
        checks the receipt's chain and coordinator are that node's, and the miner's
        attestation. Without ``chain_id``, a multi-network client uses the network of the
        receipt's own chain id (ReceiptVerificationError if it has none).
        """
        if not isinstance(receipt, Receipt | Mapping):
            raise ConfigurationError("verify() takes a Receipt or a receipt dict")
        wire = receipt.to_wire() if isinstance(receipt, Receipt) else dict(receipt)
        if chain_id is None:
            chain_id = issuer_chain(self._resolver, wire)
        info = await self._resolver.node_info(chain_id)
        verify_receipt(wire, info.verify_keys(), chain_id=info.chain_id)
        if wire.get("coordinator_id") != info.coordinator_id:
            raise ReceiptVerificationError(
                f"receipt is from coordinator {wire.get('coordinator_id')!r}, "
                f"not {info.coordinator_id!r}"
            )
        return True
