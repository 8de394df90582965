"""``aitbc demo`` through the installed command line: a full run passes every check and
fits on one screen; Ctrl-C mid-run exits 130 and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

AITBC = str(Path(sys.executable).with_name("aitbc"))
SCREEN_LINES = 45


def installed_ai_runtimes() -> int:
    """How many of the demo's AI phases can run here (each adds two checks)."""
    from aitbc.demo.digits import digits_available
    from aitbc.demo.tiny_llm import llama_available

    return int(digits_available()) + int(llama_available())


def _demo(tmp_path: Path) -> subprocess.Popen[str]:
    # TMPDIR marks everything the demo creates: files under it, and processes by their env.
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "100"}
    return subprocess.Popen(
        [AITBC, "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        # Whoever started pytest may ignore SIGINT; the demo must see it as a user would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _processes_with_env(marker: bytes) -> list[int]:
    """Pids whose environment contains ``marker`` (what the demo might have left)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def test_demo_runs_the_whole_story_and_balances_the_books(tmp_path: Path) -> None:
    proc = _demo(tmp_path)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    # 11, plus 2 per AI runtime installed (onnx, chat: aitbc.demo.ai)
    assert f"all {11 + 2 * installed_ai_runtimes()} checks passed" in out, out
    assert "liquidity provider repaid exactly the payouts" in out
    assert "✗" not in out
    lines = out.splitlines()
    assert len(lines) <= SCREEN_LINES, out
    job_rows = [line for line in lines if line.lstrip().startswith("job_")]
    assert len(job_rows) == 6, out
    assert sum(" HTTP " in row for row in job_rows) == 3
    assert sum(" WS " in row for row in job_rows) == 3
    assert all("COMPLETED" in row and "✓ verified" in row for row in job_rows), out
    settled = [line for line in lines if line.lstrip().startswith(("layerzero", "ccip"))]
    assert len(settled) == 4 and all("completed" in row for row in settled), out
    assert "2 layerzero, 2 ccip" in out
    total = next(line for line in lines if "total" in line and "node" in line)
    assert total.split()[-1] == "+0", total
    assert not list(tmp_path.iterdir())  # SQLite, the settlement store: all removed


def test_demo_interrupted_exits_130_and_leaves_nothing_behind(tmp_path: Path) -> None:
    proc = _demo(tmp_path)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # phase lines arrive as the run goes
        seen.append(line)
        if "jobs submitted" in line:
            break
    assert any("jobs submitted" in line for line in seen), "".join(seen)
    assert list(tmp_path.iterdir())  # mid-run: its temporary files exist
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    out = "".join(seen) + rest
    assert proc.returncode == 130, out
    assert "interrupted" in rest and "Traceback" not in out
    assert not list(tmp_path.iterdir())
    assert _processes_with_env(f"TMPDIR={tmp_path}".encode()) == []
