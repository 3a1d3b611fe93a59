"""Fixtures of the console tests: a real HTTP server (uvicorn on a free port) and a real Chromium."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.serving import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


ServeApp = Callable[[Any], Awaitable[str]]
ServeContext = Callable[..., contextlib.AbstractAsyncContextManager[str]]
Screenshot = Callable[[Page, str], Awaitable[Path]]


@pytest.fixture
async def serve_app() -> AsyncIterator[ServeApp]:
    """``await serve_app(app)`` runs ``app`` under uvicorn until the test ends; returns its base URL."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(app: Any) -> str:
            return await stack.enter_async_context(serving(app))

        yield start


@pytest.fixture
def serve_context() -> ServeContext:
    """``async with serve_context(app, port=...) as base:`` for a test that stops and restarts a server."""
    return serving


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is required for the console tests (apt-get install -y chromium)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser, serve_app: ServeApp) -> AsyncIterator[Page]:
    """A fresh browser tab. It closes before any server started with ``serve_app`` stops, so no
    open live stream holds the server's shutdown up."""
    context = await browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(5_000)
    # a page load fetches the console's modules from a server that may have just started, on a machine
    # the whole suite shares: the first navigation of a test has waited over 5 s in a full CI run
    context.set_default_navigation_timeout(20_000)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def screenshot() -> Screenshot:
    """``await screenshot(page, name)`` saves a PNG under test-artifacts/console/ for a human to look at."""

    async def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take
