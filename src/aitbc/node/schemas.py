"""Request bodies as pydantic models: the node's validated input (422 on mismatch).

Money fields accept only decimal strings of base units (``"1500"``), never numbers.
Unknown fields are rejected so a typo cannot silently drop a constraint. Every string the
node stores refuses NUL (PostgreSQL cannot store it), and free-form JSON (payloads,
results) is bounded in nesting depth; both rules are declared in the JSON schema where
JSON Schema can say them, so ``/openapi.json`` describes what the node accepts.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from ..core.signing import VerifyKey
from ..errors import ConfigurationError
from ..models import Role
from .clock import MAX_AMOUNT
from .problems import NodeProblem

#: Money a request may carry: no sign, no leading zeros, at most 18 digits (< MAX_AMOUNT).
MONEY_IN_PATTERN = r"^(0|[1-9][0-9]{0,17})$"
_MONEY_IN = re.compile(MONEY_IN_PATTERN)
#: Strings the node stores: any character but NUL (and, for labels, no control characters).
TEXT_PATTERN = r"^[^\x00]*$"
LABEL_PATTERN = r"^[^\x00-\x1f\x7f]+$"
#: Ids the node hands out (``job_ab12...``) and looks up.
ID_PATTERN = r"^[A-Za-z0-9_:.\-]{1,64}$"
#: Free-form JSON (payloads, results) may nest this deep and no deeper.
MAX_JSON_DEPTH = 64
#: Integers in free-form JSON must survive canonical JSON (RFC 8785: IEEE doubles).
MAX_SAFE_INTEGER = 2**53 - 1


def _parse_money(value: Any) -> int:
    if not isinstance(value, str) or not _MONEY_IN.fullmatch(value):
        raise ValueError('money is a decimal string of base units, e.g. "1500"')
    amount = int(value)
    assert amount <= MAX_AMOUNT  # 18 digits cannot exceed it
    return amount


def no_nul(value: str) -> str:
    """Refuse NUL: PostgreSQL cannot store it, so no door of the node may accept it."""
    if "\x00" in value:
        raise ValueError("text must not contain the NUL character")
    return value


def check_json(value: Any) -> Any:
    """Free-form JSON: no NUL in any string or key, at most MAX_JSON_DEPTH levels, and
    only numbers canonical JSON can hash (finite; integers within +-MAX_SAFE_INTEGER).

    Too deep is a 400 ``bad_request``, the same answer a body too deep for the JSON
    parser itself gets, so there is one limit with one answer.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            no_nul(item)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and abs(item) > MAX_SAFE_INTEGER:
            raise ValueError(f"integers in JSON must lie within +-{MAX_SAFE_INTEGER}")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers in JSON must be finite")
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise too_deep()
            children = item.values() if isinstance(item, dict) else item
            if isinstance(item, dict):
                for key in item:
                    no_nul(key)
            stack.extend((child, depth + 1) for child in children)
    return value


