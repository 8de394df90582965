"""The demo's AI phase on a real node: its checks pass with the runtimes installed here,
and without any it reports why and adds no check (the demo still passes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aitbc.demo import ai
from aitbc.demo.checks import Checks
from aitbc.demo.digits import digits_available
from aitbc.demo.tiny_llm import llama_available


@pytest.mark.skipif(not digits_available(), reason="needs aitbc[onnx], scikit-learn, skl2onnx")
async def test_ai_phase_checks_pass_with_the_installed_runtimes(node: Any, tmp_path: Path) -> None:
    checks = Checks()
    line = await ai.run_ai_phase(node, checks, 120.0, tmp_path)
    names = [name for name, _, _ in checks.rows]
    assert checks.passed, checks.failure_reason()
    assert "onnx: per-item stream = local run" in names
    assert f"onnx: {ai.ROWS} digits classified" in line
    assert ("chat: streamed tokens = the answer" in names) == llama_available()


async def test_ai_phase_without_runtimes_adds_no_check(
    node: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ai, "digits_available", lambda: False)
    monkeypatch.setattr(ai, "llama_available", lambda: False)
    checks = Checks()
    line = await ai.run_ai_phase(node, checks, 10.0, tmp_path)
    assert checks.rows == []
    assert line.startswith("AI jobs skipped: install aitbc[onnx]")
