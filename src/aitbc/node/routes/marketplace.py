"""Marketplace offers, bids and stats."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..auth import NodeDep, PrincipalDep
from ..schemas import BidCreate, Money, OfferCreate
from ..services import marketplace
from . import Cursor, Limit

router = APIRouter(prefix="/v1/marketplace")


@router.post("/offers", status_code=201)
async def create_offer(req: OfferCreate, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await marketplace.create_offer(node, principal, req)


@router.get("/offers")
async def list_offers(
    node: NodeDep,
    _: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    max_price: Annotated[Money | None, Query()] = None,
    min_capacity: Annotated[int | None, Query(ge=0)] = None,
    state: Annotated[str | None, Query(pattern="^(open|closed)$")] = "open",
) -> dict[str, Any]:
    filters = {
        "model": model,
        "region": region,
        "max_price": max_price,
        "min_capacity": min_capacity,
        "state": state,
    }
    return await marketplace.list_offers(node, filters, limit, cursor)


@router.post("/offers/{offer_id}/close")
async def close_offer(offer_id: str, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await marketplace.close_offer(node, principal, offer_id)


@router.post("/bids", status_code=201)
async def create_bid(req: BidCreate, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await marketplace.create_bid(node, principal, req)


@router.get("/bids")
async def list_bids(
    node: NodeDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    return await marketplace.list_bids(node, principal, limit, cursor)


@router.post("/bids/{bid_id}/cancel")
async def cancel_bid(bid_id: str, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    return await marketplace.cancel_bid(node, principal, bid_id)


@router.get("/stats")
async def stats(node: NodeDep, _: PrincipalDep) -> dict[str, Any]:
    return await marketplace.stats(node)
