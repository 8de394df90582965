"""Typed models: money as int, dict-style reads, receipts keep their signed bytes."""

from __future__ import annotations

from decimal import Decimal

import pydantic
import pytest

from aitbc.core.signing import SigningKey
from aitbc.models import Balance, Job, JobState, MarketStats, NodeInfo, Page, Receipt

from .fakes import info, job, signed_receipt


def test_job_reads_like_the_seed_dict() -> None:
    j = Job.model_validate({**job(), "future_field": 3})
    assert j["id"] == "job_1"
    assert j["price"] == 100
    assert isinstance(j.price, int)
    assert j["state"] == "QUEUED"
    assert j.state is JobState.QUEUED
    assert j["future_field"] == 3
    assert "payload" in j
    assert j.get("missing", "d") == "d"
    with pytest.raises(KeyError):
        j["missing"]
    assert dict(j)["client_id"] == "prn_c"


def test_money_goes_back_to_the_wire_as_a_string() -> None:
    assert Job.model_validate(job()).to_wire()["price"] == "100"
    assert Balance.model_validate({"account_id": "a", "balance": "-5"}).balance == -5


@pytest.mark.parametrize("bad", [1.5, "1.5", "ten", True, None, "1e3"])
def test_money_refuses_anything_but_integers(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        Job.model_validate({**job(), "price": bad})


def test_terminal_states() -> None:
    assert not Job.model_validate(job(state="RUNNING")).is_terminal
    assert all(
        Job.model_validate(job(state=s)).is_terminal
        for s in ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
    )


def test_page_of_jobs_iterates_items() -> None:
    page = Page[Job].model_validate({"items": [job("job_a"), job("job_b")], "next_cursor": "c"})
    assert [j.id for j in page] == ["job_a", "job_b"]
    assert len(page) == 2
    assert page["next_cursor"] == "c"


def test_receipt_keeps_the_exact_wire_dict() -> None:
    wire = signed_receipt(SigningKey.generate())
    wire["created_at"] = "2026-11-26T18:20:28.100Z"  # a format pydantic would not reproduce
    r = Receipt.model_validate(wire)
    assert r.to_wire() == wire
    assert r["price"] == 100


def test_node_info_publishes_only_keys_matching_their_ids() -> None:
    key = SigningKey.generate()
    data = info(key=key)
    data["signing_keys"].append(
        {"key_id": "0000000000000000", "alg": "ed25519", "public_key": key.verify_key.b64}
    )
    assert list(NodeInfo.model_validate(data).verify_keys()) == [key.key_id]


def test_market_stats_average_may_be_fractional() -> None:
    stats = MarketStats.model_validate(
        {
            "open_offers": 2,
            "open_capacity": 5,
            "active_bids": 0,
            "min_price": "10",
            "max_price": "15",
            "avg_price": "12.5",
            "models": {"m": {"offers": 2, "capacity": 5}},
        }
    )
    assert stats.avg_price == Decimal("12.5")
    assert stats["models"]["m"].capacity == 5