def json_number(value: Any) -> Any:
    """A JSON number, as JSON Schema means it: not a string of digits, not a boolean."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


#: Integers and numbers as JSON Schema reads them ("5" and true are refused).
Count = Annotated[int, BeforeValidator(json_number)]
Number = Annotated[float, BeforeValidator(json_number)]
# Optional counts put their bounds before the validator, so the schema's anyOf keeps them.
TtlSeconds = Annotated[int, Field(ge=1, le=30 * 24 * 3600), BeforeValidator(json_number)]
MaxUnits = Annotated[int, Field(ge=1, le=10_000_000), BeforeValidator(json_number)]


def too_deep() -> NodeProblem:
    return NodeProblem(400, "bad_request", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


# Serialised back as the string it came as, so a request body can be hashed canonically
# (idempotency) whatever its size: canonical JSON cannot carry integers beyond 2**53.
_AS_STRING = PlainSerializer(str, return_type=str, when_used="json")
Money = Annotated[
    int,
    BeforeValidator(_parse_money),
    _AS_STRING,
    WithJsonSchema({"type": "string", "pattern": MONEY_IN_PATTERN, "examples": ["1500"]}),
]
PositiveMoney = Annotated[
    int,
    BeforeValidator(_parse_money),
    Field(gt=0),
    _AS_STRING,
    WithJsonSchema({"type": "string", "pattern": r"^[1-9][0-9]{0,17}$", "examples": ["1500"]}),
]
# Stored free text: NUL refused by no_nul (a clear message), declared as a pattern.
_NO_NUL = AfterValidator(no_nul)
_TEXT: dict[str, Any] = {"pattern": TEXT_PATTERN}
Name = Annotated[str, _NO_NUL, Field(min_length=1, max_length=200, json_schema_extra=_TEXT)]
Memo = Annotated[str, _NO_NUL, Field(max_length=500, json_schema_extra=_TEXT)]
FailureText = Annotated[str, _NO_NUL, Field(min_length=1, max_length=4000, json_schema_extra=_TEXT)]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=LABEL_PATTERN)]
ModelName = Annotated[str, Field(min_length=1, max_length=200, pattern=LABEL_PATTERN)]
Ident = Annotated[str, Field(pattern=ID_PATTERN)]
JsonValue = Annotated[Any, AfterValidator(check_json)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrincipalCreate(Strict):
    role: Role
    name: Name


class Constraints(Strict):
    models: list[ModelName] = Field(default_factory=list, max_length=32)
    min_gpu_memory_gb: Count = Field(default=0, ge=0, le=100_000)
    region: Label | None = None
    max_price: Money | None = None


class JobPricing(Strict):
    """Per-unit terms: ``price`` must then be ``unit_price * max_units`` (the escrow)."""

    unit: Literal["token", "item"]
    unit_price: Money
    max_units: Count = Field(ge=1, le=10_000_000)


class JobCreate(Strict):
    job_type: Label
    payload: JsonValue
    constraints: Constraints = Field(default_factory=Constraints)
    price: Money
    # bounds before the validator, so the schema's anyOf carries them
    ttl_seconds: (
        Annotated[int, Field(ge=1, le=30 * 24 * 3600), BeforeValidator(json_number)] | None
    ) = None
    pricing: JobPricing | None = None


class Capabilities(Strict):
    job_types: list[Label] = Field(min_length=1, max_length=64)
    models: list[ModelName] = Field(default_factory=list, max_length=256)
    gpu_memory_gb: Count = Field(default=0, ge=0, le=100_000)
    region: Label | None = None
    # The miner's asking price: it is offered only jobs priced at least this much, and
    # never jobs whose ``max_price`` constraint is below it.
    min_price: Money = 0


class MinerRegister(Strict):
    public_key: Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9_\-]+={0,2}$")]
    capabilities: Capabilities

    @field_validator("public_key")
    @classmethod
    def _key(cls, value: str) -> str:
        try:
            VerifyKey.from_b64(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from exc
        return value


class Poll(Strict):
    wait_seconds: Number = Field(default=0, ge=0, le=30)


class Attestation(Strict):
    alg: Annotated[str, Field(max_length=32, pattern=LABEL_PATTERN)]
    key_id: str = Field(max_length=64, pattern=LABEL_PATTERN)
    sig: str = Field(max_length=200, pattern=LABEL_PATTERN)


class ResultSubmission(Strict):
    result: JsonValue
    units: Count = Field(default=1, ge=0, le=2**31 - 1)
    attestation: Attestation


class JobOutput(Strict):
    """Streamed chunks of a held job; ``start`` is the index of the first one."""

    start: Count = Field(ge=0, le=2**31 - 1)
    # Each chunk is checked like a payload (no NUL, bounded depth, finite numbers).
    chunks: list[dict[str, JsonValue]] = Field(min_length=1, max_length=256)


class JobFail(Strict):
    error: FailureText


class OfferCreate(Strict):
    capacity: Count = Field(ge=1, le=1_000_000)
    price_per_unit: Money
    models: list[ModelName] = Field(default_factory=list, max_length=256)
    region: Label | None = None
    gpu_memory_gb: Count = Field(default=0, ge=0, le=100_000)
    unit: Literal["job", "token", "item"] = "job"
    max_units: Annotated[int, Field(ge=1, le=10_000_000), BeforeValidator(json_number)] | None = (
        None
    )


class BidCreate(Strict):
    offer_id: Annotated[str, Field(min_length=1, max_length=40, pattern=ID_PATTERN)]
    units: Count = Field(ge=1, le=1_000_000)
    price_per_unit: Money


class TransferCreate(Strict):
    to: Ident
    amount: PositiveMoney
    memo: Memo | None = None


class Faucet(Strict):
    account_id: Ident
    amount: PositiveMoney


#: The name services use for a miner's result submission.
JobResult = ResultSubmission


#: Longest expiry a key may be given, and longest grace a rotated key may keep working.
MAX_KEY_LIFETIME_SECONDS = 10 * 366 * 86_400
MAX_ROTATION_GRACE_SECONDS = 30 * 86_400


#: Seconds until a key expires (the bounds inside the type, so the schema shows them).
KeyLifetime = Annotated[int, Field(ge=1, le=MAX_KEY_LIFETIME_SECONDS), BeforeValidator(json_number)]


class KeyCreate(Strict):
    name: Name | None = None
    expires_in_seconds: KeyLifetime | None = None
    #: Admins only: create the key for this principal instead of themselves.
    principal_id: Ident | None = None


class KeyRotate(Strict):
    grace_seconds: Count = Field(default=0, ge=0, le=MAX_ROTATION_GRACE_SECONDS)
    expires_in_seconds: KeyLifetime | None = None
