"""``aitbc demo --keep``: after its checks the stack stays up, the dashboard's URL and a
ready key are printed, the dashboard answers with real data; Ctrl-C stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from .test_demo import AITBC, _processes_with_env, installed_ai_runtimes


def test_demo_keep_serves_the_dashboard_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "100"}
    proc = subprocess.Popen(
        [AITBC, "demo", "--keep", "--jobs", "2", "--settle-per-bridge", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:  # blocks until the demo prints; it never exits on its own
            seen.append(line)
            if "Ctrl-C stops everything" in line:
                break
        out = "".join(seen)
        assert re.search(r"all \d+ checks passed", out), out
        url = next(ln.split()[-1] for ln in seen if ln.startswith("dashboard:"))
        client_key = next(ln.split()[-1] for ln in seen if "client key (alice):" in ln)
        admin_key = next(ln.split()[-1] for ln in seen if "admin key:" in ln)
        assert client_key not in url and admin_key not in url
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "/dashboard/app.js" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        me = httpx.get(url + "v1/me", headers={"X-API-Key": client_key}, timeout=10).json()
        assert (me["name"], me["role"]) == ("alice", "client")
        jobs = httpx.get(url + "v1/jobs", headers={"X-API-Key": admin_key}, timeout=10).json()
        # the two jobs this test asks for, plus one per AI runtime the demo's AI phase ran
        expected = ["COMPLETED"] * (2 + installed_ai_runtimes())
        assert [j["state"] for j in jobs["items"]] == expected
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest and "Traceback" not in rest
    with pytest.raises(httpx.TransportError):  # the node is gone with the rest
        httpx.get(url, timeout=5)
    assert not list(tmp_path.iterdir())
    assert _processes_with_env(f"TMPDIR={tmp_path}".encode()) == []
