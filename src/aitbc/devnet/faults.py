"""Fault injection rules for the devnet relayer.

A rule matches messages by bridge and/or message id and applies ``times`` times (``None``:
to every match). Actions:

- ``drop``: never deliver (the source escrow then becomes refundable after its timeout);
- ``delay``: deliver ``delay_s`` seconds late;
- ``duplicate``: deliver twice (the second delivery must revert on chain);
- ``reorder``: hold the message back until the next message to the same chain has been
  delivered (or ``delay_s`` passes), so a later message overtakes it;
- ``under_gas``: execute with ``gas_limit`` gas instead of what the message asked for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from aitbc.errors import ConfigurationError

ACTIONS = frozenset({"drop", "delay", "duplicate", "reorder", "under_gas"})
BRIDGES = frozenset({"layerzero", "ccip"})


@dataclass
class FaultRule:
    """One fault to inject; see the module docstring for the actions."""

    action: str
    bridge: str | None = None
    message_id: str | None = None
    times: int | None = 1
    delay_s: float = 1.0
    gas_limit: int = 5_000

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ConfigurationError(
                f"unknown fault action {self.action!r}; use one of {sorted(ACTIONS)}"
            )
        if self.bridge is not None and self.bridge not in BRIDGES:
            raise ConfigurationError(
                f"unknown bridge {self.bridge!r}; use one of {sorted(BRIDGES)}"
            )
        if self.times is not None and self.times < 1:
            raise ConfigurationError("times must be >= 1 (or None for every match)")
        if self.message_id is not None:
            self.message_id = self.message_id.lower()

    def matches(self, bridge: str, message_id: str) -> bool:
        """True when this rule applies to ``message_id`` sent over ``bridge``."""
        if self.bridge is not None and self.bridge != bridge:
            return False
        return self.message_id is None or self.message_id == message_id.lower()


@dataclass
class FaultPlan:
    """The rules in force; thread-safe, since tests add rules from another thread."""

    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, rule: FaultRule) -> None:
        """Add ``rule`` (checked in the order added)."""
        with self._lock:
            self.rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.rules.clear()

    def take(self, bridge: str, message_id: str) -> list[FaultRule]:
        """The rules applying to this message, consuming one use of each."""
        taken: list[FaultRule] = []
        with self._lock:
            for rule in list(self.rules):
                if not rule.matches(bridge, message_id):
                    continue
                taken.append(rule)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self.rules.remove(rule)
        return taken
