"""What every resource API shares: the resolver seam, request plumbing, wire encoding.

APIs never hold a transport. They ask a :class:`TransportResolver` (the client) for the
transport of a chain on every call, so one API object serves one network or many:
every method takes ``chain_id=None`` (None = the default network).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import pydantic

from ..errors import ConfigurationError, ProtocolError
from ..models import NodeInfo
from ..multinetwork import MultiNetworkClient
from ..transports.base import JSONDict, Transport
from ..transports.retry import IDEMPOTENCY_HEADER

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


class TransportResolver(Protocol):
    """Maps a chain id to a ready (connected, chain-checked) transport and its node info.

    :class:`aitbc.AITBCClient` implements it for one network or many (the same code
    path: ``networks`` is a registry of one network or several), and owns the retry
    policy of :meth:`call`.
    """

    @property
    def networks(self) -> MultiNetworkClient:
        """The registry calls are routed through (routing reads it when ``chain_id`` is
        None and there is more than one network to choose from)."""
        ...

    async def transport_for(self, chain_id: int | None = None) -> Transport:
        """The transport serving ``chain_id`` (None: the default network)."""
        ...

    async def node_info(self, chain_id: int | None = None) -> NodeInfo:
        """The cached ``/v1/info`` of the node serving ``chain_id``."""
        ...

    async def call(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        chain_id: int | None = None,
    ) -> JSONDict:
        """One call under the resolver's retry policy and deadline."""
        ...

    def remember_job(self, job_id: str, chain_id: int) -> None:
        """Note the chain a job was created on."""
        ...

    def job_chain(self, job_id: str) -> int | None:
        """The chain a job is known to live on, if known."""
        ...


def new_idempotency_key() -> str:
    """A fresh key for one logical call; reused on every retry of that call."""
    return uuid.uuid4().hex


def path_segment(value: object, what: str) -> str:
    """``value`` as one URL path segment; ConfigurationError for an empty or non-str id."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def money_to_wire(value: object, what: str) -> str:
    """Base units as the wire's decimal string; rejects floats, bools and negatives."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigurationError(f"{what} must be an int of base units, got {value!r}")
    text = str(value).strip()
    if not text.isdigit():
        raise ConfigurationError(f"{what} must be a non-negative integer, got {value!r}")
    return str(int(text))


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters without None values, each as its wire string."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def parse(model: type[ModelT], answer: JSONDict, what: str) -> ModelT:
    """Validate a node answer into ``model``; a shape we cannot read is a ProtocolError."""
    try:
        return model.model_validate(answer)
    except pydantic.ValidationError as exc:
        raise ProtocolError(f"unexpected {what} from the node: {exc}") from exc


class ResourceAPI:
    """Base of ``client.jobs``, ``client.wallet``...: requests through the resolver."""

    def __init__(self, resolver: TransportResolver) -> None:
        self._resolver = resolver

    async def _request(
        self,
        method: str,
        path: str,
        *,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        chain_id: int | None = None,
    ) -> JSONDict:
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else None
        query = clean_params(params) if params else None
        return await self._resolver.call(method, path, data, query, headers, chain_id=chain_id)
