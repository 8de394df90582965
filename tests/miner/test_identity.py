"""The miner key file: created once, reused across restarts, never silently replaced."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from aitbc.core.signing import SigningKey
from aitbc.errors import ConfigurationError
from aitbc.miner.identity import load_or_create_key, read_key


def test_key_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "miner.json"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path).verify_key == first.verify_key
    doc = json.loads(path.read_text())
    assert doc["public_key"] == first.verify_key.b64
    assert doc["key_id"] == first.key_id
    assert not list(path.parent.glob(".*tmp"))  # no temp file left behind


def test_no_path_gives_fresh_keys() -> None:
    assert load_or_create_key(None).key_id != load_or_create_key(None).key_id


@pytest.mark.parametrize(
    "content",
    ["", "not json", "[]", json.dumps({"alg": "rsa", "seed": "x"}), json.dumps({"alg": "ed25519"})],
)
def test_corrupt_key_file_is_an_error_and_kept(tmp_path: Path, content: str) -> None:
    path = tmp_path / "miner.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError):
        load_or_create_key(path)
    assert path.read_text() == content


def test_public_key_must_match_seed(tmp_path: Path) -> None:
    path = tmp_path / "miner.json"
    doc = {
        "alg": "ed25519",
        "seed": SigningKey.generate().seed_b64,
        "public_key": SigningKey.generate().verify_key.b64,
    }
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigurationError, match="does not match"):
        read_key(path)


def test_unwritable_location_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="cannot create"):
        load_or_create_key(blocker / "miner.json")
