"""The pure browser modules (queue order, time formats, phone masking) run in a real Chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.async_api import Page

from cloud.console.pages import router

pytestmark = pytest.mark.e2e


@pytest.fixture
async def console_only(page: Page, serve_app: Callable[[Any], Awaitable[str]]) -> AsyncIterator[Page]:
    """A page on an origin that serves only the console router (no API behind it)."""
    app = FastAPI()
    app.include_router(router)
    base = await serve_app(app)
    await page.goto(f"{base}/console/static/favicon.svg")
    yield page


async def run(page: Page, module: str, body: str) -> Any:
    """Import ``/console/static/{module}`` as ``m`` and evaluate ``body`` (an expression) with it."""
    return await page.evaluate(
        f"async () => {{ const m = await import('/console/static/{module}'); return {body}; }}"
    )


async def test_open_queue_is_by_priority_then_unclaimed_then_longest_wait(console_only: Page) -> None:
    order = await run(
        console_only,
        "queue.js",
        """m.sortIncidents([
            {id: 1, status: "acknowledged", severity: "P1", device_ts: 5000, kind: "sos"},
            {id: 2, status: "new", severity: "P3", device_ts: 9000, kind: "inactivity"},
            {id: 3, status: "new", severity: "P1", device_ts: 1000, kind: "fall"},
            {id: 4, status: "new", severity: "P1", device_ts: 2000, kind: "sos"},
            {id: 5, status: "dispatched", severity: "P2", device_ts: 8000, kind: "vitals"},
        ], "open", (v) => v ?? null).map((i) => i.id)""",
    )
    assert order == [3, 4, 1, 5, 2]


async def test_store_filters_open_and_closed_and_rejects_junk(console_only: Page) -> None:
    result = await run(
        console_only,
        "queue.js",
        """(() => {
            const s = new m.IncidentStore();
            const first = s.upsert({id: 7, status: "new", kind: "sos", severity: "P1", device_ts: 1});
            const again = s.upsert({id: 7, status: "resolved"});
            const junk = s.upsert({status: "new"});
            return [first.isNew, again.isNew, junk.accepted,
                    s.visible("open", (v) => v).length, s.visible("closed", (v) => v).length,
                    s.get(7).kind];
        })()""",
    )
    assert result == [True, False, False, 0, 1, "sos"]


async def test_live_updates_during_a_list_reload_are_not_lost(console_only: Page) -> None:
    result = await run(
        console_only,
        "queue.js",
        """(() => {
            const s = new m.IncidentStore();
            const base = {kind: "sos", severity: "P1", device_ts: 1};
            s.beginReload();
            s.upsert({...base, id: 1, status: "new", updated_at: 10});        // arrives live ...
            s.upsert({...base, id: 2, status: "acknowledged", updated_at: 30});
            s.finishReload([{...base, id: 2, status: "new", updated_at: 20}]);  // ... list read before
            const stale = s.upsert({...base, id: 2, status: "new", updated_at: 25});
            return [s.get(1)?.status, s.get(2).status, stale.accepted, s.pending];
        })()""",
    )
    assert result == ["new", "acknowledged", False, None]


async def test_elapsed_and_timestamps_in_chinese_and_english(console_only: Page) -> None:
    zh = await run(
        console_only,
        "format.js",
        "[m.formatElapsed(0, 5000), m.formatElapsed(0, 185000), m.formatElapsed(0, 7500000),"
        " m.formatTimestamp(Date.UTC(2026, 10, 30, 7, 40, 33, 7)).slice(-12), m.toMillis('12'),"
        " m.formatDelta(1000, 2234)]",
    )
    assert zh[:3] == ["5 秒", "3 分 05 秒", "2 小时 05 分"]
    assert zh[3].endswith(":40:33.007")
    assert zh[4:] == [12, "+1.234 秒"]
    await console_only.evaluate("() => localStorage.setItem('anxin.lang', 'en')")
    en = await run(console_only, "format.js", "m.formatElapsed(0, 185000)")
    assert en == "3m 05s"


async def test_phone_numbers_are_masked_and_sms_shapes_are_accepted(console_only: Page) -> None:
    # phones.js starts the page when imported; only its exported helpers are exercised here.
    await console_only.route("**/api/v1/**", lambda route: route.fulfill(status=401, body="{}"))
    masked = await console_only.evaluate(
        """async () => {
            const m = await import('/console/static/phones.js?helpers');
            return [m.maskPhone('+8613812345678'), m.maskPhone('+14155550123'),
                    m.flattenSms([{to: '+8613812345678', body: 'hi', sent_at: 1}]).length,
                    m.flattenSms({phones: [{to_masked: '138****5678', messages: [{body: 'a'}, {body: 'b'}]}]})
                     .map((x) => x.to_masked + x.body)];
        }"""
    )
    assert masked == ["+86 138****5678", "****0123", 1, ["138****5678a", "138****5678b"]]


async def test_sla_levels_and_a_wrong_device_clock(console_only: Page) -> None:
    result = await run(
        console_only,
        "sla.js",
        """[m.slaLevel(44999), m.slaLevel(45000), m.slaLevel(59999), m.slaLevel(60000),
            m.slaOrigin({device_ts: 1000, cloud_ts: 3000}, (v) => v ?? null),
            m.slaOrigin({device_ts: 1000, cloud_ts: 1000 + 274 * 86400000}, (v) => v ?? null)]""",
    )
    assert result[:4] == ["ok", "amber", "amber", "red"]
    assert result[4] == {"at": 1000, "skewed": False}
    assert result[5] == {"at": 1000 + 274 * 86_400_000, "skewed": True}


async def test_no_months_of_elapsed_time_and_humane_deltas(console_only: Page) -> None:
    now = 1_790_000_000_000
    result = await run(
        console_only,
        "format.js",
        f"""[m.formatElapsed({now} - 274 * 86400000 - 11 * 3600000, {now}),
            m.formatDelta(0, 23712639000), m.formatDelta(0, 185000), m.formatAgo({now} - 120000, {now}),
            m.formatAgo({now} - 10000, {now})]""",
    )
    assert "天" not in result[0] and re.fullmatch(r"\d+月\d+日 \d\d:\d\d:\d\d", result[0])
    assert result[1:] == ["设备时钟异常", "+3 分 05 秒", "2 分钟前", "刚刚"]


async def test_facets_and_counts(console_only: Page) -> None:
    result = await run(
        console_only,
        "queue.js",
        """(() => {
            const items = [
              {id: 1, status: "new", kind: "sos", subject: {street: "中北镇"}},
              {id: 2, status: "acknowledged", kind: "fall", owner: "op2", subject: {street: "中北镇"}},
              {id: 3, status: "dispatched", kind: "sos", acknowledged_by: "operator",
               subject: {street: "大寺镇"}},
              {id: 4, status: "resolved", kind: "sos", subject: {street: "大寺镇"}},
            ];
            const pick = (facets) =>
              items.filter((i) => m.matchesFacets(i, facets, "operator")).map((i) => i.id);
            return [pick({street: "中北镇", kind: "", owner: ""}), pick({street: "", kind: "sos", owner: ""}),
                    pick({street: "", kind: "", owner: "mine"}), pick({street: "", kind: "", owner: "none"}),
                    m.countByState(items), m.facetValues(items).owner];
        })()""",
    )
    assert result[:4] == [[1, 2], [1, 3, 4], [3], [1, 4]]
    assert result[4] == {"new": 1, "acknowledged": 1, "dispatched": 1, "closed": 1}
    assert result[5] == ["op2", "operator"]
