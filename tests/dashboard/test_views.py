"""Wallet paging and transfers, the marketplace with the miners' offers, the node view,
settlements, and the role rules, in a real browser against a live node."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Market, PageProbe, running_miner, sdk


async def _ids(probe: PageProbe, selector: str, attribute: str) -> list[str]:
    return list(
        await probe.page.eval_on_selector_all(
            selector, f"rows => rows.map(r => r.getAttribute('{attribute}'))"
        )
    )


async def test_wallet_pages_through_history_and_sends_a_transfer(
    market: Market, probe: PageProbe
) -> None:
    for amount in range(1, 46):  # 45 mints + the fixture's = 46 transfers: pages of 20
        await market.node.faucet(market.client_id, amount)
    async with sdk(market.url, market.client_key) as client:
        expected = [t.id async for t in client.wallet.history()]
    assert len(expected) == 46
    page = probe.page
    await probe.sign_in(market.url, market.client_key, "#/wallet")
    await page.wait_for_selector("#live-status.on")
    assert await page.text_content("#balance-value") == str(100_000 + sum(range(1, 46)))
    seen: list[str] = []
    for number, size in ((1, 20), (2, 20), (3, 6)):
        await page.wait_for_selector(f"#page-label:text('page {number}')")
        rows = await _ids(probe, "#history-rows tr[data-transfer-id]", "data-transfer-id")
        assert len(rows) == size
        seen += rows
        if number == 2:
            await probe.shot("wallet")
        if number < 3:
            await page.click("#next-page")
    assert seen == expected  # newest first, nothing skipped or repeated across pages
    assert await page.is_disabled("#next-page")
    await page.click("#prev-page")
    await page.wait_for_selector("#page-label:text('page 2')")
    await page.click("#prev-page")
    await page.wait_for_selector("#page-label:text('page 1')")

    await page.fill("#transfer-to", market.miner_id)
    await page.fill("#transfer-amount", "25")
    await page.fill("#transfer-memo", "thanks")
    await page.click("#transfer-form button")
    await page.wait_for_selector("#wallet-message .notice.ok")
    await page.wait_for_selector(f"#balance-value:text('{100_000 + sum(range(1, 46)) - 25}')")
    first = page.locator("#history-rows tr").first
    assert "thanks" in (await first.text_content() or "")
    await page.fill("#transfer-to", market.client_id)  # to yourself: the API's 422
    await page.fill("#transfer-amount", "1")
    await page.click("#transfer-form button")
    error = await page.wait_for_selector("#wallet-message .notice.error")
    assert "422" in (await error.text_content() or "")
    await market.node.faucet(market.client_id, 7)  # a credit arrives live
    await page.wait_for_selector(f"#balance-value:text('{100_000 + sum(range(1, 46)) - 25 + 7}')")
    assert [e for e in probe.errors if "422" not in e] == []


async def test_marketplace_shows_the_miners_offers_live(market: Market, probe: PageProbe) -> None:
    other_id, other_key = await market.node.create_principal("miner", "carol")
    async with running_miner(market.url, market.miner_key), running_miner(market.url, other_key):
        await _offers_appear_live(market, probe, other_id, other_key)
    assert probe.errors == []


async def _offers_appear_live(
    market: Market, probe: PageProbe, other_id: str, other_key: str
) -> None:
    async with sdk(market.url, market.miner_key) as miner:
        eu_offer = await miner.marketplace.create_offer(
            capacity=4, price_per_unit="10", models=["llama-3-8b"], region="eu-west"
        )
    page = probe.page
    await probe.sign_in(market.url, market.client_key, "#/marketplace")
    await page.wait_for_selector("#live-status.on")
    await page.wait_for_selector(f'#miner-rows tr[data-miner-id="{market.miner_id}"]')
    async with sdk(market.url, other_key) as other:  # appears without a reload
        offer = await other.marketplace.create_offer(
            capacity=2, price_per_unit="25", models=["sdxl", "llama-3-8b"], region="us-east"
        )
    row = await page.wait_for_selector(f'#offer-rows tr[data-offer-id="{offer.id}"]')
    assert "llama-3-8b, sdxl" in (await row.text_content() or "")
    await page.wait_for_selector(f'#miner-rows tr[data-miner-id="{other_id}"]')
    async with sdk(market.url, market.client_key) as client:
        bid = await client.marketplace.create_bid(offer_id=offer.id, units=1, price_per_unit="25")
    await page.wait_for_selector(f'#bid-rows tr[data-bid-id="{bid.id}"]')
    assert await page.text_content('[data-stat="Open offers"]') == "2"
    assert await page.text_content('[data-stat="Open capacity"]') == "6"
    await probe.shot("marketplace")
    await probe.go("#/marketplace?region=eu-west")
    await page.wait_for_selector(f'#offer-rows tr[data-offer-id="{eu_offer.id}"]')
    shown = await _ids(probe, "#offer-rows tr[data-offer-id]", "data-offer-id")
    assert shown == [eu_offer.id]


async def test_node_view_charts_the_last_hour(market: Market, probe: PageProbe) -> None:
    async with (
        sdk(market.url, market.client_key) as client,
        running_miner(market.url, market.miner_key),
    ):
        for i in range(4):
            job = await client.jobs.create(job_type="echo", payload={"n": i}, price=10 * (i + 1))
            await client.jobs.wait_for_completion(job.id, timeout=30)
    page = probe.page
    await probe.sign_in(market.url, market.node.admin_key, "#/node")
    await page.wait_for_selector("#node-health:text('ok')")
    assert await page.text_content("#node-chain") == "1"
    jobs_hour = await page.text_content("#node-jobs-hour")
    assert jobs_hour is not None and jobs_hour.startswith("4 ·")
    titles = await _ids(probe, "#node-charts .chart", "data-chart")
    assert titles == [
        "Jobs per minute",
        "Queue depth (open jobs)",
        "Job latency (median, s)",
        "Miner earnings per minute",
    ]
    earnings = await page.text_content('[data-chart="Miner earnings per minute"] .muted')
    assert earnings is not None and "max 100" in earnings  # 10+20+30+40 in this minute
    await probe.shot("node")
    assert probe.errors == []


HOUR_SERIES = """async (jobs) => {
    const { hourSeries } = await import('/dashboard/views/node.js');
    const now = Date.parse('2026-01-01T12:00:00Z');
    const s = hourSeries(jobs, now);
    const at = (series, hhmm) => series.find(
        (p) => p.t.toISOString() === `2026-01-01T${hhmm}:00.000Z`).v;
    return ['11:31', '11:32', '11:33', '11:34'].map((m) =>
        [at(s.perMinute, m), at(s.depth, m), at(s.latency, m), at(s.earnings, m)]);
}"""


async def test_hour_series_reconstructs_queue_latency_and_earnings(
    node: Any, probe: PageProbe
) -> None:
    def job(state: str, created: str, updated: str, price: int) -> dict[str, Any]:
        day = "2026-01-01T"
        return {
            "state": state,
            "created_at": f"{day}{created}Z",
            "updated_at": f"{day}{updated}Z",
            "price": str(price),
        }

    jobs = [
        job("COMPLETED", "11:30:10", "11:30:40", 100),  # 30 s, finished in minute 11:31
        job("COMPLETED", "11:30:20", "11:31:20", 50),  # 60 s, finished in minute 11:32
        job("FAILED", "11:30:30", "11:32:30", 70),  # open until 11:32:30, earns nothing
        job("QUEUED", "11:31:30", "11:31:30", 10),  # still open
    ]
    await probe.page.goto(node.url + "/")
    got = await probe.page.evaluate(HOUR_SERIES, jobs)
    # [created, open at the minute's end, median latency, earnings] per minute ending at
    assert got == [
        [3, 2, 30, 100],  # 11:30-11:31: three created; #1 done; #2 #3 open
        [1, 2, 60, 50],  # 11:31-11:32: #4 created; #2 done; #3 #4 open
        [0, 1, 0, 0],  # 11:32-11:33: #3 failed (no earnings); #4 open
        [0, 1, 0, 0],
    ]


async def test_settlements_view_is_honest_and_groups_pasted_results(
    market: Market, probe: PageProbe
) -> None:
    def result(message_id: str, status: str, bridge: str, fee: str | None) -> dict[str, Any]:
        """The shape of ``aitbc settle status --json`` (aitbc.settlement.codec)."""
        return {
            "message_id": message_id,
            "status": status,
            "bridge_name": bridge,
            "transaction_hash": "0x" + message_id[2:4] * 32,
            "error_message": "destination reverted" if status == "failed" else None,
            "gas_used": 120_000,
            "fee_paid": fee,
            "created_at": "2026-11-29T12:00:00Z",
            "updated_at": "2026-11-29T12:00:30Z",
        }

    results = [
        result("0xaa01", "completed", "layerzero", "0.0021"),
        result("0xbb02", "pending", "ccip", None),
        result("0xcc03", "failed", "layerzero", "0.0019"),
    ]
    await probe.sign_in(market.url, market.node.admin_key, "#/settlements")
    page = probe.page
    notice = await page.text_content("#view-settlements .notice.info")
    assert notice is not None and "no settlement data" in notice
    await page.fill("#settlement-input", json.dumps(results, indent=2))
    await page.click("#view-settlements form button")
    layerzero = await page.wait_for_selector('section[data-bridge="layerzero"]')
    text = await layerzero.text_content() or ""
    assert "2 message(s)" in text and "0xaa01" in text and "0xcc03" in text
    assert "destination reverted" in text
    assert "0xbb02" in (await page.text_content('section[data-bridge="ccip"]') or "")
    await probe.shot("settlements")
    assert probe.errors == []


async def test_roles_get_the_apis_refusals(market: Market, probe: PageProbe) -> None:
    page = probe.page
    await page.goto(f"{market.url}/#/jobs")
    await page.fill("#api-key", "ak_not_a_key")
    await page.click("#login button[type=submit]")
    error = await page.wait_for_selector("#login .notice.error")
    assert "not known" in (await error.text_content() or "")
    assert await page.evaluate("sessionStorage.length") == 0

    async with (
        sdk(market.url, market.client_key) as client,
        running_miner(market.url, market.miner_key),
    ):
        job = await client.jobs.create(job_type="echo", payload={"private": True}, price=5)
        await client.jobs.wait_for_completion(job.id, timeout=30)
    other_id, other_key = await market.node.create_principal("client", "mallory")
    await probe.sign_in(market.url, other_key, "#/jobs")
    await page.wait_for_selector("#jobs-rows td.muted:text('No jobs.')")
    assert await page.is_hidden("#nav-admin")
    await probe.go(f"#/jobs/{job.id}")
    refused = await page.wait_for_selector("#job-head .notice.error")
    assert f"No job {job.id} visible to you." == await refused.text_content()
    await probe.go("#/admin")
    await page.wait_for_selector("#view-admin .notice.error:text('403')")
    # The key is in this tab's session storage only, never in the URL.
    assert other_key not in page.url
    assert await page.evaluate("sessionStorage.getItem('aitbc.apiKey')") == other_key
    await page.click("#sign-out")
    await page.wait_for_selector("#api-key")
    assert await page.evaluate("sessionStorage.length") == 0

    await probe.sign_in(market.url, market.node.admin_key, "#/jobs")
    await page.wait_for_selector(f'#jobs-rows tr[data-job-id="{job.id}"]')  # admins see all
    await probe.go("#/admin")
    await page.fill("#principal-name", "dave")
    await page.select_option("#principal-role", "miner")
    await page.click("#principal-form button")
    key = await page.wait_for_selector("#new-api-key")
    new_key = await key.text_content()
    assert new_key
    async with sdk(market.url, new_key) as dave:  # a working miner key: it may offer
        offer = await dave.marketplace.create_offer(capacity=1, price_per_unit="1")
    assert offer.provider_id.startswith("prn_")
    await page.fill("#faucet-account", other_id)
    await page.fill("#faucet-amount", "33")
    await page.click("#faucet-form button")
    await page.wait_for_selector("#faucet-result .notice.ok")
    async with sdk(market.url, other_key) as mallory:
        assert (await mallory.wallet.balance()).balance == 33

    await page.click("#sign-out")  # the miner sees the job it ran, and no admin view
    await probe.sign_in(market.url, market.miner_key, "#/jobs")
    await page.wait_for_selector(f'#jobs-rows tr[data-job-id="{job.id}"][data-state="COMPLETED"]')
    assert await page.is_hidden("#nav-admin")
    await probe.go(f"#/jobs/{job.id}")
    await page.wait_for_selector('#job-timeline li[data-event="job.completed"]')
    assert [e for e in probe.errors if "401" not in e and "404" not in e] == []
