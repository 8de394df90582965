"""Typed answers of the node (pydantic v2), readable as attributes or as ``job["id"]``.

These are the one definition of each response shape: the SDK parses the node's answers
with them and the node declares them as its routes' ``response_model``, so the node's
``/openapi.json`` documents exactly what the SDK reads.

Money fields are ``int`` base units in Python, parsed from the wire's decimal strings
and serialised back to strings (``model_dump(mode="json")``). Unknown fields a newer node
sends are kept (``extra="allow"``), so an older SDK neither breaks nor drops them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, KeysView, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    model_validator,
)

from .core.blobs import BASE64_PATTERN, BLOB_ID_PATTERN
from .core.signing import VerifyKey

_INTEGER = re.compile(r"-?[0-9]+")


def parse_money(value: Any) -> int:
    """Base units from the wire: an int or a decimal-integer string; never a float."""
    if isinstance(value, bool | float):
        raise ValueError("money must be an integer count of base units, not a float or bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise ValueError(f"money must be a decimal integer string, got {value!r}")


#: How the node writes money: a decimal string of base units, no sign, no leading zeros.
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,18})$"

Money = Annotated[
    int,
    BeforeValidator(parse_money),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1500"]}),
]


class WireModel(BaseModel):
    """Base of every answer model: frozen, extra fields kept, dict-style reads."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields or key in (self.__pydantic_extra__ or {}):
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.keys()

    def keys(self) -> KeysView[str]:
        """Field names (declared then extra), so ``dict(model)`` works like a mapping."""
        return {**dict.fromkeys(type(self).model_fields), **(self.__pydantic_extra__ or {})}.keys()

    def get(self, key: str, default: Any = None) -> Any:
        """``model[key]`` or ``default`` when there is no such field."""
        try:
            return self[key]
        except KeyError:
            return default

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict (money as strings, timestamps ISO 8601)."""
        return self.model_dump(mode="json")


class JobState(enum.StrEnum):
    """Job states; equal to their wire strings (``job["state"] == "COMPLETED"``)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        """True for states a job never leaves."""
        return self not in (JobState.QUEUED, JobState.RUNNING)


class Role(enum.StrEnum):
    """What a principal may do; equal to its wire string."""

    CLIENT = "client"
    MINER = "miner"
    ADMIN = "admin"


class OfferState(enum.StrEnum):
    """An offer is open until its provider closes it."""

    OPEN = "open"
    CLOSED = "closed"


class BidState(enum.StrEnum):
    """A bid is open until its bidder cancels it."""

    OPEN = "open"
    CANCELED = "canceled"


class TransferKind(enum.StrEnum):
    """Why money moved."""

    TRANSFER = "transfer"
    ESCROW = "escrow"
    PAYOUT = "payout"
    REFUND = "refund"
    MINT = "mint"


class ErrorDetail(WireModel):
    """One validation problem: where (``loc``), what (``msg``) and its kind (``type``)."""

    loc: list[str | int] = Field(default_factory=list)
    msg: str = ""
    type: str = ""


class ErrorBody(WireModel):
    """The inside of the error envelope."""

    code: str
    message: str
    request_id: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorEnvelope(WireModel):
    """Every 4xx/5xx answer: ``{"error": {"code", "message", "request_id", "details"}}``."""

    error: ErrorBody


class Health(WireModel):
    """``GET /health``."""

    status: str


class SigningKeyInfo(WireModel):
    """One coordinator receipt-signing key published in ``/v1/info``."""

    key_id: str
    alg: str
    public_key: str


class NodeInfo(WireModel):
    """``GET /v1/info``: which chain the node serves and its receipt-signing keys."""

    chain_id: int
    version: str
    coordinator_id: str
    signing_keys: list[SigningKeyInfo] = Field(default_factory=list)

    def verify_keys(self) -> dict[str, VerifyKey]:
        """The published Ed25519 keys by key id, ready for receipt verification.

        A key whose published id does not match its bytes is left out.
        """
        keys: dict[str, VerifyKey] = {}
        for info in self.signing_keys:
            if info.alg != "ed25519":
                continue
            key = VerifyKey.from_b64(info.public_key)
            if key.key_id == info.key_id:
                keys[info.key_id] = key
        return keys


class Principal(WireModel):
    """A key holder: client, miner or admin."""

    id: str
    role: Role
    name: str
    created_at: datetime


