"""``aitbc demo`` through the real CLI: exits 0 with every check passed; Ctrl-C stops it
and leaves no temporary files behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

AITBC = str(Path(sys.executable).parent / "aitbc")


def _demo(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "120"}
    return subprocess.Popen(
        [AITBC, "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        # Whoever started pytest may ignore SIGINT; the demo must see it as a user would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_demo_runs_a_job_and_verifies_its_receipt(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "--job-type", "matmul")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "all checks passed" in out
    for check in ("signatures verify against /v1/info keys", "client charged exactly once"):
        assert check in out
    assert "receipt_id" in out and "rcpt_" in out
    assert not list(tmp_path.iterdir())  # the node's SQLite directory is gone


def test_demo_interrupted_cleans_up_and_exits_130(tmp_path: Path) -> None:
    long_job = '{"data": "x", "rounds": 5000000}'
    proc = _demo(tmp_path, "--job-type", "sha256", "--payload", long_job)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "client created" in line or not line:
            break
    assert any("client created" in line for line in seen), "".join(seen)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest
    assert not list(tmp_path.iterdir())
