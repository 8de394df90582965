"""``client.marketplace``: compute offers (miners), bids (clients) and market stats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError
from ..models import Bid, MarketStats, Offer, Page
from .base import ResourceAPI, money_to_wire, parse, path_segment
from .pages import PageIterator


def _body(given: Mapping[str, Any] | None, fields: Mapping[str, Any], what: str) -> dict[str, Any]:
    if given is not None and not isinstance(given, Mapping):
        raise ConfigurationError(f"{what} must be a dict of fields, got {type(given).__name__}")
    body = {**(given or {}), **fields}
    if "price_per_unit" in body:
        body["price_per_unit"] = money_to_wire(body["price_per_unit"], "price_per_unit")
    return body


class MarketplaceAPI(ResourceAPI):
    """Offers of capacity and bids on them."""

    def list_offers(
        self,
        *,
        model: str | None = None,
        region: str | None = None,
        max_price: int | None = None,
        min_capacity: int | None = None,
        state: str | None = None,
        limit: int | None = None,
        chain_id: int | None = None,
    ) -> PageIterator[Offer]:
        """Offers matching every filter given (newest first), across pages.

        ``max_price`` bounds ``price_per_unit`` (base units); ``state`` defaults to open.
        """
        filters = {
            "model": model,
            "region": region,
            "max_price": None if max_price is None else money_to_wire(max_price, "max_price"),
            "min_capacity": min_capacity,
            "state": state,
            "limit": limit,
        }

        async def fetch(cursor: str | None) -> Page[Offer]:
            params = {**filters, "cursor": cursor}
            answer = await self._request(
                "GET", "/v1/marketplace/offers", params=params, chain_id=chain_id
            )
            return parse(Page[Offer], answer, "page of offers")

        return PageIterator(fetch)

    async def create_offer(
        self,
        offer: Mapping[str, Any] | None = None,
        /,
        *,
        chain_id: int | None = None,
        **fields: Any,
    ) -> Offer:
        """Offer capacity (miner keys only): ``capacity``, ``price_per_unit``, ``models``,
        ``region``, ``gpu_memory_gb``. Raises PermissionDeniedError for a non-miner."""
        body = _body(offer, fields, "offer")
        answer = await self._request("POST", "/v1/marketplace/offers", data=body, chain_id=chain_id)
        return parse(Offer, answer, "offer")

    async def close_offer(self, offer_id: str, *, chain_id: int | None = None) -> Offer:
        """Close your offer; it stops appearing in open listings."""
        path = f"/v1/marketplace/offers/{path_segment(offer_id, 'offer_id')}/close"
        return parse(Offer, await self._request("POST", path, chain_id=chain_id), "offer")

    async def create_bid(
        self,
        bid: Mapping[str, Any] | None = None,
        /,
        *,
        chain_id: int | None = None,
        **fields: Any,
    ) -> Bid:
        """Bid on an offer (client keys): ``offer_id``, ``units``, ``price_per_unit``."""
        body = _body(bid, fields, "bid")
        answer = await self._request("POST", "/v1/marketplace/bids", data=body, chain_id=chain_id)
        return parse(Bid, answer, "bid")

    def list_bids(
        self, *, limit: int | None = None, chain_id: int | None = None
    ) -> PageIterator[Bid]:
        """Your bids (clients) or bids on your offers (miners), across pages."""

        async def fetch(cursor: str | None) -> Page[Bid]:
            params = {"limit": limit, "cursor": cursor}
            answer = await self._request(
                "GET", "/v1/marketplace/bids", params=params, chain_id=chain_id
            )
            return parse(Page[Bid], answer, "page of bids")

        return PageIterator(fetch)

    async def cancel_bid(self, bid_id: str, *, chain_id: int | None = None) -> Bid:
        """Cancel your open bid."""
        path = f"/v1/marketplace/bids/{path_segment(bid_id, 'bid_id')}/cancel"
        return parse(Bid, await self._request("POST", path, chain_id=chain_id), "bid")

    async def stats(self, *, chain_id: int | None = None) -> MarketStats:
        """Open offers, capacity, active bids and prices, computed by the node now."""
        answer = await self._request("GET", "/v1/marketplace/stats", chain_id=chain_id)
        return parse(MarketStats, answer, "market stats")
