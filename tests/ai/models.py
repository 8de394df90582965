"""Models the AI tests build at test time (nothing is downloaded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class DigitsModel:
    """A scaler + logistic regression over sklearn's bundled digits, as ONNX bytes."""

    onnx: bytes
    features: Any  # float32 [n, 64]
    labels: Any  # int [n]

    def run_locally(self, rows: Any) -> dict[str, Any]:
        """Outputs of ONNX Runtime on ``rows`` in this process (the reference)."""
        ort = pytest.importorskip("onnxruntime")
        session = ort.InferenceSession(self.onnx, providers=["CPUExecutionProvider"])
        names = [out.name for out in session.get_outputs()]
        return dict(zip(names, session.run(names, {"input": rows}), strict=True))


def build_digits_model() -> DigitsModel:
    np = pytest.importorskip("numpy")
    pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    digits = load_digits()
    features = digits.data.astype(np.float32)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    pipeline.fit(features[:1500], digits.target[:1500])
    model = skl2onnx.to_onnx(
        pipeline,
        initial_types=[("input", FloatTensorType([None, 64]))],
        options={LogisticRegression: {"zipmap": False}},
        target_opset=17,
    )
    return DigitsModel(model.SerializeToString(), features[1500:], digits.target[1500:])
