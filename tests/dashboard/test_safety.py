"""Hostile data cannot run in the dashboard, and every dashboard response says so:
a strict Content-Security-Policy, no framing, and API values rendered as text."""

from __future__ import annotations

import re
from typing import Any

import httpx

from aitbc.node.dashboard import STATIC_DIR

from .conftest import Market, PageProbe, sdk

HOSTILE = '</pre><script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">\'"'
UNICODE = "é 模型 ✓ 🚀 \u202eevil\u202c"


async def test_dashboard_responses_carry_a_strict_policy(node: Any) -> None:
    async with httpx.AsyncClient(base_url=node.url) as http:
        pages = [await http.get(p) for p in ("/", "/dashboard/app.js", "/dashboard/style.css")]
        missing = await http.get("/dashboard/nope.js")
        api_404 = await http.get("/v1/no-such-route")
    for response in pages:
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert pages[1].headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404 and missing.headers["x-frame-options"] == "DENY"
    # The dashboard does not swallow the API's own 404 envelope.
    assert api_404.json()["error"]["code"] == "not_found"


def test_shipped_assets_have_no_inline_code_or_html_sinks() -> None:
    index = (STATIC_DIR / "index.html").read_text()
    assert "<script>" not in index and "style=" not in index
    assert not re.search(r"\son[a-z]+\s*=", index, re.IGNORECASE)  # no inline handlers
    modules = {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js")}
    preloaded = set(re.findall(r'rel="modulepreload" href="/dashboard/([^"]+)"', index))
    assert preloaded == modules - {"app.js"}  # one round of fetches, not a waterfall
    for script in STATIC_DIR.rglob("*.js"):
        text = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{script.name} uses {sink}"


async def test_hostile_payloads_and_names_render_as_text(market: Market, probe: PageProbe) -> None:
    hostile_id, hostile_key = await market.node.create_principal("client", HOSTILE + UNICODE)
    await market.node.faucet(hostile_id, 1_000)
    async with sdk(market.url, hostile_key) as client:
        job = await client.jobs.create(
            job_type="echo", payload={"text": HOSTILE, "note": UNICODE, HOSTILE: [HOSTILE]}, price=5
        )
        await client.wallet.transfer(to=market.client_id, amount=1, memo=HOSTILE + UNICODE)
    async with sdk(market.url, market.miner_key) as miner:
        await miner.marketplace.create_offer(
            capacity=1, price_per_unit="3", models=[HOSTILE[:200]], region=UNICODE
        )
    page = probe.page
    await probe.sign_in(market.url, hostile_key, f"#/jobs/{job.id}")
    payload = await page.wait_for_selector("#job-payload:has-text('window.__pwned')")
    assert HOSTILE.replace('"', '\\"') in (await payload.text_content() or "")
    assert await page.text_content("#whoami") == f"{HOSTILE}{UNICODE} · client"
    for route, marker in (
        ("#/jobs", f'tr[data-job-id="{job.id}"]'),
        ("#/wallet", "#history-rows td:has-text('evil')"),
        ("#/marketplace", "#offer-rows td:has-text('模型')"),
    ):
        await probe.go(route)
        await page.wait_for_selector(marker)
    await probe.shot("hostile-data")
    # Nothing ran, no element came out of the data, and nothing even tried (a CSP report
    # would show up in probe.errors).
    assert await page.evaluate("window.__pwned") is None
    injected = await page.eval_on_selector_all("#main img, #main script, #main iframe", "e => e")
    assert injected == []
    offers = await page.text_content("#offer-rows")
    assert offers is not None and HOSTILE[:200] in offers and UNICODE in offers
    assert probe.errors == []