class CreatedPrincipal(WireModel):
    """``POST /v1/admin/principals``: the new principal and its key (shown only here)."""

    principal: Principal
    api_key: str


class ApiKeyState(enum.StrEnum):
    """Whether a key works: ``rotating`` keys work until their ``revoked_at``."""

    ACTIVE = "active"
    ROTATING = "rotating"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ApiKey(WireModel):
    """An API key's record (the key itself is shown only when created or rotated)."""

    id: str
    principal_id: str
    name: str | None = None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    state: ApiKeyState


class CreatedApiKey(WireModel):
    """``POST /v1/keys``: the new key's record and the key (shown only here)."""

    key: ApiKey
    api_key: str


class RotatedApiKey(WireModel):
    """``POST /v1/keys/{key_id}/rotate``: the new key, and the old one ending its grace."""

    key: ApiKey
    api_key: str
    previous: ApiKey


class AuditEntry(WireModel):
    """One admin action: ``action`` by ``actor_id`` on ``target`` (an id, never a key)."""

    id: str
    created_at: datetime
    actor_id: str
    action: str
    target: str
    detail: dict[str, Any]


class JobConstraints(WireModel):
    """What a miner must offer to take a job."""

    models: list[str] = Field(default_factory=list)
    min_gpu_memory_gb: float = 0
    region: str | None = None
    max_price: Money | None = None


class Job(WireModel):
    """A compute job and where it stands."""

    id: str
    client_id: str
    job_type: str
    payload: Any = Field(default_factory=dict)
    constraints: JobConstraints = Field(default_factory=JobConstraints)
    price: Money
    state: JobState
    miner_id: str | None = None
    attempts: int = 0
    ttl_seconds: int | None = None
    created_at: datetime
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    lease_expires_at: datetime | None = None
    error: str | None = None
    receipt_id: str | None = None
    #: ``GET /v1/jobs/{id}`` only: why no registered miner can take this QUEUED job
    #: (None when one can), so a client can cancel instead of waiting for the ttl.
    blocked_reason: str | None = None

    @property
    def is_terminal(self) -> bool:
        """True once the job is COMPLETED, FAILED, CANCELED or EXPIRED."""
        return self.state.is_terminal


class SignatureInfo(WireModel):
    """A signature object ``{alg, key_id, sig}`` (attestations add ``role``)."""

    alg: str
    key_id: str
    sig: str
    role: str | None = None


