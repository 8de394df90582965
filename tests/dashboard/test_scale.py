"""10,000 jobs: the jobs view shows one page at a time and pages on; the node view reads at
most a bounded number of pages for its charts. (No timing is asserted: what is checked is
that the page never loads everything.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from aitbc.node.clock import utcnow
from aitbc.node.models import JobRow

from .conftest import Market, PageProbe

JOBS = 10_000


async def _bulk_jobs(market: Market) -> None:
    """Closed, unpaid jobs straight into the table (no escrow to keep balanced)."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for i in range(JOBS):
        at = now - timedelta(seconds=0.25 * i)
        rows.append(
            {
                "id": f"job_bulk{i:06d}",
                "client_id": market.client_id,
                "job_type": "echo",
                "payload": {"n": i},
                "input_hash": "sha256:" + "0" * 64,
                "constraints": {"models": [], "min_gpu_memory_gb": 0, "region": None},
                "min_gpu_memory_gb": 0,
                "price": 0,
                "state": "CANCELED",
                "attempts": 0,
                "ttl_seconds": 3600,
                "created_at": at,
                "updated_at": at,
                "expires_at": at + timedelta(hours=1),
            }
        )
    async with market.node.node.transaction() as tx:
        await tx.session.execute(insert(JobRow), rows)


async def test_ten_thousand_jobs_are_paged_not_loaded(market: Market, probe: PageProbe) -> None:
    await _bulk_jobs(market)
    page = probe.page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/v1/jobs" in r.url else None)
    await probe.sign_in(market.url, market.client_key, "#/jobs?state=CANCELED")
    await page.wait_for_selector('#jobs-rows tr[data-job-id="job_bulk000000"]')
    first = await page.eval_on_selector_all("#jobs-rows tr[data-job-id]", "r => r.length")
    await page.click("#next-page")
    await page.wait_for_selector('#jobs-rows tr[data-job-id="job_bulk000050"]')
    second = await page.eval_on_selector_all("#jobs-rows tr[data-job-id]", "r => r.length")
    assert (first, second) == (50, 50)
    assert all("limit=50" in url for url in requests)

    await probe.go("#/node")
    facts = await page.wait_for_selector("#node-jobs-hour")
    assert (await facts.text_content() or "").startswith("2000+ (newest shown)")
    chart_requests = [u for u in requests if "limit=200" in u]
    assert len(chart_requests) == 10  # MAX_PAGES in views/node.js, not 50 pages
    assert probe.errors == []
