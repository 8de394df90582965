"""The devnet config file: everything an SDK process needs to reach a running devnet.

Format (JSON, version 1)::

    {
      "version": 1,
      "backend": "pyevm",
      "keys": {"deployer": "0x..", "relayer": "0x..", "payer": "0x..", "user": "0x.."},
      "chains": [
        {"chain_id": 1, "rpc_url": "http://127.0.0.1:40001/", "lz_eid": 30101,
         "ccip_selector": 5009297550715157269,
         "contracts": {"lz_endpoint": "0x..", "ccip_router": "0x..",
                       "source": "0x..", "destination": "0x.."}}
      ]
    }

``bridge_config()`` turns it into the config dict the ``layerzero`` / ``ccip`` adapters take.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aitbc.errors import ConfigurationError

CONFIG_VERSION = 1

# The well-known anvil / hardhat development keys ("test test ... junk" mnemonic), so the
# py-evm and anvil backends fund the same accounts.
DEV_KEYS: dict[str, str] = {
    "deployer": "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "relayer": "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "payer": "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "user": "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
}


@dataclass(frozen=True)
class ChainContracts:
    """Addresses of the contracts deployed on one devnet chain."""

    lz_endpoint: str
    ccip_router: str
    source: str
    destination: str


@dataclass(frozen=True)
class ChainInfo:
    """One devnet chain: ids, where to reach it and what is deployed on it."""

    chain_id: int
    rpc_url: str
    lz_eid: int
    ccip_selector: int
    contracts: ChainContracts


@dataclass(frozen=True)
class DevnetConfig:
    """A running devnet, as written to (and read from) the config file."""

    backend: str
    chains: list[ChainInfo]
    keys: dict[str, str] = field(default_factory=lambda: dict(DEV_KEYS))

    def chain(self, chain_id: int) -> ChainInfo:
        """The chain with ``chain_id``; raises ConfigurationError if the devnet has none."""
        for info in self.chains:
            if info.chain_id == chain_id:
                return info
        raise ConfigurationError(f"the devnet has no chain {chain_id}")

    def to_json(self) -> str:
        """The config file's text."""
        return json.dumps({"version": CONFIG_VERSION, **asdict(self)}, indent=2) + "\n"

    def write(self, path: str | Path) -> None:
        """Write the config file (parents created)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json())

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DevnetConfig:
        """Parse a config dict; raises ConfigurationError when it is malformed."""
        if raw.get("version") != CONFIG_VERSION:
            raise ConfigurationError(f"unsupported devnet config version {raw.get('version')!r}")
        try:
            chains = [
                ChainInfo(
                    chain_id=int(c["chain_id"]),
                    rpc_url=str(c["rpc_url"]),
                    lz_eid=int(c["lz_eid"]),
                    ccip_selector=int(c["ccip_selector"]),
                    contracts=ChainContracts(**c["contracts"]),
                )
                for c in raw["chains"]
            ]
            return cls(str(raw["backend"]), chains, dict(raw["keys"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"malformed devnet config: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> DevnetConfig:
        """Read a config file written by ``aitbc devnet``."""
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read devnet config {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigurationError(f"devnet config {path} is not a JSON object")
        return cls.from_dict(raw)

    def bridge_config(self, key: str = "payer", **overrides: Any) -> dict[str, Any]:
        """The config dict for the ``layerzero`` and ``ccip`` adapters, signing with ``key``.

        ``key`` names one of ``keys`` (or is a 0x private key); ``overrides`` are merged in
        (e.g. ``refund_timeout_s=5``).
        """
        private_key = self.keys.get(key, key)
        chains = {
            str(c.chain_id): {
                "rpc_url": c.rpc_url,
                "lz_eid": c.lz_eid,
                "ccip_selector": c.ccip_selector,
                **asdict(c.contracts),
            }
            for c in self.chains
        }
        # The deployer is the OApps' LayerZero delegate: it may skip a blocking nonce.
        delegate = self.keys.get("deployer")
        return {"private_key": private_key, "delegate_key": delegate, "chains": chains, **overrides}
