"""Ed25519 keys and signatures in the wire encoding (base64url, no padding)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ..errors import ConfigurationError

ALG = "ed25519"


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raise ConfigurationError on junk."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"not base64url: {text[:16]!r}") from exc


def key_id_for(public_key_raw: bytes) -> str:
    """The wire key id: first 16 hex chars of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


@dataclass(frozen=True)
class VerifyKey:
    """A public Ed25519 key as published on the wire."""

    raw: bytes

    @classmethod
    def from_b64(cls, text: str) -> VerifyKey:
        raw = b64url_decode(text)
        if len(raw) != 32:
            raise ConfigurationError("an Ed25519 public key is 32 bytes")
        return cls(raw)

    @property
    def key_id(self) -> str:
        return key_id_for(self.raw)

    @property
    def b64(self) -> str:
        return b64url_encode(self.raw)

    def verify(self, signature_b64: str, message: bytes) -> bool:
        """True when ``signature_b64`` is this key's signature of ``message``."""
        try:
            sig = b64url_decode(signature_b64)
            Ed25519PublicKey.from_public_bytes(self.raw).verify(sig, message)
        except (InvalidSignature, ConfigurationError, ValueError):
            return False
        return True


class SigningKey:
    """A private Ed25519 key: signs, and exports its public half and seed."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.verify_key = VerifyKey(raw)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed_b64(cls, seed_b64: str) -> SigningKey:
        seed = b64url_decode(seed_b64)
        if len(seed) != 32:
            raise ConfigurationError("an Ed25519 seed is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def seed_b64(self) -> str:
        seed = self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return b64url_encode(seed)

    @property
    def key_id(self) -> str:
        return self.verify_key.key_id

    def sign(self, message: bytes) -> dict[str, str]:
        """The wire signature object ``{alg, key_id, sig}`` over ``message``."""
        sig = self._private.sign(message)
        return {"alg": ALG, "key_id": self.key_id, "sig": b64url_encode(sig)}
