"""Marketplace offers, bids and stats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ...models import Bid, MarketStats, Offer, OfferState, Page
from ..auth import NodeDep, PrincipalDep
from ..schemas import LABEL_PATTERN, BidCreate, Money, OfferCreate
from ..services import marketplace
from . import AUTHENTICATED, Cursor, Id, Limit, answer, errors

router = APIRouter(prefix="/v1/marketplace", responses=errors(*AUTHENTICATED))

ModelFilter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=LABEL_PATTERN)]
RegionFilter = Annotated[str | None, Query(min_length=1, max_length=100, pattern=LABEL_PATTERN)]


@router.post("/offers", status_code=201, response_model=Offer)
async def create_offer(req: OfferCreate, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await marketplace.create_offer(node, principal, req), 201)


@router.get("/offers", response_model=Page[Offer])
async def list_offers(
    node: NodeDep,
    _: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    model: ModelFilter = None,
    region: RegionFilter = None,
    max_price: Annotated[Money | None, Query()] = None,
    min_capacity: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    state: OfferState = OfferState.OPEN,
) -> JSONResponse:
    filters = {
        "model": model,
        "region": region,
        "max_price": max_price,
        "min_capacity": min_capacity,
        "state": state.value,
    }
    return answer(await marketplace.list_offers(node, filters, limit, cursor))


@router.post("/offers/{offer_id}/close", response_model=Offer, responses=errors(404, 409))
async def close_offer(offer_id: Id, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await marketplace.close_offer(node, principal, offer_id))


@router.post("/bids", status_code=201, response_model=Bid, responses=errors(404, 409))
async def create_bid(req: BidCreate, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await marketplace.create_bid(node, principal, req), 201)


@router.get("/bids", response_model=Page[Bid])
async def list_bids(
    node: NodeDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> JSONResponse:
    return answer(await marketplace.list_bids(node, principal, limit, cursor))


@router.post("/bids/{bid_id}/cancel", response_model=Bid, responses=errors(404, 409))
async def cancel_bid(bid_id: Id, node: NodeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(await marketplace.cancel_bid(node, principal, bid_id))


@router.get("/stats", response_model=MarketStats)
async def stats(node: NodeDep, _: PrincipalDep) -> JSONResponse:
    return answer(await marketplace.stats(node))
