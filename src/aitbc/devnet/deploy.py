"""Deploy and wire the settlement contracts on devnet chains."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils.crypto import keccak

from aitbc.contracts import load_artifact
from aitbc.settlement.bridges._evm import TxSender, Web3Client
from aitbc.settlement.chains import KNOWN_CHAINS

from .config import ChainContracts, ChainInfo

# Fee schedule of the mock endpoint/router: base + gas * price + bytes * per-byte (wei).
LZ_FEES = (10**13, 10**9, 10**10)
CCIP_FEES = (2 * 10**13, 10**9, 10**10)
MAX_TIMEOUT_S = 7 * 24 * 3600
DESTINATION_POOL_WEI = 10_000 * 10**18
DEVNET_EID_BASE = 50_000


def bridge_ids(chain_id: int, index: int) -> tuple[int, int]:
    """(LayerZero eid, CCIP selector) for a devnet chain: the public numbers for a chain
    id the registry knows, else a devnet eid and a selector derived from the chain id."""
    for entry in KNOWN_CHAINS:
        if entry.chain_id == chain_id and entry.lz_eid and entry.ccip_selector:
            return entry.lz_eid, entry.ccip_selector
    selector = int.from_bytes(keccak(text=f"aitbc-devnet:{chain_id}")[:8], "big")
    return DEVNET_EID_BASE + index + 1, selector


async def deploy_contract(sender: TxSender, name: str, *args: Any) -> str:
    """Deploy artifact ``name`` with constructor ``args``; returns its address."""
    artifact = load_artifact(name)
    factory = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    outcome = await sender.transact(f"deploy {name}", factory.constructor(*args), abi=artifact.abi)
    receipt = await sender.w3.eth.get_transaction_receipt(outcome.tx_hash)  # type: ignore[arg-type]
    return str(receipt["contractAddress"])


async def deploy_chain(
    w3: Web3Client,
    deployer_key: str,
    relayer: str,
    chain_id: int,
    eid: int,
    selector: int,
    ack_grace_s: int,
) -> ChainContracts:
    """Deploy endpoint, router, source and destination on one chain; fund the destination pool."""
    sender = TxSender(w3, deployer_key, chain_id)
    endpoint = await deploy_contract(sender, "MockLayerZeroEndpoint", eid, relayer, *LZ_FEES)
    router = await deploy_contract(sender, "MockCCIPRouter", selector, relayer, *CCIP_FEES)
    source = await deploy_contract(
        sender, "AitbcSettlementSource", endpoint, router, relayer, MAX_TIMEOUT_S, ack_grace_s
    )
    destination = await deploy_contract(sender, "AitbcSettlementDestination", endpoint, router)
    await sender.transfer(destination, DESTINATION_POOL_WEI, action="fund destination pool")
    return ChainContracts(endpoint, router, source, destination)


async def wire_peers(
    chains: Sequence[ChainInfo], web3s: dict[int, Web3Client], deployer_key: str
) -> None:
    """Let every chain's destination accept messages from every other chain's source."""
    dest_abi = load_artifact("AitbcSettlementDestination").abi
    for dst in chains:
        sender = TxSender(web3s[dst.chain_id], deployer_key, dst.chain_id)
        contract = sender.w3.eth.contract(address=dst.contracts.destination, abi=dest_abi)  # type: ignore[call-overload]
        for src in chains:
            if src.chain_id == dst.chain_id:
                continue
            peer = bytes(12) + bytes.fromhex(src.contracts.source[2:])
            await sender.transact("setLzPeer", contract.functions.setLzPeer(src.lz_eid, peer))
            await sender.transact(
                "setCcipPeer",
                contract.functions.setCcipPeer(src.ccip_selector, src.contracts.source),
            )
