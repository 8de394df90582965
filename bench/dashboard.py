"""Dashboard first view: time to the first job rows with 10,000 jobs vs with 10.

The node runs as its own process (``aitbc serve``, fresh SQLite); two clients get their
jobs through the API (one 10, one ``--jobs``); headless Chromium (Debian's, through
Playwright) opens the jobs view as each, alternating which goes first, and the page
records, with ``performance.now()``, when the first job row appeared after navigation
started. Prints medians per client, their ratio (the view pages, so a big table should
cost what a small one does) and the node's CPU per view read from /proc.

Usage: ``python bench/dashboard.py [--jobs 10000] [--rounds 7]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

import aiohttp
from _rt_common import ServedNode

CHROMIUM = "/usr/bin/chromium"
FIRST_ROWS = "#jobs-rows tr[data-job-id]"
# Runs before the page's own scripts: the key the dashboard reads, and an observer that
# notes when the first job row is in the document.
INIT = """
sessionStorage.setItem('aitbc.apiKey', %r);
new MutationObserver((_, observer) => {
  if (document.querySelector(%r)) {
    window.__firstRows = performance.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, childList: true});
"""


async def _fill(node: ServedNode, http: aiohttp.ClientSession, name: str, jobs: int) -> str:
    """A client with ``jobs`` echo jobs; returns its key."""
    client_id, key = await node.client(http, name)
    await node.admin_post(http, "/v1/admin/faucet", {"account_id": client_id, "amount": "10"})
    body = {"job_type": "echo", "payload": {}, "price": "0"}
    queue = iter(range(jobs))

    async def submit() -> None:
        for _ in queue:
            async with http.post(
                node.url + "/v1/jobs", json=body, headers={"X-API-Key": key}
            ) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"create: HTTP {resp.status} {await resp.text()}")

    await asyncio.gather(*(submit() for _ in range(16)))
    return key


async def _first_view_ms(browser: object, url: str, key: str) -> float:
    context = await browser.new_context()  # type: ignore[attr-defined]
    try:
        await context.add_init_script(INIT % (key, FIRST_ROWS))
        page = await context.new_page()
        await page.goto(url + "/#/jobs")
        await page.wait_for_selector(FIRST_ROWS, timeout=30_000)
        return float(await page.evaluate("window.__firstRows"))
    finally:
        await context.close()


async def main(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    node = await ServedNode().start()
    try:
        async with aiohttp.ClientSession() as http:
            keys = {
                "10 jobs": await _fill(node, http, "small", 10),
                f"{args.jobs} jobs": await _fill(node, http, "big", args.jobs),
            }
        times: dict[str, list[float]] = {name: [] for name in keys}
        cpu: dict[str, list[float]] = {name: [] for name in keys}
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            names = list(keys)
            for _ in range(2):  # warm-up: caches, the node's statements, the browser
                for name in names:
                    await _first_view_ms(browser, node.url, keys[name])
            for round_ in range(args.rounds):
                for name in names if round_ % 2 == 0 else names[::-1]:
                    before = node.cpu_seconds()
                    times[name].append(await _first_view_ms(browser, node.url, keys[name]))
                    cpu[name].append((node.cpu_seconds() - before) * 1000)
            await browser.close()
    finally:
        node.stop()
    small, big = names
    for name in names:
        print(
            f"{name:>12}: first rows {statistics.median(times[name]):7.1f} ms after navigation "
            f"(median of {args.rounds}; min {min(times[name]):.1f}, max {max(times[name]):.1f}); "
            f"node CPU {statistics.median(cpu[name]):.1f} ms per view"
        )
    ratio = statistics.median(times[big]) / statistics.median(times[small])
    print(f"{big} / {small}: {ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs of the big client")
    parser.add_argument("--rounds", type=int, default=7, help="measured views per client")
    asyncio.run(main(parser.parse_args()))
