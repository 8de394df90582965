"""A small ONNX classifier built on the spot: a scaler + logistic regression trained on
scikit-learn's bundled digits (8x8 images, 64 features), converted with skl2onnx. For the
demo and the tests (needs scikit-learn, skl2onnx and onnxruntime; none is a runtime
dependency of aitbc)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

NEEDS = ("numpy", "onnxruntime", "skl2onnx", "sklearn")


def digits_available() -> bool:
    """True when the model can be built and run here."""
    return all(importlib.util.find_spec(name) is not None for name in NEEDS)


@dataclass(frozen=True)
class DigitsModel:
    """The model as ONNX bytes, and held-out rows (float32 [n, 64]) with their labels."""

    onnx: bytes
    features: Any
    labels: Any

    def run_locally(self, rows: Any) -> dict[str, Any]:
        """ONNX Runtime's outputs for ``rows`` in this process (the reference)."""
        import onnxruntime as ort

        session = ort.InferenceSession(self.onnx, providers=["CPUExecutionProvider"])
        names = [out.name for out in session.get_outputs()]
        return dict(zip(names, session.run(names, {"input": rows}), strict=True))


def build_digits_model() -> DigitsModel:
    """Train on the first 1500 digits and convert (about a second)."""
    import numpy as np
    import skl2onnx
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
