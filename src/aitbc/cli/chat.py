"""``aitbc chat "prompt" --model M``: a chat completion bought on the marketplace, its
answer streamed to the terminal as the miner produces it.

The job is priced by the cheapest open per-token offer for the model: the escrow holds
``--max-tokens`` tokens, the tokens used are charged and the rest refunded.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from .. import AITBCClient, Job, JobResult
from ..api.jobs import OutputChunk
from ..errors import ConfigurationError
from ..models import Offer
from .failures import EXIT_FAILED, Failure
from .inputs import parse_amount
from .invocation import Invocation, with_invocation


def register(app: typer.Typer) -> None:
    """Add ``chat`` to the ``aitbc`` command."""
    app.command("chat")(chat)


def cheapest_token_offer(offers: list[Offer], max_tokens: int, limit: int | None) -> Offer:
    """The cheapest per-token offer that allows ``max_tokens`` (and costs at most
    ``limit`` per token); ConfigurationError naming why there is none."""
    usable = [
        o
        for o in offers
        if o["unit"] == "token" and (o["max_units"] is None or o["max_units"] >= max_tokens)
    ]
    if limit is not None:
        usable = [o for o in usable if o.price_per_unit <= limit]
    if not usable:
        raise ConfigurationError(
            f"no open per-token offer allows {max_tokens} tokens"
            + ("" if limit is None else f" at <= {limit} per token")
        )
    return min(usable, key=lambda o: (o.price_per_unit, o.created_at))


def chat_job(
    model: str,
    messages: list[dict[str, str]],
    max_tokens: int,
    offer: Offer,
    temperature: float | None,
) -> dict[str, Any]:
    """The job body of a streamed, per-token chat completion."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "stream": True,
    }
    if temperature is not None:
        payload["temperature"] = temperature
    return {
        "job_type": "chat",
        "payload": payload,
        "constraints": {"models": [model]},
        "price": offer.price_per_unit * max_tokens,
        "pricing": {
            "unit": "token",
            "unit_price": str(offer.price_per_unit),
            "max_units": max_tokens,
        },
    }


@with_invocation()
def chat(
    inv: Invocation,
    prompt: Annotated[str, typer.Argument(help="What to ask.", show_default=False)],
    model: Annotated[str, typer.Option("--model", help="A model live miners offer.")],
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", min=1, help="Most tokens to buy.")
    ] = 256,
    temperature: Annotated[
        float | None, typer.Option("--temperature", min=0, max=2, help="Sampling temperature.")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="A system message.")] = None,
    max_price: Annotated[
        str | None, typer.Option("--max-price-per-token", help="Refuse dearer offers.")
    ] = None,
) -> None:
    """Ask a model on the marketplace; the answer streams as it is written.

    Exit status 1 when the job fails (you are charged only for the tokens streamed).
    """
    try:
        limit = parse_amount(max_price, "--max-price-per-token")
    except ValueError as exc:
        inv.fail_with(exc)
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]

    async def run(client: AITBCClient) -> JobResult | Job:
        offers = await client.marketplace.list_offers(model=model).to_list(200)
        offer = cheapest_token_offer(offers, max_tokens, limit)
        job = await client.jobs.create(chat_job(model, messages, max_tokens, offer, temperature))
        async for item in client.jobs.stream(job.id):
            if isinstance(item, OutputChunk):
                _show_delta(inv, item)
            else:
                return item
        raise ConfigurationError(f"the event stream of {job.id} ended early")

    final = inv.run(run)
    if not inv.out.json_mode:
        sys.stdout.write("\n")
    if isinstance(final, JobResult):
        receipt = final.receipt
        charged = (receipt.model_extra or {}).get("charged", str(receipt.price))
        rid = receipt.receipt_id
        inv.out.note(f"[{final.job_id}: {receipt.units} tokens, charged {charged}, receipt {rid}]")
        inv.out.result(final, lambda c: None)
        return
    message = f"job {final.id} {final.state.value}: {final.error}"
    inv.fail(Failure(message, "job_failed", EXIT_FAILED))


def _show_delta(inv: Invocation, item: OutputChunk) -> None:
    delta = item.chunk.get("delta")
    if not isinstance(delta, str):
        return
    if inv.out.json_mode:
        inv.out.json_line({"index": item.index, "delta": delta})
    else:
        sys.stdout.write(delta)
        sys.stdout.flush()