class Receipt(WireModel):
    """A signed record of completed work.

    Keeps the exact wire dict it was parsed from (:meth:`to_wire`), because signatures
    cover those bytes and a re-serialisation might format a timestamp differently.
    """

    receipt_id: str
    version: int
    job_id: str
    client_id: str
    miner_id: str
    job_type: str
    input_hash: str
    output_hash: str
    units: int
    price: Money
    chain_id: int
    coordinator_id: str
    nonce: str
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    miner_key: str
    attestations: list[SignatureInfo] = Field(default_factory=list)
    signature: SignatureInfo

    _wire: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_wire(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        model = handler(data)
        if isinstance(data, Mapping) and isinstance(model, Receipt):
            model._wire = dict(data)
        return model

    def to_wire(self) -> dict[str, Any]:
        """The receipt exactly as the node sent it (what its signatures cover)."""
        return dict(self._wire) if self._wire is not None else super().to_wire()


class JobResult(WireModel):
    """``GET /v1/jobs/{id}/result``: the output of a COMPLETED job and its receipt."""

    job_id: str
    state: JobState
    result: Any = None
    receipt: Receipt


class Offer(WireModel):
    """Compute capacity a miner offers on the marketplace."""

    id: str
    provider_id: str
    capacity: int
    price_per_unit: Money
    models: list[str] = Field(default_factory=list)
    region: str | None = None
    gpu_memory_gb: float = 0
    state: OfferState
    created_at: datetime


class Bid(WireModel):
    """A client's bid on an offer."""

    id: str
    offer_id: str
    client_id: str
    units: int
    price_per_unit: Money
    state: BidState
    created_at: datetime


class ModelStats(WireModel):
    """Open offers and capacity for one model."""

    offers: int
    capacity: int


class MarketStats(WireModel):
    """``GET /v1/marketplace/stats``. ``avg_price`` may be fractional, so it is a Decimal."""

    open_offers: int
    open_capacity: int
    active_bids: int
    min_price: Money | None = None
    max_price: Money | None = None
    avg_price: Annotated[
        Decimal | None, WithJsonSchema({"type": ["string", "null"], "pattern": r"^[0-9.]+$"})
    ] = None
    models: dict[str, ModelStats] = Field(default_factory=dict)


class Balance(WireModel):
    """An account's spendable balance and the amount held in escrow for its jobs."""

    account_id: str
    balance: Money
    escrowed: Money = 0


class Transfer(WireModel):
    """One ledger movement (``kind``: transfer, escrow, payout, refund, mint)."""

    id: str
    from_account: str
    to_account: str
    amount: Money
    kind: TransferKind
    job_id: str | None = None
    memo: str | None = None
    created_at: datetime


ItemT = TypeVar("ItemT", bound=WireModel)


class Page(WireModel, Generic[ItemT]):
    """One page of a list: ``items`` and the ``next_cursor`` (None on the last page)."""

    items: list[ItemT]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[ItemT]:  # type: ignore[override]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class MinerCapabilities(WireModel):
    """What a miner runs and where; it is offered only jobs it can serve."""

    job_types: list[str]
    models: list[str] = Field(default_factory=list)
    gpu_memory_gb: float = 0
    region: str | None = None
    min_price: Money = 0


class Miner(WireModel):
    """A miner's registration (its id is its principal id)."""

    id: str
    public_key: str
    key_id: str
    capabilities: MinerCapabilities
    registered_at: datetime
    last_heartbeat_at: datetime | None = None


class Heartbeat(WireModel):
    """``POST /v1/miners/heartbeat``: the ids of the jobs whose leases were renewed."""

    ok: bool
    renewed: list[str] = Field(default_factory=list)


class OutputProgress(WireModel):
    """``POST /v1/miners/jobs/{id}/output``: the chunks recorded so far and their hash
    chain (the ``output`` object a streamed job's result must carry)."""

    chunks: int
    chain: str


class Claim(WireModel):
    """``POST /v1/miners/poll`` when a job was claimed: the job and its lease."""

    job: Job
    lease_expires_at: datetime


class Completion(WireModel):
    """``POST /v1/miners/jobs/{id}/result``: the COMPLETED job and its signed receipt."""

    job: Job
    receipt: Receipt


BlobId = Annotated[str, Field(pattern=BLOB_ID_PATTERN)]


class Blob(WireModel):
    """A stored blob: its id (``sha256``), ``size`` in bytes and number of ``parts``
    of ``part_bytes`` each (the last may be shorter)."""

    sha256: BlobId
    size: int
    parts: int
    part_bytes: int | None = None
    created_at: datetime | None = None


class BlobPartStored(WireModel):
    """``PUT /v1/blobs/{sha256}/parts/{idx}``: the part is held for your upload;
    ``complete`` is true when the blob already exists (nothing more to send)."""

    sha256: BlobId
    idx: int
    complete: bool


class BlobPartData(WireModel):
    """``GET /v1/blobs/{sha256}/parts/{idx}``: one part's bytes, base64."""

    sha256: BlobId
    idx: int
    data: Annotated[str, Field(pattern=BASE64_PATTERN)]


# --- The OpenAI door's answers: OpenAI's own shapes, plus an ``aitbc`` object -----------


class ChatModelTerms(WireModel):
    """The cheapest live offer of a model: what one unit costs and how many one job buys."""

    offers: int
    unit: str
    price_per_unit: Money
    max_units: int | None = None


class ChatModel(WireModel):
    """One entry of ``GET /v1/models`` (OpenAI's model object)."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    aitbc: ChatModelTerms


class ChatModelList(WireModel):
    """``GET /v1/models``: the models live chat miners offer."""

    object: Literal["list"]
    data: list[ChatModel]


class ChatJobInfo(WireModel):
    """The marketplace job behind a completion, its receipt and what it cost."""

    job_id: str
    receipt_id: str
    charged: Money
    refunded: Money


class ChatMessageOut(WireModel):
    """The assistant's message."""

    role: str
    content: str | None = None


class ChatChoice(WireModel):
    index: int
    message: ChatMessageOut
    finish_reason: str | None = None


class ChatUsage(WireModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(WireModel):
    """``POST /v1/chat/completions`` without ``stream`` (OpenAI's ``chat.completion``)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage
    aitbc: ChatJobInfo
