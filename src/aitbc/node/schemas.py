"""Request bodies as pydantic models: the node's validated input (422 on mismatch).

Money fields accept only decimal strings of base units (``"1500"``), never numbers.
Unknown fields are rejected so a typo cannot silently drop a constraint.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ..core.signing import VerifyKey
from ..errors import ConfigurationError
from .clock import MAX_AMOUNT

_DIGITS = re.compile(r"[0-9]{1,19}")


def _parse_money(value: Any) -> int:
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise ValueError('money is a decimal string of base units, e.g. "1500"')
    amount = int(value)
    if amount > MAX_AMOUNT:
        raise ValueError(f"amount exceeds {MAX_AMOUNT}")
    return amount


Money = Annotated[int, BeforeValidator(_parse_money)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[str, Field(min_length=1, max_length=100)]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrincipalCreate(Strict):
    role: Literal["client", "miner", "admin"]
    name: Name


class Constraints(Strict):
    models: list[ModelName] = Field(default_factory=list, max_length=32)
    min_gpu_memory_gb: int = Field(default=0, ge=0, le=100_000)
    region: Label | None = None
    max_price: Money | None = None


class JobPricing(Strict):
    """Per-unit terms: ``price`` must then be ``unit_price * max_units`` (the escrow)."""

    unit: Literal["token", "item"]
    unit_price: Money
    max_units: int = Field(ge=1, le=10_000_000)


class JobCreate(Strict):
    job_type: Label
    payload: Any
    constraints: Constraints = Field(default_factory=Constraints)
    price: Money
    ttl_seconds: int | None = Field(default=None, ge=1, le=30 * 24 * 3600)
    pricing: JobPricing | None = None


class Capabilities(Strict):
    job_types: list[Label] = Field(min_length=1, max_length=64)
    models: list[ModelName] = Field(default_factory=list, max_length=256)
    gpu_memory_gb: int = Field(default=0, ge=0, le=100_000)
    region: Label | None = None
    # The miner's asking price: it is offered only jobs priced at least this much, and
    # never jobs whose ``max_price`` constraint is below it.
    min_price: Money = 0


class MinerRegister(Strict):
    public_key: str
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
    wait_seconds: float = Field(default=0, ge=0, le=30)


class Attestation(Strict):
    alg: str
    key_id: str = Field(max_length=64)
    sig: str = Field(max_length=200)


class JobResult(Strict):
    result: Any
    units: int = Field(default=1, ge=0, le=2**31 - 1)
    attestation: Attestation


class JobOutput(Strict):
    """Streamed chunks of a held job; ``start`` is the index of the first one."""

    start: int = Field(ge=0, le=2**31 - 1)
    chunks: list[dict[str, Any]] = Field(min_length=1, max_length=256)


class JobFail(Strict):
    error: str = Field(min_length=1, max_length=4000)


class OfferCreate(Strict):
    capacity: int = Field(ge=1, le=1_000_000)
    price_per_unit: Money
    models: list[ModelName] = Field(default_factory=list, max_length=256)
    region: Label | None = None
    gpu_memory_gb: int = Field(default=0, ge=0, le=100_000)
    unit: Literal["job", "token", "item"] = "job"
    max_units: int | None = Field(default=None, ge=1, le=10_000_000)


class BidCreate(Strict):
    offer_id: str = Field(min_length=1, max_length=40)
    units: int = Field(ge=1, le=1_000_000)
    price_per_unit: Money


class TransferCreate(Strict):
    to: str = Field(min_length=1, max_length=64)
    amount: Money
    memo: str | None = Field(default=None, max_length=500)


class Faucet(Strict):
    account_id: str = Field(min_length=1, max_length=64)
    amount: Money
