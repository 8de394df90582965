"""The miner's Ed25519 identity, persisted so a restarted miner keeps its key.

The key file is JSON ``{"alg": "ed25519", "seed": ..., "public_key": ..., "key_id": ...}``
(base64url, no padding), readable by its owner only. An unreadable or corrupt file is an
error, never silently replaced: replacing it would change the identity receipts name.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from ..core.signing import ALG, SigningKey
from ..errors import ConfigurationError


def load_or_create_key(path: Path | None) -> SigningKey:
    """The key stored at ``path``, created there first if the file does not exist.

    ``None`` gives a fresh key that lives only as long as the process. Raises
    ConfigurationError when the file exists but does not hold a valid key, or cannot be
    written.
    """
    if path is None:
        return SigningKey.generate()
    if path.exists():
        return read_key(path)
    key = SigningKey.generate()
    try:
        _write_new(path, key)
    except FileExistsError:
        # Another miner created it between our check and our write: use theirs.
        return read_key(path)
    return key


def read_key(path: Path) -> SigningKey:
    """Read a key file; raise ConfigurationError when it is unreadable or invalid."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read miner key file {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("alg") != ALG or not isinstance(doc.get("seed"), str):
        raise ConfigurationError(f"{path} is not an aitbc miner key file")
    key = SigningKey.from_seed_b64(doc["seed"])
    if doc.get("public_key") not in (None, key.verify_key.b64):
        raise ConfigurationError(f"{path}: public_key does not match the seed")
    return key


def _write_new(path: Path, key: SigningKey) -> None:
    doc = {
        "alg": ALG,
        "seed": key.seed_b64,
        "public_key": key.verify_key.b64,
        "key_id": key.key_id,
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # FileExistsError here means a file sits where the dir goes
        raise ConfigurationError(f"cannot create miner key file {path}: {exc}") from exc
    try:
        # 0600 from the start: this is a private key.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle)
            handle.write("\n")
        # link() publishes the complete file atomically and refuses to clobber a key
        # another process published first (FileExistsError, handled by the caller).
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        raise ConfigurationError(f"cannot create miner key file {path}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
