"""The OpenAI-compatible door: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Authenticated by the aitbc API key as ``Authorization: Bearer <key>`` (``X-API-Key``
works too), so the official ``openai`` package pointed at the node works unmodified.
Every completion is a marketplace job: ``X-AITBC-Job-Id`` names it; the receipt id is
in ``X-AITBC-Receipt-Id`` (non-streamed) and in the final chunk's ``aitbc`` object.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ...models import ChatCompletion, ChatModelList
from ..auth import NodeDep, get_node
from ..event_stream import EventStreamResponse
from ..problems import NodeProblem
from ..services import openai_door
from ..services.job_watch import JobEvent
from ..services.openai_door import ChatJob, ChatRequest
from ..services.principals import Principal, authenticate
from . import AUTHENTICATED, answer, errors

router = APIRouter(prefix="/v1", responses=errors(*AUTHENTICATED))

#: The answer: ``chat.completion`` JSON, or with ``"stream": true`` OpenAI's chunk stream.
ANSWER_DOCS: dict[str, Any] = {
    "description": '`chat.completion` JSON; with `"stream": true` a `text/event-stream` of '
    "`data: <chat.completion.chunk JSON>` events (the last with `finish_reason`, `usage` "
    "and `aitbc`) then `data: [DONE]`; a job that fails or expires mid-stream ends with "
    '`data: {"error": {...}}`.',
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


async def bearer_principal(request: Request) -> Principal:
    """The principal of ``Authorization: Bearer <key>`` (or ``X-API-Key``); 401 if none."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.headers.get("x-api-key", "")
    if not key:
        raise NodeProblem(401, "unauthenticated", "send your aitbc API key as a Bearer token")
    principal = await authenticate(await get_node(request), key)
    if principal is None:
        raise NodeProblem(401, "unauthenticated", "unknown API key")
    return principal


BearerDep = Annotated[Principal, Depends(bearer_principal)]


@router.get("/models", response_model=ChatModelList)
async def list_models(node: NodeDep, _: BearerDep) -> JSONResponse:
    return answer(await openai_door.list_models(node))


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: ANSWER_DOCS, **errors(402, 404, 502, 504)},
    description="A chat completion bought as a marketplace job (header `X-AITBC-Job-Id`; "
    "`X-AITBC-Receipt-Id` when not streamed). 404 `model_not_found` when no live miner "
    "serving the model offers it, 422 for `max_tokens` above the offer's limit, 402 when "
    "the price is not covered; all before any money moves. 502 `job_failed` and 504 "
    "`job_expired` (the door job's ttl is the node's `door_ttl_seconds`) are refunded.",
)
async def chat_completions(
    request: Request, req: ChatRequest, node: NodeDep, principal: BearerDep
) -> Response:
    chat = await openai_door.create_chat_job(node, principal, req)
    headers = {"X-AITBC-Job-Id": chat.job_id}
    events = openai_door.job_events(node, request.app.state.realtime.hub, principal, chat)
    if req.stream:
        return EventStreamResponse(
            _stream(node, chat, events), headers={**headers, "Cache-Control": "no-cache"}
        )
    async with contextlib.aclosing(events):  # leave the hub as soon as the answer is known
        async for batch in events:
            for record in batch:
                if record.event == "job.completed":
                    result, receipt = await openai_door.completed(node, chat.job_id)
                    headers["X-AITBC-Receipt-Id"] = receipt["receipt_id"]
                    return answer(openai_door.completion(chat, result, receipt), headers=headers)
                if record.event in ("job.failed", "job.canceled", "job.expired"):
                    raise _job_problem(chat, record.data, headers)
    raise NodeProblem(503, "unavailable", "the node is shutting down", headers=headers)


def _job_problem(chat: ChatJob, job: dict[str, Any], headers: dict[str, str]) -> NodeProblem:
    state = str(job.get("state")).lower()
    if state == "expired":
        message = (
            f"no miner finished job {chat.job_id} within its ttl of {chat.ttl_seconds}s;"
            " its price was refunded"
        )
        return NodeProblem(504, "job_expired", message, headers=headers)
    message = f"job {chat.job_id} {state}: {job.get('error')}; its price was refunded"
    return NodeProblem(502, "job_failed", message, headers=headers)


def _sse(value: Any) -> bytes:
    return f"data: {json.dumps(value, separators=(',', ':'))}\n\n".encode()


async def _stream(
    node: Any, chat: ChatJob, events: AsyncGenerator[list[JobEvent], None]
) -> AsyncGenerator[bytes, None]:
    """OpenAI's chunk stream for the job: a role chunk, a content chunk per batch of
    deltas, a final chunk with finish_reason, usage and the receipt, then ``[DONE]``.

    The deltas recorded together (one post of the miner's) go out as one chunk, their
    text joined: they reach the client at the same moment either way, and a chunk per
    token only cost the client a parse each (about 0.1 ms in the ``openai`` package).
    ``usage`` in the final chunk counts the tokens."""
    yield _sse(openai_door.chunk(chat, {"role": "assistant", "content": ""}))
    async with contextlib.aclosing(events):
        async for batch in events:  # a final event, if any, ends its batch (job_events)
            deltas = [
                r.data.get("chunk", {}).get("delta") for r in batch if r.event == "job.output"
            ]
            text = "".join(d for d in deltas if isinstance(d, str))
            out = _sse(openai_door.chunk(chat, {"content": text})) if text else b""
            final = batch[-1] if batch[-1].event in openai_door.FINAL_EVENTS else None
            if final is None:
                if out:
                    yield out
                continue
            if final.event == "job.completed":
                if out:  # the tokens go out before the receipt is read
                    yield out
                result, receipt = await openai_door.completed(node, chat.job_id)
                answer = openai_door.completion(chat, result, receipt)
                final_chunk = openai_door.chunk(
                    chat,
                    {},
                    answer["choices"][0]["finish_reason"],
                    usage=answer["usage"],
                    aitbc=answer["aitbc"],
                )
                yield _sse(final_chunk) + b"data: [DONE]\n\n"
                return
            problem = _job_problem(chat, final.data, {})  # failed, canceled or expired
            error = {"message": problem.message, "type": problem.code, "code": problem.code}
            yield out + _sse({"error": {**error, "aitbc": {"job_id": chat.job_id}}})
            return
