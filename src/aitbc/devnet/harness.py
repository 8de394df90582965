"""The conformance harness for our devnet: runs ``settlement.bridges.conformance`` checks
against an adapter class on a running (Background)Devnet."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from typing import Any

from aitbc.contracts import load_artifact
from aitbc.settlement.bridges._evm import TxSender, guarded, web3_session
from aitbc.settlement.bridges.base import BridgeAdapter, SettlementMessage

from .config import DevnetConfig
from .faults import FaultRule
from .relayer import Relayer

_RECEIPTS = itertools.count(1)
PAYMENT_WEI = 10**15


class DevnetHarness:
    """Steers one devnet for the conformance checks of the adapter ``factory`` builds.

    ``source`` and ``target`` are chain ids of the devnet; ``relayer`` is the devnet's.
    """

    def __init__(
        self,
        config: DevnetConfig,
        relayer: Relayer,
        factory: Callable[[], BridgeAdapter],
        bridge_name: str,
        source: int,
        target: int,
    ) -> None:
        self.config = config
        self.relayer = relayer
        self.bridge_name = bridge_name
        self._factory = factory
        self.source, self.target = source, target
        self._recipients: dict[str, str] = {}

    async def new_adapter(self, **overrides: Any) -> BridgeAdapter:
        """An adapter initialized with the devnet's config (payer key) plus ``overrides``."""
        adapter = self._factory()
        await adapter.initialize(self.config.bridge_config("payer", **overrides))
        return adapter

    async def message(
        self, *, gas_limit: int = 200_000, accepting: bool = True, receipt_hash: str | None = None
    ) -> SettlementMessage:
        """A fresh message paying a newly deployed TestRecipient on the target chain."""
        recipient = await self._deploy_recipient(accepting)
        number = next(_RECEIPTS)
        digest = (
            receipt_hash or "sha256:" + hashlib.sha256(f"{recipient}:{number}".encode()).hexdigest()
        )
        return SettlementMessage(
            source_chain_id=self.source,
            target_chain_id=self.target,
            job_id=f"job-{number}",
            receipt_hash=digest,
            payment_amount=PAYMENT_WEI,
            recipient=recipient,
            gas_limit=gas_limit,
        )

    async def _deploy_recipient(self, accepting: bool) -> str:
        from .deploy import deploy_contract

        async with web3_session(self.config.chain(self.target).rpc_url) as w3:
            sender = TxSender(w3, self.config.keys["user"], self.target)
            return await deploy_contract(sender, "TestRecipient", accepting)

    async def set_accepting(self, message: SettlementMessage, accepting: bool) -> None:
        """Switch the recipient contract of ``message``."""
        abi = load_artifact("TestRecipient").abi
        async with web3_session(self.config.chain(self.target).rpc_url) as w3:
            sender = TxSender(w3, self.config.keys["user"], self.target)
            contract = w3.eth.contract(address=message.recipient, abi=abi)  # type: ignore[call-overload]
            await sender.transact("setAccepting", contract.functions.setAccepting(accepting))

    async def recipient_balance(self, message: SettlementMessage) -> int:
        """Balance of the recipient on the target chain."""
        async with web3_session(self.config.chain(message.target_chain_id).rpc_url) as w3:
            return int(await guarded("eth_getBalance", w3.eth.get_balance(message.recipient)))  # type: ignore[arg-type]

    def inject(self, action: str, message_id: str) -> None:
        """Add a one-shot relayer fault for ``message_id``."""
        self.relayer.add_fault(
            FaultRule(action, bridge=self._relayer_bridge(), message_id=message_id)
        )

    def _relayer_bridge(self) -> str:
        return "ccip" if self.bridge_name in ("ccip", "chainlink") else self.bridge_name

    def rejected_deliveries(self, message_id: str) -> int:
        """Delivery transactions for ``message_id`` mined with status 0."""
        return sum(
            1
            for a in self.relayer.attempts_for(message_id)
            if not a.ok and a.tx_hash and a.step != "ack"
        )

    def executions(self, message_id: str) -> int:
        """Execution attempts the relayer made for ``message_id`` (ok or not)."""
        return sum(1 for a in self.relayer.attempts_for(message_id) if a.step == "execute")

    async def advance_time(self, chain_id: int, seconds: int) -> None:
        """evm_increaseTime + evm_mine on ``chain_id`` (py-evm and anvil both answer them)."""
        async with web3_session(self.config.chain(chain_id).rpc_url) as w3:
            await guarded(
                "evm_increaseTime", w3.provider.make_request("evm_increaseTime", [seconds])
            )
            await guarded("evm_mine", w3.provider.make_request("evm_mine", []))
