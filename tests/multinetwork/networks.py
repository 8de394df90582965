"""Three networks for the multi-network tests: chain ids, funds and client configs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sdk.nodekit import Parties

#: name → (chain id, faucet amount): different funds make balances tell nodes apart.
CHAINS: dict[str, tuple[int, int]] = {
    "ethereum": (1, 1_000),
    "polygon": (137, 2_000),
    "arbitrum": (42161, 3_000),
}


@dataclass
class Net:
    name: str
    chain_id: int
    funds: int
    node: Any  # aitbc.node.embedded.EmbeddedNode
    parties: Parties

    def config(self, **extra: Any) -> dict[str, Any]:
        """This network's entry for ``{"networks": {...}}`` (HTTP, the client's key)."""
        return {
            "type": "http",
            "chain_id": self.chain_id,
            "base_url": self.node.url,
            "default_headers": {"X-API-Key": self.parties.client_key},
            "max_retries": 0,
            **extra,
        }


def networks_config(nets: dict[str, Net], default: str = "ethereum") -> dict[str, Any]:
    """The ``multi_network=True`` config for every started network."""
    return {"networks": {name: net.config(default=(name == default)) for name, net in nets.items()}}
