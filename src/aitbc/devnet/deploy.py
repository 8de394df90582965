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
) -> ChainContracts:
    """Deploy endpoint, router, source and destination on one chain and fund the
    destination pool. The deployer is the OApps' LayerZero delegate and the pool's
    liquidity provider (escrows of paid settlements are released to it)."""
    sender = TxSender(w3, deployer_key, chain_id)
    endpoint = await deploy_contract(sender, "MockLayerZeroEndpoint", eid, relayer, *LZ_FEES)
    router = await deploy_contract(sender, "MockCCIPRouter", selector, *CCIP_FEES)
    operator = sender.address
    source = await deploy_contract(sender, "AitbcSettlementSource", endpoint, router, operator)
    destination = await deploy_contract(
        sender, "AitbcSettlementDestination", endpoint, router, operator, operator
    )
    await sender.transfer(destination, DESTINATION_POOL_WEI, action="fund destination pool")
    return ChainContracts(endpoint, router, source, destination)


def _contract(sender: TxSender, name: str, address: str) -> Any:
    return sender.w3.eth.contract(address=address, abi=load_artifact(name).abi)  # type: ignore[call-overload]


async def wire_peers(
    chains: Sequence[ChainInfo], web3s: dict[int, Web3Client], deployer_key: str, relayer: str
) -> None:
    """Make every pair of chains peers both ways: each destination accepts orders from the
    other chains' sources, each source accepts reports from the destinations it sends to,
    and each router has an OffRamp (transmitter: the relayer) per source chain."""
    for here in chains:
        sender = TxSender(web3s[here.chain_id], deployer_key, here.chain_id)
        source = _contract(sender, "AitbcSettlementSource", here.contracts.source)
        destination = _contract(sender, "AitbcSettlementDestination", here.contracts.destination)
        router = _contract(sender, "MockCCIPRouter", here.contracts.ccip_router)
        for other in chains:
            if other.chain_id == here.chain_id:
                continue
            for app, peer in (
                (destination, other.contracts.source),
                (source, other.contracts.destination),
            ):
                await sender.transact(
                    "setLzPeer",
                    app.functions.setLzPeer(other.lz_eid, bytes(12) + bytes.fromhex(peer[2:])),
                )
                await sender.transact(
                    "setCcipPeer", app.functions.setCcipPeer(other.ccip_selector, peer)
                )
            off_ramp = await deploy_contract(
                sender,
                "MockCCIPOffRamp",
                other.ccip_selector,
                here.ccip_selector,
                other.contracts.ccip_router,
                here.contracts.ccip_router,
                relayer,
            )
            await sender.transact(
                "setOffRamp", router.functions.setOffRamp(other.ccip_selector, off_ramp)
            )
