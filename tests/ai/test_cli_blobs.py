"""``aitbc blobs upload|download`` against a real node."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aitbc.core.blobs import sha256_hex

from .conftest import World
from .helpers import run_cli


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AITBC_") and not name.startswith("AITBC_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


async def test_upload_then_download_to_a_file_and_stdout(world: World, tmp_path: Path) -> None:
    flags = ["--node", world.node.url, "--api-key", world.alice.key]
    source = tmp_path / "input.bin"
    source.write_bytes(os.urandom(300_000))
    sha = sha256_hex(source.read_bytes())
    up = await run_cli("blobs", "upload", str(source), "--json", *flags)
    assert up.exit_code == 0, up.stderr
    assert f'"sha256": "{sha}"' in up.stdout or f'"sha256":"{sha}"' in up.stdout
    target = tmp_path / "copy.bin"
    down = await run_cli("blobs", "download", sha, "-o", str(target), *flags)
    assert down.exit_code == 0, down.stderr
    assert target.read_bytes() == source.read_bytes()
    raw = await run_cli("blobs", "download", sha, *flags)
    assert raw.stdout_bytes == source.read_bytes()


async def test_unreadable_blob_is_a_not_found_exit(world: World) -> None:
    blob = await world.alice.client.blobs.upload(b"alice only")
    flags = ["--node", world.node.url, "--api-key", world.carol.key]
    ran = await run_cli("blobs", "download", blob.sha256, *flags)
    assert ran.exit_code == 5
    assert "not found" in ran.stderr
