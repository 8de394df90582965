"""``aitbc offers list|create|close|stats``: compute capacity on the marketplace."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .. import AITBCClient
from ..models import Offer
from .inputs import page_size, parse_amount
from .invocation import Invocation, with_invocation
from .output import fields_table, list_table, money

offers_app = typer.Typer(help="List, create and close marketplace offers.", no_args_is_help=True)

_COLUMNS = ("id", "provider", "capacity", "price/unit", "models", "region", "gpu GB", "state")


def register(app: typer.Typer) -> None:
    """Add ``offers`` to the ``aitbc`` command."""
    app.add_typer(offers_app, name="offers")


def _row(offer: Offer) -> tuple[Any, ...]:
    return (
        offer.id,
        offer.provider_id,
        offer.capacity,
        money(offer.price_per_unit),
        ",".join(offer.models) or "-",
        offer.region,
        offer.gpu_memory_gb,
        offer.state,
    )


@offers_app.command("list")
@with_invocation()
def list_offers(
    inv: Invocation,
    model: Annotated[str | None, typer.Option("--model", help="Serving this model.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="In this region.")] = None,
    max_price: Annotated[
        str | None, typer.Option("--max-price", help="Price per unit at most.")
    ] = None,
    min_capacity: Annotated[
        int | None, typer.Option("--min-capacity", help="At least this capacity.")
    ] = None,
    state: Annotated[str | None, typer.Option("--state", help="open (default) or closed.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many offers at most.")] = 20,
) -> None:
    """List offers matching every filter given, newest first."""
    try:
        ceiling = parse_amount(max_price, "--max-price")
    except ValueError as exc:
        inv.fail_with(exc)

    async def run(client: AITBCClient) -> list[Offer]:
        offers = client.marketplace.list_offers(
            model=model,
            region=region,
            max_price=ceiling,
            min_capacity=min_capacity,
            state=state,
            limit=page_size(limit),
        )
        return await offers.to_list(max(limit, 0))

    items = inv.run(run)
    rows = [_row(o) for o in items]
    inv.out.result({"items": items}, lambda c: c.print(list_table("offers", _COLUMNS, rows)))


@offers_app.command("create")
@with_invocation()
def create(
    inv: Invocation,
    capacity: Annotated[int, typer.Option("--capacity", help="Jobs you can run at once.")],
    price_per_unit: Annotated[str, typer.Option("--price-per-unit", help="Base units.")],
    model: Annotated[
        list[str] | None, typer.Option("--model", help="A model you serve (repeatable).")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Your region.")] = None,
    gpu_memory_gb: Annotated[float, typer.Option("--gpu-memory-gb", help="GPU memory.")] = 0,
) -> None:
    """Offer capacity on the marketplace (needs a miner key)."""
    try:
        price = parse_amount(price_per_unit, "--price-per-unit")
        if capacity < 1:
            raise ValueError(f"--capacity must be at least 1, got {capacity}")
    except ValueError as exc:
        inv.fail_with(exc)
    body = {
        "capacity": capacity,
        "price_per_unit": price,
        "models": model or [],
        "region": region,
        "gpu_memory_gb": gpu_memory_gb,
    }
    offer = inv.run(lambda client: client.marketplace.create_offer(body))
    inv.out.result(offer, lambda c: c.print(list_table("offer created", _COLUMNS, [_row(offer)])))


@offers_app.command("close")
@with_invocation()
def close(
    inv: Invocation,
    offer_id: Annotated[str, typer.Argument(help="The offer id (ofr_...).")],
) -> None:
    """Close one of your offers."""
    offer = inv.run(lambda client: client.marketplace.close_offer(offer_id))
    inv.out.result(offer, lambda c: c.print(f"offer {offer.id} {offer.state}"))


@offers_app.command("stats")
@with_invocation()
def stats(inv: Invocation) -> None:
    """Open offers, capacity and prices across the marketplace."""
    answer = inv.run(lambda client: client.marketplace.stats())
    rows = [
        ("open offers", answer.open_offers),
        ("open capacity", answer.open_capacity),
        ("active bids", answer.active_bids),
        ("min price", answer.min_price),
        ("max price", answer.max_price),
        ("avg price", answer.avg_price),
        ("models", ", ".join(f"{k} ({v.capacity})" for k, v in answer.models.items())),
    ]
    inv.out.result(answer, lambda c: c.print(fields_table("marketplace", rows)))
