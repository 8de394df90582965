"""The demo's own checks can fail: the ledger and on-chain checks catch a unit missing,
and the batch covers every job type on both transports (no stack needed)."""

from __future__ import annotations

from aitbc.demo.checks import BalanceRow, Checks
from aitbc.demo.jobs import JobRecord
from aitbc.demo.plan import PRICES, expected_result, plan_jobs
from aitbc.demo.run import LIQUIDITY_PROVIDER, check_chain, check_ledger
from aitbc.demo.settle import SettlementRecord, plan_settlements


def _ledger(miner_b_after: int) -> list[BalanceRow]:
    return [
        BalanceRow("node", "alice", 10_000, 6_000),
        BalanceRow("node", "miner-a", 0, 1_000),
        BalanceRow("node", "miner-b", 0, miner_b_after),
        BalanceRow("node", "total", 10_000, 7_000 + miner_b_after),
    ]


def test_ledger_checks_pass_only_when_the_books_balance_to_the_unit() -> None:
    good, bad = Checks(), Checks()
    check_ledger(good, _ledger(3_000), prices=4_000)
    check_ledger(bad, _ledger(2_999), prices=4_000)
    assert good.passed
    assert not bad.passed
    reason = bad.failure_reason()
    assert "client spent = miners earned" in reason and "node total unchanged" in reason


def _settled(address: str, bridge: str, amount: int) -> SettlementRecord:
    job = JobRecord(plan_jobs(1)[0], job_id="job_x", state="COMPLETED", miner_id="m")
    return SettlementRecord(job, bridge, address, amount, "0xmsg", "completed")


def test_chain_check_fails_when_a_recipient_got_less_than_settled() -> None:
    a, b = "0x" + "aa" * 20, "0x" + "bb" * 20
    settlements = [_settled(a, "layerzero", 3_000), _settled(b, "ccip", 1_000)]
    lp = BalanceRow("chain 1", LIQUIDITY_PROVIDER, 10, 4_010, "0x" + "1f" * 20)
    paid = [BalanceRow("chain", "a", 0, 3_000, a), BalanceRow("chain", "b", 5, 1_005, b), lp]
    short = [BalanceRow("chain", "a", 0, 3_000, a), BalanceRow("chain", "b", 0, 999, b), lp]
    ok, missing = Checks(), Checks()
    check_chain(ok, settlements, paid)
    check_chain(missing, settlements, short)
    assert ok.passed
    assert missing.failure_reason() == "recipients got exactly the settled amounts"


def test_chain_check_fails_when_the_liquidity_provider_was_not_repaid_exactly() -> None:
    a = "0x" + "aa" * 20
    settlements = [_settled(a, "layerzero", 3_000), _settled(a, "ccip", 1_000)]
    for repaid in (3_000, 4_001):
        rows = [
            BalanceRow("chain", "a", 0, 4_000, a),
            BalanceRow("chain 1", LIQUIDITY_PROVIDER, 0, repaid, "0x" + "1f" * 20),
        ]
        checks = Checks()
        check_chain(checks, settlements, rows)
        assert checks.failure_reason() == (
            f"liquidity provider repaid exactly the payouts ({repaid:,} wei)"
        )


def test_the_batch_covers_every_type_on_both_transports_and_settles_on_both_bridges() -> None:
    jobs = plan_jobs(6)
    assert {(j.job_type, j.transport) for j in jobs} == {
        (t, via) for t in PRICES for via in ("http", "ws")
    }
    records = [JobRecord(j, f"job_{j.index}", "COMPLETED", miner_id="m1") for j in jobs]
    records[0].state = "FAILED"  # never settled
    plan = plan_settlements(records, 2, {"m1": "0x" + "cc" * 20})
    assert [s.bridge for s in plan] == ["layerzero", "ccip", "layerzero", "ccip"]
    assert records[0] not in [s.job for s in plan]
    assert all(s.amount == s.job.plan.price for s in plan)
    assert expected_result("echo", {"m": 1}) == {"echo": {"m": 1}}
