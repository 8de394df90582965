"""Offers, bids and stats computed from the data."""

from __future__ import annotations

from .conftest import Cast
from .support import TestMiner, make_actor


async def test_offers_bids_and_stats(cast: Cast) -> None:
    empty = await cast.client.ok("GET", "/v1/marketplace/stats")
    assert empty == {
        "open_offers": 0,
        "open_capacity": 0,
        "active_bids": 0,
        "min_price": None,
        "max_price": None,
        "avg_price": None,
        "models": {},
    }
    second = await make_actor(cast.node, "miner", "m2")
    assert isinstance(second, TestMiner)
    try:
        a = await cast.miner.ok(
            "POST",
            "/v1/marketplace/offers",
            201,
            json={"capacity": 4, "price_per_unit": "10", "models": ["llama"], "region": "eu"},
        )
        b = await second.ok(
            "POST",
            "/v1/marketplace/offers",
            201,
            json={"capacity": 2, "price_per_unit": "25", "models": ["llama", "sd"]},
        )
        c = await second.ok(
            "POST", "/v1/marketplace/offers", 201, json={"capacity": 1, "price_per_unit": "1000"}
        )
        assert a["provider_id"] == cast.miner.id and a["price_per_unit"] == "10"

        async def ids(**params: object) -> list[str]:
            page = await cast.client.ok("GET", "/v1/marketplace/offers", params=params)
            return [o["id"] for o in page["items"]]

        assert await ids() == [c["id"], b["id"], a["id"]]
        assert await ids(model="sd") == [b["id"]]
        assert await ids(region="eu") == [a["id"]]
        assert await ids(max_price="25") == [b["id"], a["id"]]
        assert await ids(min_capacity=2) == [b["id"], a["id"]]

        await cast.miner.err(
            "POST", f"/v1/marketplace/offers/{c['id']}/close", 404, "offer_not_found"
        )
        closed = await second.ok("POST", f"/v1/marketplace/offers/{c['id']}/close")
        assert closed["state"] == "closed"
        await second.err("POST", f"/v1/marketplace/offers/{c['id']}/close", 409, "invalid_state")
        assert await ids(state="closed") == [c["id"]]

        bid = await cast.client.ok(
            "POST",
            "/v1/marketplace/bids",
            201,
            json={"offer_id": a["id"], "units": 2, "price_per_unit": "9"},
        )
        await cast.other.ok(
            "POST",
            "/v1/marketplace/bids",
            201,
            json={"offer_id": b["id"], "units": 1, "price_per_unit": "25"},
        )
        await cast.client.err(
            "POST",
            "/v1/marketplace/bids",
            422,
            "validation_error",
            json={"offer_id": a["id"], "units": 5, "price_per_unit": "9"},
        )
        await cast.client.err(
            "POST",
            "/v1/marketplace/bids",
            409,
            "invalid_state",
            json={"offer_id": c["id"], "units": 1, "price_per_unit": "9"},
        )
        await cast.client.err(
            "POST",
            "/v1/marketplace/bids",
            404,
            "offer_not_found",
            json={"offer_id": "ofr_x", "units": 1, "price_per_unit": "9"},
        )
        mine = await cast.client.ok("GET", "/v1/marketplace/bids")
        assert [x["id"] for x in mine["items"]] == [bid["id"]]
        on_offers = await cast.miner.ok("GET", "/v1/marketplace/bids")
        assert [x["id"] for x in on_offers["items"]] == [bid["id"]]

        stats = await cast.client.ok("GET", "/v1/marketplace/stats")
        assert stats == {
            "open_offers": 2,
            "open_capacity": 6,
            "active_bids": 2,
            "min_price": "10",
            "max_price": "25",
            "avg_price": "17.5",
            "models": {"llama": {"offers": 2, "capacity": 6}, "sd": {"offers": 1, "capacity": 2}},
        }
        await cast.other.err(
            "POST", f"/v1/marketplace/bids/{bid['id']}/cancel", 404, "bid_not_found"
        )
        canceled = await cast.client.ok("POST", f"/v1/marketplace/bids/{bid['id']}/cancel")
        assert canceled["state"] == "canceled"
        assert (await cast.client.ok("GET", "/v1/marketplace/stats"))["active_bids"] == 1
    finally:
        await second.aclose()
