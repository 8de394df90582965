"""The OpenAI-compatible door: chat completions become marketplace jobs.

``POST /v1/chat/completions`` picks the cheapest open offer of a live miner for the
model, creates a ``chat`` job priced by that offer (per token: the escrow holds
``max_tokens`` tokens, the used ones are charged; per job: its price), waits on the
job's events and answers in OpenAI's shapes. ``GET /v1/models`` lists the models live
miners offer, with their prices.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from ..models import JobRow, MinerRow, OfferModelRow, OfferRow, ReceiptRow
from ..problems import NodeProblem, forbidden, invalid
from ..schemas import JobCreate
from . import jobs
from .job_watch import follow
from .principals import Principal

if TYPE_CHECKING:
    from ..events import EventRecord
    from ..runtime import Node

#: A miner is live when it registered or sent a heartbeat this recently.
LIVE_SECONDS = 60.0
#: Tokens a request without ``max_tokens`` may use when the offer sets no limit.
DEFAULT_MAX_TOKENS = 256
#: How long a door job may wait and run before it expires (and is refunded).
JOB_TTL_SECONDS = 600


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=1_000_000)


class ChatRequest(BaseModel):
    """The OpenAI chat-completions body (the fields the marketplace carries)."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChatJob:
    """A created door job and what the answer needs."""

    job_id: str
    model: str
    created: int


def _live_offers(now: Any) -> Any:
    live_since = now - timedelta(seconds=LIVE_SECONDS)
    heard = func.coalesce(MinerRow.last_heartbeat_at, MinerRow.registered_at)
    return (
        select(OfferRow, OfferModelRow.model)
        .join(OfferModelRow, OfferModelRow.offer_id == OfferRow.id)
        .join(MinerRow, MinerRow.principal_id == OfferRow.provider_id)
        .where(OfferRow.state == "open", heard >= live_since)
    )


async def list_models(node: Node) -> dict[str, Any]:
    """OpenAI's model list, each with the cheapest live offer's terms under ``aitbc``."""
    from ..clock import utcnow

    async with node.reads() as session:
        rows = (await session.execute(_live_offers(utcnow()))).all()
    best: dict[str, tuple[OfferRow, int]] = {}
    for offer, model in rows:
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


async def _cheapest_offer(node: Node, model: str) -> OfferRow:
    from ..clock import utcnow

    stmt = (
        _live_offers(utcnow())
        .where(OfferModelRow.model == model, OfferRow.unit.in_(("token", "job")))
        .order_by(OfferRow.price_per_unit, OfferRow.created_at)
        .limit(1)
    )
    async with node.reads() as session:
        row = (await session.execute(stmt)).first()
    if row is None:
        raise NodeProblem(
            404, "model_not_found", f"no live miner offers model {model!r}; see GET /v1/models"
        )
    offer: OfferRow = row[0]
    return offer


async def create_chat_job(node: Node, client: Principal, req: ChatRequest) -> ChatJob:
    """Escrow and queue a ``chat`` job for ``req``; 4xx before any money moves."""
    if client.role != "client":
        raise forbidden("only client keys buy chat completions")
    offer = await _cheapest_offer(node, req.model)
    max_tokens = (
        req.max_tokens or req.max_completion_tokens or offer.max_units or DEFAULT_MAX_TOKENS
    )
    if offer.max_units is not None and max_tokens > offer.max_units:
        raise invalid(
            f"max_tokens {max_tokens} is above the offer's limit of {offer.max_units}",
            ["body", "max_tokens"],
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
    body: dict[str, Any] = {
        "job_type": "chat",
        "payload": payload,
        "constraints": {"models": [req.model]},
        "ttl_seconds": JOB_TTL_SECONDS,
    }
    if offer.unit == "token":
        body["price"] = str(offer.price_per_unit * max_tokens)
        body["pricing"] = {
            "unit": "token",
            "unit_price": str(offer.price_per_unit),
            "max_units": max_tokens,
        }
    else:
        body["price"] = str(offer.price_per_unit)
    job, _ = await jobs.create_job(node, client, JobCreate.model_validate(body), None)
    return ChatJob(job["id"], req.model, int(time.time()))


async def job_events(node: Node, job_id: str) -> AsyncIterator[EventRecord]:
    """The job's events (output chunks, state changes) until it is final."""
    async for record in follow(node, f"job:{job_id}"):
        yield record
        if record.event in ("job.completed", "job.failed", "job.canceled", "job.expired"):
            return


async def completed(node: Node, job_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(result, receipt) of a COMPLETED job."""
    async with node.reads() as session:
        result = await session.scalar(select(JobRow.result).where(JobRow.id == job_id))
        receipt = await session.scalar(select(ReceiptRow.body).where(ReceiptRow.job_id == job_id))
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
