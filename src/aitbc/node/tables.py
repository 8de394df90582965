"""The Core tables behind the ORM models, for the data plane's statements.

The services build SQLAlchemy Core statements on these (no ORM session, no identity map,
no unit-of-work flush): rows come back as named tuples with the models' column names.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from .models import (
    AccountRow,
    ApiKeyRow,
    AuditRow,
    EventRow,
    EventTopicRow,
    IdempotencyRow,
    JobModelRow,
    JobRow,
    MinerRow,
    PrincipalRow,
    ReceiptRow,
    TransferRow,
)

ACCOUNTS = cast(Table, AccountRow.__table__)
API_KEYS = cast(Table, ApiKeyRow.__table__)
AUDIT_LOG = cast(Table, AuditRow.__table__)
EVENTS = cast(Table, EventRow.__table__)
EVENT_TOPICS = cast(Table, EventTopicRow.__table__)
IDEMPOTENCY = cast(Table, IdempotencyRow.__table__)
JOB_MODELS = cast(Table, JobModelRow.__table__)
JOBS = cast(Table, JobRow.__table__)
MINERS = cast(Table, MinerRow.__table__)
PRINCIPALS = cast(Table, PrincipalRow.__table__)
RECEIPTS = cast(Table, ReceiptRow.__table__)
TRANSFERS = cast(Table, TransferRow.__table__)
