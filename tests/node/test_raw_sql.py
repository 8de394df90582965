"""RawStatement: on SQLite's driver it writes and returns exactly what SQLAlchemy's own
execution of the same statement does (JSON, timestamps, RETURNING rows, rowcounts)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, insert, select, update

from aitbc.node.database import create_sqlite_engine
from aitbc.node.models import Base
from aitbc.node.raw_sql import RawStatement
from aitbc.node.tables import ACCOUNTS, EVENTS, JOBS

NOW = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)
INSERT_JOB = insert(JOBS).returning(*JOBS.c)
RAW_INSERT_JOB = RawStatement(INSERT_JOB, [c.key for c in JOBS.c])


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    engine = create_sqlite_engine(f"sqlite+aiosqlite:///{tmp_path / 'raw.sqlite3'}", readonly=False)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _job(job_id: str) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(c.key for c in JOBS.c)
    values.update(
        id=job_id,
        client_id="prn_1",
        job_type="echo",
        payload={"text": "héllo", "n": [1, 2.5, None]},
        input_hash="sha256:00",
        constraints={"models": ["m"], "max_price": "7"},
        min_gpu_memory_gb=0,
        price=12,
        state="QUEUED",
        attempts=0,
        ttl_seconds=60,
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW,
    )
    return values


def _stored(engine: Engine, job_id: str) -> tuple[Any, ...]:
    """The row as SQLite holds it (text, not decoded)."""
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        row = driver.execute("SELECT * FROM jobs WHERE id = ?", [job_id]).fetchone()
    return tuple(row[1:])  # everything but the id


def test_insert_returning_matches_sqlalchemy(engine: Engine) -> None:
    with engine.begin() as conn:
        theirs = conn.execute(INSERT_JOB, _job("job_a")).one()
        ours = RAW_INSERT_JOB.one(conn, **_job("job_b"))
    assert ours._asdict() == {**theirs._asdict(), "id": "job_b"}
    assert ours.payload == {"text": "héllo", "n": [1, 2.5, None]}
    assert ours.created_at == NOW and ours.created_at.tzinfo is UTC
    assert _stored(engine, "job_b") == _stored(engine, "job_a")


def test_rowcount_first_and_many(engine: Engine) -> None:
    debit = RawStatement(
        update(ACCOUNTS)
        .where(ACCOUNTS.c.id == bindparam("account"), ACCOUNTS.c.balance >= bindparam("amount"))
        .values(balance=ACCOUNTS.c.balance - bindparam("amount"))
    )
    balance = RawStatement(select(ACCOUNTS.c.balance).where(ACCOUNTS.c.id == bindparam("a")))
    events = RawStatement(insert(EVENTS), ["topic", "seq", "event", "data", "created_at"])
    with engine.begin() as conn:
        conn.execute(insert(ACCOUNTS), {"id": "acc", "balance": 10, "created_at": NOW})
        assert debit.rowcount(conn, account="acc", amount=4) == 1
        assert debit.rowcount(conn, account="acc", amount=7) == 0  # guarded: 6 left
        assert debit.rowcount(conn, account="nobody", amount=1) == 0
        assert balance.first(conn, a="acc").balance == 6
        assert balance.first(conn, a="nobody") is None
        with pytest.raises(LookupError):
            balance.one(conn, a="nobody")
        rows = [
            {"topic": "t", "seq": i, "event": "e", "data": {"i": i}, "created_at": NOW}
            for i in (1, 2)
        ]
        events.many(conn, rows)
        stored = conn.execute(select(EVENTS).order_by(EVENTS.c.seq)).all()
    assert [(r.seq, r.data, r.created_at) for r in stored] == [
        (1, {"i": 1}, NOW),
        (2, {"i": 2}, NOW),
    ]


def test_a_missing_parameter_is_an_error_not_a_null(engine: Engine) -> None:
    values = _job("job_c")
    del values["payload"]
    with engine.begin() as conn, pytest.raises(KeyError):
        RAW_INSERT_JOB.one(conn, **values)


def test_guarded_update_returning_matches_sqlalchemy(engine: Engine) -> None:
    # The shape of a PreparedCas: guard and SET values by name, the new row returned.
    later = datetime(2026, 11, 30, 5, 6, 7, 1, tzinfo=UTC)
    statement = (
        update(JOBS)
        .where(
            JOBS.c.id == bindparam("target"),
            JOBS.c.state == bindparam("from_state"),
            JOBS.c.expires_at < bindparam("now"),
        )
        .values(
            state=bindparam("set_state", type_=JOBS.c.state.type),
            result=bindparam("set_result", type_=JOBS.c.result.type),
            lease_expires_at=bindparam("set_lease", type_=JOBS.c.lease_expires_at.type),
            updated_at=bindparam("set_updated", type_=JOBS.c.updated_at.type),
        )
        .returning(*JOBS.c)
    )
    raw = RawStatement(statement)
    params = {
        "from_state": "QUEUED",
        "now": later,
        "set_state": "COMPLETED",
        "set_result": {"text": "ok", "output": None},
        "set_lease": None,
        "set_updated": later,
    }
    with engine.begin() as conn:
        conn.execute(INSERT_JOB, [_job("job_a"), _job("job_b"), _job("job_c")])
        theirs = conn.execute(statement, {**params, "target": "job_a"}).one()
        ours = raw.first(conn, **params, target="job_b")
        assert raw.first(conn, **params, target="job_b") is None  # no longer QUEUED
        assert raw.first(conn, **{**params, "now": NOW}, target="job_c") is None  # not expired
    assert ours._asdict() == {**theirs._asdict(), "id": "job_b"}
    assert ours.result == {"text": "ok", "output": None} and ours.lease_expires_at is None
    assert ours.updated_at == later
    assert _stored(engine, "job_b") == _stored(engine, "job_a")
