"""Named pass/fail checks and the balance sheet the demo proves to the unit."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Checks:
    """Named pass/fail results, in the order they were made."""

    rows: list[tuple[str, bool, str]] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        """Record a check; returns ``ok``."""
        self.rows.append((name, ok, detail))
        return ok

    @property
    def passed(self) -> bool:
        """True when at least one check was made and none failed."""
        return bool(self.rows) and all(ok for _, ok, _ in self.rows)

    def failure_reason(self) -> str:
        """One line naming the failed checks (empty when all passed)."""
        failed = [
            f"{name}{f' ({detail})' if detail else ''}" for name, ok, detail in self.rows if not ok
        ]
        if not failed and not self.rows:
            return "no checks were made"
        return "; ".join(failed)


@dataclass(frozen=True)
class BalanceRow:
    """One account before and after the run (base units on the node, wei on a chain)."""

    ledger: str
    account: str
    before: int
    after: int
    address: str = ""  # the on-chain address, for chain rows

    @property
    def change(self) -> int:
        """``after - before``."""
        return self.after - self.before
