"""Headless Chromium (Debian's ``chromium``, driven by Playwright) against a live node.

Playwright never downloads a browser here: it launches the system binary named by
``AITBC_CHROMIUM`` (default ``/usr/bin/chromium``, installed by ``.ci/run``). Without it the
browser tests skip with the reason; under ``AITBC_TEST_REQUIRE_SERVICES=1`` (CI) they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from aitbc import AITBCClient, HTTPTransport
from aitbc.miner import Miner, MinerConfig

REQUIRE_SERVICES = os.environ.get("AITBC_TEST_REQUIRE_SERVICES") == "1"
CHROMIUM = Path(os.environ.get("AITBC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_PRESENT = CHROMIUM.is_file()
#: Where the tests save their screenshots: build/screenshots, so a test run never dirties
#: the tree; `make screenshots` points AITBC_SCREENSHOT_DIR at docs/img (the README's).
SCREENSHOTS = Path(
    os.environ.get("AITBC_SCREENSHOT_DIR")
    or Path(__file__).resolve().parents[2] / "build" / "screenshots"
)
#: Upper bound of any one wait for the page; a wait that runs out fails the test.
WAIT_MS = 20_000


def _screenshot_path(name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} but AITBC_TEST_REQUIRE_SERVICES=1 (.ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless system Chromium, closed after the test."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the browser tests need playwright (pip install -e '.[dev]')")
    if not CHROMIUM_PRESENT:
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as pw:
        # --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
        launched = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class PageProbe:
    """A page plus everything it reported: uncaught errors, console errors, CSP reports."""

    page: Any
    errors: list[str] = field(default_factory=list)

    async def sign_in(self, url: str, api_key: str, route: str = "#/jobs") -> None:
        await self.page.goto(f"{url}/{route}")
        await self.page.fill("#api-key", api_key)
        await self.page.click("#login button[type=submit]")
        await self.page.wait_for_selector("#whoami", timeout=WAIT_MS)

    async def go(self, route: str) -> None:
        await self.page.evaluate("(r) => { location.hash = r; }", route)

    async def shot(self, name: str) -> None:
        await self.page.evaluate("window.scrollTo(0, 0)")
        await self.page.screenshot(path=_screenshot_path(name))


@pytest.fixture
async def probe(browser: Any) -> AsyncIterator[PageProbe]:
    """A fresh page (own session storage) that records script errors and CSP violations."""
    context = await browser.new_context(viewport={"width": 1200, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    found = PageProbe(page)
    page.on("pageerror", lambda exc: found.errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            found.errors.append(f"console: {msg.text} at {msg.location}")
            if msg.type == "error"
            else None
        ),
    )
    await page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) =>"
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    try:
        yield found
    finally:
        await context.close()


@dataclass
class Market:
    """A live node with a funded client, a miner principal and an admin key."""

    node: Any
    client_id: str
    client_key: str
    miner_id: str
    miner_key: str

    @property
    def url(self) -> str:
        return str(self.node.url)


@pytest.fixture
async def market(node: Any) -> Market:
    client_id, client_key = await node.create_principal("client", "alice")
    miner_id, miner_key = await node.create_principal("miner", "bob")
    await node.faucet(client_id, 100_000)
    return Market(node, client_id, client_key, miner_id, miner_key)


@asynccontextmanager
async def sdk(url: str, api_key: str) -> AsyncIterator[AITBCClient]:
    """An SDK client over real HTTP."""
    transport = HTTPTransport({"base_url": url, "default_headers": {"X-API-Key": api_key}})
    async with AITBCClient(transport) as client:
        yield client


@asynccontextmanager
async def running_miner(url: str, api_key: str) -> AsyncIterator[Miner]:
    """A real in-process miner (aitbc.miner) serving the node until the block ends."""
    config = MinerConfig(
        coordinator=url, api_key=api_key, poll_wait=1.0, backoff_base=0.05, backoff_cap=0.5
    )
    miner = Miner(config)
    async with miner.running(register_timeout=20):
        yield miner
