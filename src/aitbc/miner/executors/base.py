"""The executor interface: what a miner runs for one job type.

An executor is plain synchronous code. The miner calls :meth:`Executor.run` in a worker
thread, so CPU-heavy work never blocks the event loop that heartbeats and polls. Long
runs check ``cancel`` now and then and stop with :class:`ExecutionCanceled` when it is
set (shutdown, or the node took the lease back).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import pydantic

from ..errors import ExecutionCanceled, InvalidPayloadError

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


class JobContext(Protocol):
    """What an executor may ask of the miner while a job runs (from its worker thread).

    ``emit`` streams one JSON-object chunk of output (a token, one item of a batch):
    the miner posts chunks to the node in batches, at most one post per output interval
    after the first. ``flush`` says the output is complete (or nearly: a chat server
    sent ``finish_reason``), so what was emitted is posted at once instead of waiting
    for the interval or the executor's return. ``fetch_blob`` returns the bytes of a
    blob the job references, hash-checked (and cached by the miner).
    """

    def emit(self, chunk: Mapping[str, Any]) -> None: ...

    def flush(self) -> None: ...

    def fetch_blob(self, sha256: str) -> bytes: ...


@dataclass(frozen=True)
class Execution:
    """What a finished run produced: the JSON ``result`` and the ``units`` it consumed."""

    result: dict[str, Any]
    units: int


class Executor(ABC):
    """Runs jobs of one type. Subclasses implement :meth:`run`; plugins register the
    class under the ``aitbc.executors`` entry point group (the entry point name is the
    job type)."""

    #: Model names this executor serves; advertised in the miner's capabilities.
    models: tuple[str, ...] = ()

    @abstractmethod
    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        """Execute one job.

        Raises InvalidPayloadError when ``payload`` does not fit, ExecutionCanceled when
        ``cancel`` was set before the work finished. Any other exception also fails the
        job, with its message reported to the node.
        """

    def execute(
        self, payload: Mapping[str, Any], cancel: threading.Event, context: JobContext
    ) -> Execution:
        """Execute one job with access to the miner (streamed output, blobs).

        The miner calls this; the default runs :meth:`run`. Executors that stream or
        read blobs override it.
        """
        return self.run(payload, cancel)


class PayloadModel(pydantic.BaseModel):
    """Base of payload schemas: strict types, unknown fields rejected."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, frozen=True)


def parse_payload(model: type[ModelT], payload: Mapping[str, Any]) -> ModelT:
    """Validate ``payload`` against ``model``; raise InvalidPayloadError naming each
    offending field."""
    try:
        return model.model_validate(dict(payload))
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidPayloadError(f"invalid payload: {problems}") from exc


def check_cancel(cancel: threading.Event) -> None:
    """Raise ExecutionCanceled when the miner asked the run to stop."""
    if cancel.is_set():
        raise ExecutionCanceled("execution canceled")


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer ceiling of ``numerator / denominator`` (units are always whole)."""
    return -(-numerator // denominator)
