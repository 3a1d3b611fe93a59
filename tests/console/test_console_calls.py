"""Click-to-call in the console (real Chromium, real cloud with the built-in notifier): one click on a
guardian's 拨打 button places the call, the button says so, and the timeline shows who called whom —
the number masked."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from cloud.app import create_app
from contracts import intake as c
from tests.console.shift_harness import edge_client, post_event, shift_settings, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


async def test_one_click_calls_a_guardian_from_the_resident_record(
    page: Page, tmp_path: Path, serve_app: Callable[[Any], Awaitable[str]]
) -> None:
    settings = shift_settings(tmp_path).model_copy(update={"center_line": "+8613900000000"})
    cloud = await serve_app(create_app(settings))
    async with edge_client(cloud) as edge:
        await edge.get("/healthz", timeout=60)  # the lifespan (argon2, demo district) on a loaded machine
        await post_event(edge, "card-0001", 1, c.EventKind.SOS)
    await sign_in(page, cloud)
    row = page.locator("#queue-list").get_by_role("option").first
    await row.click()
    record = page.get_by_role("region", name="警情详情").get_by_role("region", name="人员档案")
    guardian = record.locator(".guardians li").first
    call = guardian.get_by_role("button", name=re.compile("^拨打"))
    await call.click()
    await expect(call).to_have_text("正在呼叫… 结果记入时间线")
    timeline = page.get_by_role("region", name="警情详情").locator(".timeline")
    await expect(timeline).to_contain_text("值班员拨打电话")
    await expect(timeline.locator(".tl-call_bridged")).to_contain_text(re.compile(r"\+86 1\d\d\*\*\*\*\d{4}"))
