"""Marketplace: miners publish offers, clients bid; stats are aggregated by SQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import func, select

from ..clock import new_id
from ..models import BidRow, OfferModelRow, OfferRow
from ..problems import conflict, forbidden, invalid, not_found
from ..schemas import BidCreate, OfferCreate
from .pagination import fetch_page
from .principals import Principal
from .wire import bid_wire, offer_wire

if TYPE_CHECKING:
    from ..runtime import Node

TOPIC = "marketplace"


async def create_offer(node: Node, principal: Principal, req: OfferCreate) -> dict[str, Any]:
    """Publish an offer (miners only)."""
    if principal.role != "miner":
        raise forbidden("only miners publish offers")
    async with node.transaction() as tx:
        offer = OfferRow(
            id=new_id("ofr"),
            provider_id=principal.id,
            capacity=req.capacity,
            price_per_unit=req.price_per_unit,
            models=sorted(set(req.models)),
            region=req.region,
            gpu_memory_gb=req.gpu_memory_gb,
            unit=req.unit,
            max_units=req.max_units,
            state="open",
            created_at=tx.now,
        )
        tx.session.add(offer)
        await tx.session.flush()
        tx.session.add_all([OfferModelRow(offer_id=offer.id, model=m) for m in offer.models])
        wire = offer_wire(offer)
        tx.emit(TOPIC, "offer.created", wire)
        return wire


async def list_offers(
    node: Node, filters: dict[str, Any], limit: int, cursor: str | None
) -> dict[str, Any]:
    """Offers matching ``model``, ``region``, ``max_price``, ``min_capacity``, ``state``."""
    stmt = select(OfferRow)
    if filters.get("state"):
        stmt = stmt.where(OfferRow.state == filters["state"])
    if filters.get("model"):
        stmt = stmt.where(
            OfferRow.id.in_(
                select(OfferModelRow.offer_id).where(OfferModelRow.model == filters["model"])
            )
        )
    if filters.get("region"):
        stmt = stmt.where(OfferRow.region == filters["region"])
    if filters.get("max_price") is not None:
        stmt = stmt.where(OfferRow.price_per_unit <= filters["max_price"])
    if filters.get("min_capacity") is not None:
        stmt = stmt.where(OfferRow.capacity >= filters["min_capacity"])
    return await fetch_page(node, stmt, OfferRow, limit, cursor, offer_wire)


R = TypeVar("R", OfferRow, BidRow)


@dataclass(frozen=True)
class _Listing(Generic[R]):
    """An offer or a bid as the marketplace ends it: its table, who owns it, its wire."""

    kind: str
    row_type: type[R]
    owner_of: Callable[[R], str]
    to_wire: Callable[[R], dict[str, Any]]


_OFFER = _Listing("offer", OfferRow, lambda offer: offer.provider_id, offer_wire)
_BID = _Listing("bid", BidRow, lambda bid: bid.client_id, bid_wire)


def _require_open(listing: _Listing[R], row: R) -> None:
    if row.state != "open":
        raise conflict("invalid_state", f"{listing.kind} {row.id} is {row.state}")


async def _end_listing(
    node: Node, principal: Principal, listing: _Listing[R], row_id: str, end_state: str
) -> dict[str, Any]:
    """Move the caller's open offer or bid (any, for admins) to ``end_state`` and emit
    ``<kind>.<end_state>``; 404 when not theirs, 409 invalid_state when not open."""
    async with node.transaction() as tx:
        row = await tx.session.get(listing.row_type, row_id)
        mine = row is not None and listing.owner_of(row) == principal.id
        if row is None or not (mine or principal.role == "admin"):
            raise not_found(f"{listing.kind}_not_found", listing.kind, row_id)
        _require_open(listing, row)
        row.state = end_state
        await tx.session.flush()
        wire = listing.to_wire(row)
        tx.emit(TOPIC, f"{listing.kind}.{end_state}", wire)
        return wire


async def close_offer(node: Node, principal: Principal, offer_id: str) -> dict[str, Any]:
    """Close an open offer (its provider only); 409 invalid_state if already closed."""
    return await _end_listing(node, principal, _OFFER, offer_id, "closed")


async def create_bid(node: Node, principal: Principal, req: BidCreate) -> dict[str, Any]:
    """Bid on an open offer (clients only); units may not exceed its capacity."""
    if principal.role != "client":
        raise forbidden("only clients place bids")
    async with node.transaction() as tx:
        offer = await tx.session.get(OfferRow, req.offer_id)
        if offer is None:
            raise not_found("offer_not_found", "offer", req.offer_id)
        _require_open(_OFFER, offer)
        if req.units > offer.capacity:
            raise invalid(f"offer {offer.id} has capacity {offer.capacity}", ["body", "units"])
        bid = BidRow(
            id=new_id("bid"),
            offer_id=offer.id,
            client_id=principal.id,
            units=req.units,
            price_per_unit=req.price_per_unit,
            state="open",
            created_at=tx.now,
        )
        tx.session.add(bid)
        await tx.session.flush()
        wire = bid_wire(bid)
        tx.emit(TOPIC, "bid.created", wire)
        return wire


async def list_bids(
    node: Node, principal: Principal, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Clients: their bids; miners: bids on their offers; admins: all."""
    stmt = select(BidRow)
    if principal.role == "client":
        stmt = stmt.where(BidRow.client_id == principal.id)
    elif principal.role == "miner":
        own = select(OfferRow.id).where(OfferRow.provider_id == principal.id)
        stmt = stmt.where(BidRow.offer_id.in_(own))
    return await fetch_page(node, stmt, BidRow, limit, cursor, bid_wire)


async def cancel_bid(node: Node, principal: Principal, bid_id: str) -> dict[str, Any]:
    """Cancel an open bid (the bidder only)."""
    return await _end_listing(node, principal, _BID, bid_id, "canceled")


def _price(value: Any) -> str | None:
    return None if value is None else str(int(value))


async def stats(node: Node) -> dict[str, Any]:
    """Aggregates over open offers and bids, computed by the database."""
    is_open = OfferRow.state == "open"
    async with node.reads() as session:
        agg = (
            await session.execute(
                select(
                    func.count(OfferRow.id),
                    func.coalesce(func.sum(OfferRow.capacity), 0),
                    func.min(OfferRow.price_per_unit),
                    func.max(OfferRow.price_per_unit),
                    func.sum(OfferRow.price_per_unit),
                ).where(is_open)
            )
        ).one()
        active_bids = await session.scalar(
            select(func.count(BidRow.id)).where(BidRow.state == "open")
        )
        per_model = (
            await session.execute(
                select(OfferModelRow.model, func.count(OfferRow.id), func.sum(OfferRow.capacity))
                .join(OfferRow, OfferRow.id == OfferModelRow.offer_id)
                .where(is_open)
                .group_by(OfferModelRow.model)
                .order_by(OfferModelRow.model)
            )
        ).all()
    count, capacity, low, high, total = agg
    avg = None if not count else f"{(Decimal(int(total)) / count).normalize():f}"
    return {
        "open_offers": int(count),
        "open_capacity": int(capacity),
        "active_bids": int(active_bids or 0),
        "min_price": _price(low),
        "max_price": _price(high),
        "avg_price": avg,
        "models": {m: {"offers": int(n), "capacity": int(c)} for m, n, c in per_model},
    }
