"""Which EVM chain is which to each bridge.

LayerZero V2 names chains by endpoint id (eid) and Chainlink CCIP by chain selector; both
differ from the EVM chain id. ``ChainRegistry`` maps between the three. It ships with the
public mainnet (and main testnet) numbers; a devnet adds its own entries from its config.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from aitbc.errors import ConfigurationError, UnsupportedChainError

__all__ = ["KNOWN_CHAINS", "ChainEntry", "ChainRegistry", "default_registry"]


@dataclass(frozen=True)
class ChainEntry:
    """One chain's ids: EVM chain id, LayerZero V2 eid, CCIP selector (0/None: not served)."""

    chain_id: int
    name: str
    lz_eid: int | None = None
    ccip_selector: int | None = None


# From LayerZero's V2 deployed-contracts list and Chainlink's CCIP directory.
KNOWN_CHAINS: tuple[ChainEntry, ...] = (
    ChainEntry(1, "ethereum", 30101, 5009297550715157269),
    ChainEntry(10, "optimism", 30111, 3734403246176062136),
    ChainEntry(56, "bnb", 30102, 11344663589394136015),
    ChainEntry(137, "polygon", 30109, 4051577828743386545),
    ChainEntry(8453, "base", 30184, 15971525489660198786),
    ChainEntry(42161, "arbitrum", 30110, 4949039107694359620),
    ChainEntry(43114, "avalanche", 30106, 6433500567565415381),
    ChainEntry(11155111, "sepolia", 40161, 16015286601757825753),
    ChainEntry(421614, "arbitrum-sepolia", 40231, 3478487238524512106),
)


class ChainRegistry:
    """EVM chain id ↔ LayerZero eid ↔ CCIP selector; unknown chains raise UnsupportedChainError."""

    def __init__(self, entries: Iterable[ChainEntry] = KNOWN_CHAINS) -> None:
        self._by_chain: dict[int, ChainEntry] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: ChainEntry) -> None:
        """Add or replace ``entry``; raises ConfigurationError if its eid or selector is
        already used by another chain (two chains must never share a bridge id)."""
        for other in self._by_chain.values():
            if other.chain_id == entry.chain_id:
                continue
            if entry.lz_eid is not None and other.lz_eid == entry.lz_eid:
                raise ConfigurationError(
                    f"LayerZero eid {entry.lz_eid} already used by chain {other.chain_id}"
                )
            if entry.ccip_selector is not None and other.ccip_selector == entry.ccip_selector:
                raise ConfigurationError(
                    f"CCIP selector {entry.ccip_selector} already used by chain {other.chain_id}"
                )
        self._by_chain[entry.chain_id] = entry

    def __iter__(self) -> Iterator[ChainEntry]:
        return iter(self._by_chain.values())

    def __contains__(self, chain_id: object) -> bool:
        return chain_id in self._by_chain

    def get(self, chain_id: int) -> ChainEntry:
        """The entry for ``chain_id``; raises UnsupportedChainError if unknown."""
        try:
            return self._by_chain[chain_id]
        except KeyError:
            raise UnsupportedChainError(f"chain {chain_id} is not in the chain registry") from None

    def lz_eid(self, chain_id: int) -> int:
        """LayerZero V2 endpoint id of ``chain_id``; raises UnsupportedChainError."""
        eid = self.get(chain_id).lz_eid
        if eid is None:
            raise UnsupportedChainError(f"chain {chain_id} has no LayerZero endpoint id")
        return eid

    def ccip_selector(self, chain_id: int) -> int:
        """CCIP chain selector of ``chain_id``; raises UnsupportedChainError."""
        selector = self.get(chain_id).ccip_selector
        if selector is None:
            raise UnsupportedChainError(f"chain {chain_id} has no CCIP chain selector")
        return selector

    def chain_for_eid(self, eid: int) -> int:
        """The EVM chain id whose LayerZero eid is ``eid``; raises UnsupportedChainError."""
        for entry in self._by_chain.values():
            if entry.lz_eid == eid:
                return entry.chain_id
        raise UnsupportedChainError(f"no chain with LayerZero eid {eid}")

    def chain_for_selector(self, selector: int) -> int:
        """The EVM chain id whose CCIP selector is ``selector``; raises UnsupportedChainError."""
        for entry in self._by_chain.values():
            if entry.ccip_selector == selector:
                return entry.chain_id
        raise UnsupportedChainError(f"no chain with CCIP selector {selector}")


def default_registry() -> ChainRegistry:
    """A fresh registry holding the public chains (callers may register devnet chains)."""
    return ChainRegistry(KNOWN_CHAINS)
