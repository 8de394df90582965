"""The OpenAI-compatible door: chat completions become marketplace jobs.

``POST /v1/chat/completions`` picks the cheapest open offer of a live miner for the
model, creates a ``chat`` job priced by that offer (per token: the escrow holds
``max_tokens`` tokens, the used ones are charged; per job: its price), waits on the
job's events and answers in OpenAI's shapes. ``GET /v1/models`` lists the models live
miners offer, with their prices.

Only offers of live miners that would be offered the job count (they serve ``chat`` and
the model): any other offer would leave the job queued with its price in escrow. A door
job lives at most ``door_ttl_seconds``; if no miner finishes it by then it expires, is
refunded, and the waiting request is answered 504.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue
from sqlalchemy import Connection, Row, Select, Table, bindparam, func, select

from ..clock import MAX_AMOUNT
from ..job_types import serves
from ..models import OfferModelRow, OfferRow
from ..problems import NodeProblem, forbidden, invalid
from ..schemas import TEXT_PATTERN, JobCreate, ModelName, Strict, json_number, no_nul
from ..tables import JOBS, MINERS, RECEIPTS
from . import jobs
from .job_watch import JobEvent, follow
from .principals import Principal

if TYPE_CHECKING:
    from ..realtime.hub import EventHub
    from ..runtime import Node

#: Tokens a request without ``max_tokens`` may use when the offer sets no limit.
DEFAULT_MAX_TOKENS = 256
#: Final job events: the door's wait ends on one of these.
FINAL_EVENTS = ("job.completed", "job.failed", "job.canceled", "job.expired")
#: How long past a door job's ttl the door waits for the sweeper to expire it before
#: applying the expiry itself (so no request waits forever on a stalled sweeper).
EXPIRY_GRACE_SECONDS = 2.0


# Constraints stand before the validators, so the JSON schema (and unions) carry them.
#: Message text: no NUL (PostgreSQL cannot store it in the job's payload).
ChatText = Annotated[str, Field(max_length=1_000_000, pattern=TEXT_PATTERN), AfterValidator(no_nul)]
StopText = Annotated[str, Field(max_length=1000, pattern=TEXT_PATTERN), AfterValidator(no_nul)]
Tokens = Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(json_number)]
Temperature = Annotated[float, Field(ge=0, le=2), BeforeValidator(json_number)]


class ChatMessage(Strict):
    role: Literal["system", "user", "assistant", "tool"]
    content: ChatText


class ChatRequest(Strict):
    """The OpenAI chat-completions body (the fields the marketplace carries)."""

    model: ModelName
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    max_tokens: Tokens | None = None
    max_completion_tokens: Tokens | None = None
    temperature: Temperature | None = None
    stop: StopText | Annotated[list[StopText], Field(max_length=16)] | None = None
    stream: Annotated[bool, Field(strict=True)] = False
    #: Accepted for OpenAI clients that send it; the final chunk always carries usage.
    stream_options: dict[str, JsonValue] | None = None


@dataclass(frozen=True)
class ChatJob:
    """A created door job and what the answer needs."""

    job_id: str
    model: str
    created: int
    ttl_seconds: int


OFFERS = cast(Table, OfferRow.__table__)
OFFER_MODELS = cast(Table, OfferModelRow.__table__)


#: (offer columns, model, provider's capabilities) of open offers of miners heard from
#: since ``:live_since``. Built once: constructing it per request cost as much as running
#: it. Core, for ``Node.read``: on SQLite it runs inline, without a thread hop.
_LIVE_OFFERS: Select[Any] = (
    select(OFFERS, OFFER_MODELS.c.model, MINERS.c.capabilities)
    .join(OFFER_MODELS, OFFER_MODELS.c.offer_id == OFFERS.c.id)
    .join(MINERS, MINERS.c.principal_id == OFFERS.c.provider_id)
    .where(
        OFFERS.c.state == "open",
        func.coalesce(MINERS.c.last_heartbeat_at, MINERS.c.registered_at)
        >= bindparam("live_since", type_=MINERS.c.registered_at.type),
    )
)
#: The live offers of one model, per unit or per job, cheapest (then oldest) first.
_MODEL_OFFERS: Select[Any] = _LIVE_OFFERS.where(
    OFFER_MODELS.c.model == bindparam("model"), OFFERS.c.unit.in_(("token", "job"))
).order_by(OFFERS.c.price_per_unit, OFFERS.c.created_at)


def _live_since(node: Node) -> dict[str, Any]:
    """The bind of :data:`_LIVE_OFFERS`: miners heard from within the node's
    ``miner_live_seconds`` are live."""
    return {"live_since": node.clock() - timedelta(seconds=node.settings.miner_live_seconds)}


def _chat_job(model: str, price: int) -> dict[str, Any]:
    """What a miner is matched against for a door job (see :func:`serves`)."""
    return {"job_type": "chat", "price": price, "constraints": {"models": [model]}}


async def list_models(node: Node) -> dict[str, Any]:
    """OpenAI's model list, each with the cheapest live offer's terms under ``aitbc``."""
    params = _live_since(node)
    rows = await node.read(lambda conn: list(conn.execute(_LIVE_OFFERS, params)))
    best: dict[str, tuple[Row[Any], int]] = {}
    for offer in rows:
        model, capabilities = offer.model, offer.capabilities
        if not serves(capabilities, _chat_job(model, _max_price(offer))):
            continue
        cheapest, count = best.get(model, (offer, 0))
        if offer.price_per_unit < cheapest.price_per_unit:
            cheapest = offer
        best[model] = (cheapest, count + 1)
    data = [
        {
            "id": model,
            "object": "model",
            "created": int(offer.created_at.timestamp()),
            "owned_by": offer.provider_id,
            "aitbc": {
                "offers": count,
                "unit": offer.unit,
                "price_per_unit": str(offer.price_per_unit),
                "max_units": offer.max_units,
            },
        }
        for model, (offer, count) in sorted(best.items())
    ]
    return {"object": "list", "data": data}


def _max_tokens(req: ChatRequest | None, offer: Row[Any]) -> int:
    asked = None if req is None else req.max_tokens or req.max_completion_tokens
    return int(asked or offer.max_units or DEFAULT_MAX_TOKENS)


def _max_price(offer: Row[Any], req: ChatRequest | None = None) -> int:
    """The escrow a door job on ``offer`` holds (per token: ``max_tokens`` of them)."""
    price = int(offer.price_per_unit)
    return price * _max_tokens(req, offer) if offer.unit == "token" else price


async def _cheapest_offer(node: Node, req: ChatRequest) -> Row[Any]:
    """The cheapest live offer of ``req.model`` whose miner would take the job; else
    404 model_not_found (an offer by a miner that cannot serve the job would leave it
    queued until its ttl)."""
    params = {**_live_since(node), "model": req.model}
    rows = await node.read(lambda conn: list(conn.execute(_MODEL_OFFERS, params)))
    for offer in rows:
        if serves(offer.capabilities, _chat_job(offer.model, _max_price(offer, req))):
            return offer
    raise NodeProblem(
        404, "model_not_found", f"no live miner offers model {req.model!r}; see GET /v1/models"
    )


async def create_chat_job(node: Node, client: Principal, req: ChatRequest) -> ChatJob:
    """Escrow and queue a ``chat`` job for ``req``; 4xx before any money moves."""
    if client.role != "client":
        raise forbidden("only client keys buy chat completions")
    offer = await _cheapest_offer(node, req)
    max_tokens = _max_tokens(req, offer)
    if offer.max_units is not None and max_tokens > offer.max_units:
        raise invalid(
            f"max_tokens {max_tokens} is above the offer's limit of {offer.max_units}",
            ["body", "max_tokens"],
        )
    price = _max_price(offer, req)
    if price > MAX_AMOUNT:
        raise NodeProblem(
            402, "insufficient_funds", f"{max_tokens} tokens at this offer cost over {MAX_AMOUNT}"
        )
    payload: dict[str, Any] = {
        "model": req.model,
        "messages": [m.model_dump() for m in req.messages],
        "max_tokens": max_tokens,
        "stream": req.stream,
    }
    if req.temperature is not None:
        payload["temperature"] = req.temperature
    if req.stop is not None:
        payload["stop"] = req.stop
    ttl = node.settings.door_ttl_seconds
    body: dict[str, Any] = {
        "job_type": "chat",
        "payload": payload,
        "constraints": {"models": [req.model]},
        "ttl_seconds": ttl,
        "price": str(price),
    }
    if offer.unit == "token":
        body["pricing"] = {
            "unit": "token",
            "unit_price": str(offer.price_per_unit),
            "max_units": max_tokens,
        }
    job, _ = await jobs.create_job(node, client, JobCreate.model_validate(body), None)
    return ChatJob(job["id"], req.model, int(time.time()), ttl)


async def job_events(
    node: Node, hub: EventHub, client: Principal, chat: ChatJob
) -> AsyncGenerator[list[JobEvent], None]:
    """The job's events (output chunks, state changes) until it is final, in batches of
    what arrived together (so a burst of tokens is answered in one write).

    Delivered by the realtime hub, so a chunk is passed on as soon as its post commits.
    Bounded: the job expires at its ttl (the sweeper records it); should no final event
    come by then plus :data:`EXPIRY_GRACE_SECONDS`, the door reads the job for action,
    which applies the overdue expiry (and its refund) itself.
    """
    topic, after_seq = f"job:{chat.job_id}", 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + chat.ttl_seconds + EXPIRY_GRACE_SECONDS
    recheck = node.settings.poll_recheck_seconds
    events = follow(hub, topic, after_seq, recheck)
    try:
        while True:
            # only the wait is under the deadline, never the caller's work between events
            try:
                async with asyncio.timeout_at(deadline):
                    batch = await anext(events)
            except TimeoutError:
                await jobs.get_job(node, client, chat.job_id)
                deadline = loop.time() + EXPIRY_GRACE_SECONDS
                await events.aclose()
                events = follow(hub, topic, after_seq, recheck)
                continue
            final = next((i for i, e in enumerate(batch) if e.event in FINAL_EVENTS), None)
            if final is not None:
                yield batch[: final + 1]
                return
            after_seq = batch[-1].seq
            yield batch
    finally:
        await events.aclose()


_RESULT = select(JOBS.c.result).where(JOBS.c.id == bindparam("job_id"))
_RECEIPT = select(RECEIPTS.c.body).where(RECEIPTS.c.job_id == bindparam("job_id"))


async def completed(node: Node, job_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(result, receipt) of a COMPLETED job."""

    def read(conn: Connection) -> tuple[Any, Any]:
        params = {"job_id": job_id}
        return conn.execute(_RESULT, params).scalar(), conn.execute(_RECEIPT, params).scalar()

    result, receipt = await node.read(read)
    if not isinstance(result, dict) or not isinstance(receipt, dict):
        raise NodeProblem(502, "job_failed", f"job {job_id} completed without a chat result")
    return result, receipt


def aitbc_fields(job_id: str, receipt: dict[str, Any]) -> dict[str, Any]:
    """What an answer says about its marketplace job and receipt."""
    return {
        "job_id": job_id,
        "receipt_id": receipt["receipt_id"],
        "charged": receipt.get("charged", receipt.get("price")),
        "refunded": receipt.get("refunded", "0"),
    }


def completion(chat: ChatJob, result: dict[str, Any], receipt: dict[str, Any]) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` object."""
    usage = result.get("usage") or {}
    prompt, done = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    return {
        "id": f"chatcmpl-{chat.job_id}",
        "object": "chat.completion",
        "created": chat.created,
        "model": chat.model,
        "choices": [
            {
                "index": 0,
                "message": result.get("message") or {"role": "assistant", "content": ""},
                "finish_reason": result.get("finish_reason") or "length",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": done,
            "total_tokens": prompt + done,
        },
        "aitbc": aitbc_fields(chat.job_id, receipt),
    }


def chunk(
    chat: ChatJob, delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One ``chat.completion.chunk``."""
    return {
        "id": f"chatcmpl-{chat.job_id}",
        "object": "chat.completion.chunk",
        "created": chat.created,
        "model": chat.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
