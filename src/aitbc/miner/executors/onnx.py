"""The ``onnx`` executor: ONNX Runtime on named input tensors (optional extra ``onnx``).

Payload::

    {"model": {"$blob": "<sha256>"},            # the .onnx file, uploaded as a blob
     "inputs": {"input": [[...], ...]},          # one nested list per model input
     "batch_size": 32}                           # rows per run (optional)

Every input's first dimension is the batch: all inputs must have the same number of
rows. Each row's outputs are streamed as one chunk ``{"index": i, "outputs": {name:
value}}`` as soon as its run finishes; the result holds every output in full and
``items`` (the units charged). Shapes and element types are checked against the model
before anything runs, so a wrong tensor fails the job with a clear message.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import onnxruntime as ort
from pydantic import Field

from ...core.blobs import REF_KEY
from ..errors import ExecutorError, InvalidPayloadError
from .base import (
    Execution,
    Executor,
    JobContext,
    PayloadModel,
    check_cancel,
    parse_payload,
)

#: ONNX element types this executor accepts, as numpy dtypes.
DTYPES: Mapping[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}
#: Sessions kept loaded (by model hash).
_SESSIONS = 4
MAX_ROWS = 100_000


class OnnxPayload(PayloadModel):
    model: dict[str, str]
    inputs: dict[str, list[Any]] = Field(min_length=1)
    batch_size: int = Field(default=32, ge=1, le=10_000)


def _threads() -> int:
    try:
        return max(1, int(os.environ.get("AITBC_ONNX_THREADS", "1")))
    except ValueError:
        return 1


class OnnxExecutor(Executor):
    """Job type ``onnx``: one unit per input row."""

    def __init__(self) -> None:
        self._sessions: collections.OrderedDict[str, ort.InferenceSession] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        """Without a miner there is no node to read the model blob from."""
        raise ExecutorError("the onnx executor reads its model from the node; run it in a miner")

    def execute(
        self, payload: Mapping[str, Any], cancel: threading.Event, context: JobContext
    ) -> Execution:
        """Run the model on every row, streaming each row's outputs."""
        job = parse_payload(OnnxPayload, payload)
        sha256 = job.model.get(REF_KEY)
        if sha256 is None or len(job.model) != 1:
            raise InvalidPayloadError('invalid payload: model must be {"$blob": "<sha256>"}')
        session = self._session(sha256, context)
        feeds, rows = _feeds(session, job.inputs)
        names = [out.name for out in session.get_outputs()]
        collected: dict[str, list[Any]] = {name: [] for name in names}
        for start in range(0, rows, job.batch_size):
            check_cancel(cancel)
            part = {name: array[start : start + job.batch_size] for name, array in feeds.items()}
            values = session.run(names, part)
            for offset in range(len(values[0]) if values else 0):
                item = {
                    name: _plain(value[offset]) for name, value in zip(names, values, strict=True)
                }
                for name in names:
                    collected[name].append(item[name])
                context.emit({"index": start + offset, "outputs": item})
        return Execution(result={"items": rows, "outputs": collected}, units=max(rows, 1))

    def _session(self, sha256: str, context: JobContext) -> ort.InferenceSession:
        with self._lock:
            if sha256 in self._sessions:
                self._sessions.move_to_end(sha256)
                return self._sessions[sha256]
        model = context.fetch_blob(sha256)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types for bad models
            raise InvalidPayloadError(f"blob {sha256} is not a loadable ONNX model: {exc}") from exc
        with self._lock:
            self._sessions[sha256] = session
            while len(self._sessions) > _SESSIONS:
                self._sessions.popitem(last=False)
        return session


def _feeds(
    session: ort.InferenceSession, inputs: Mapping[str, list[Any]]
) -> tuple[dict[str, Any], int]:
    """Input arrays checked against the model's names, element types and shapes."""
    declared = {arg.name: arg for arg in session.get_inputs()}
    if set(inputs) != set(declared):
        raise InvalidPayloadError(
            f"invalid payload: inputs must be exactly {sorted(declared)}, got {sorted(inputs)}"
        )
    feeds: dict[str, Any] = {}
    rows: set[int] = set()
    for name, arg in declared.items():
        dtype = DTYPES.get(arg.type)
        if dtype is None:
            raise InvalidPayloadError(f"input {name!r} has unsupported type {arg.type}")
        try:
            array = np.asarray(inputs[name], dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise InvalidPayloadError(
                f"invalid payload: inputs.{name} is not a rectangular {arg.type} tensor: {exc}"
            ) from exc
        _check_shape(name, array.shape, arg.shape)
        feeds[name] = array
        rows.add(int(array.shape[0]))
    if len(rows) != 1:
        raise InvalidPayloadError(
            f"invalid payload: inputs have different row counts {sorted(rows)}"
        )
    count = rows.pop()
    if count > MAX_ROWS:
        raise InvalidPayloadError(f"invalid payload: at most {MAX_ROWS} rows per job")
    return feeds, count


def _check_shape(name: str, got: tuple[int, ...], declared: list[Any]) -> None:
    fixed = [dim if isinstance(dim, int) else None for dim in declared]
    ok = len(got) == len(fixed) and all(
        want is None or want == have for want, have in zip(fixed, got, strict=True)
    )
    if not ok or not got:
        shape = ["N" if dim is None else dim for dim in fixed]
        raise InvalidPayloadError(
            f"invalid payload: inputs.{name} has shape {list(got)}, the model expects {shape}"
        )


def _plain(value: Any) -> Any:
    """A numpy value as plain JSON (lists, ints, floats)."""
    return value.tolist() if hasattr(value, "tolist") else value
