"""A whole shift at the console, in a real Chromium against the real cloud (uvicorn, SQLite file):
the SLA clock and the repeating alarm, the queue's order, filters and counts, the resident record, the
evidence as pictures, the offline map, the safe keyboard flow, the English switch and the contrast.
Screenshots of every main view, in Chinese and English, go to test-artifacts/console/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from contracts import intake as c
from contracts.uplink import Fix, LocationSource
from tests.console.shift_harness import (
    PASSWORD,
    edge_client,
    fall_evidence,
    now_ms,
    post_event,
    shift_app,
    shot,
    shot_detail,
    sign_in,
    trail_evidence,
    vitals_evidence,
)

pytestmark = pytest.mark.e2e

EPOCH_MS = re.compile(r"\b1[6-9]\d{11}\b")  # an epoch-ms number, 2020s
JSON_KEYS = re.compile(
    r"\b(onset_ms|t0_ms|rate_hz|samples|peak_g|probability|trail|vitals|battery_pct|device_ts)\b"
)


@pytest.fixture
async def cloud(tmp_path: Path, serve_app: Callable[[Any], Awaitable[str]]) -> str:
    return await serve_app(shift_app(tmp_path))


@pytest.fixture
async def edge(cloud: str) -> AsyncIterator[httpx.AsyncClient]:
    async with edge_client(cloud) as client:
        yield client


async def child_school_fence(cloud: str, device_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=cloud, timeout=10) as client:
        login = {"username": "operator", "password": PASSWORD}
        assert (await client.post("/api/v1/auth/login", json=login)).status_code == 200
        devices = (await client.get("/api/v1/devices", params={"limit": 500})).json()
        subject_id = next(d["subject_id"] for d in devices if d["device_id"] == device_id)
        plan = (await client.get(f"/api/v1/subjects/{subject_id}/care-plan")).json()
    return dict(next(f for f in plan["fences"] if f["name"] == "学校"))


def assert_operator_text(text: str) -> None:
    assert not EPOCH_MS.search(text), f"an epoch number on screen: {EPOCH_MS.search(text)}"
    assert not JSON_KEYS.search(text), f"a JSON key on screen: {JSON_KEYS.search(text)}"
    assert "274 天" not in text and "{" not in text


async def test_sla_clock_turns_amber_then_red_and_the_alarm_repeats_until_claimed(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    await sign_in(page, cloud)
    await post_event(edge, "card-0001", 1, c.EventKind.SOS, ago_ms=43_500)
    row = page.locator("#queue-list").get_by_role("option").filter(has_text="紧急求助")
    clock = row.locator(".elapsed")
    await expect(clock).to_have_class(re.compile(r"\bsla-ok\b"))
    await expect(clock).to_have_class(re.compile(r"\bsla-amber\b"), timeout=4_000)  # 45 s after the press
    await expect(clock).to_have_attribute("title", re.compile("45 秒转黄"))

    await post_event(edge, "card-0002", 1, c.EventKind.SOS, ago_ms=58_800)
    other = (
        page.locator("#queue-list")
        .get_by_role("option")
        .filter(has_text="紧急求助")
        .filter(has_not=page.locator(".sla-ok"))
    )
    red = page.locator("#queue-list .elapsed.sla-red")
    await expect(red).to_have_count(1, timeout=4_000)  # 60 s after the press
    await expect(other).to_have_count(2)

    sound = page.locator("#sound-toggle")
    await expect(sound).to_have_attribute("data-alarm", "ringing")
    rings = int(await page.locator("html").get_attribute("data-rings") or 0)
    await expect(page.locator("html")).to_have_attribute(
        "data-rings", re.compile(rf"^(?!{rings}$)\d+$"), timeout=6_000
    )

    # claim both P1s: the alarm stops; the clock turns into the answer time
    waiting = page.locator("#queue-list").get_by_role("option").filter(has_text="待接警")
    for left in (1, 0):
        await waiting.first.click()
        await page.keyboard.press("a")
        await page.keyboard.press("Enter")
        await expect(waiting).to_have_count(left)
    await expect(sound).to_have_attribute("data-alarm", "quiet")
    await expect(page.locator("#queue-list .elapsed.claimed").first).to_contain_text("接警")


async def test_muting_is_per_operator_remembered_and_always_visible(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    await sign_in(page, cloud)
    await post_event(edge, "wear-0003", 1, c.EventKind.FALL, ago_ms=5_000)
    sound = page.get_by_role("button", name=re.compile("提示音"))
    await expect(sound).to_have_attribute("data-alarm", "ringing")
    await sound.click()
    await expect(sound).to_have_attribute("aria-pressed", "false")
    notice = page.locator("#mute-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_have_text("提示音已静音 — 1 条 P1 警情待接警")
    rings = await page.locator("html").get_attribute("data-rings")
    await page.reload()
    await expect(page.locator("#conn.conn-open")).to_be_visible()
    await expect(sound).to_have_attribute("data-alarm", "muted")
    await expect(notice).to_be_visible()
    stored = await page.evaluate("() => window.localStorage.getItem('anxin.sound.operator')")
    assert stored == "off"
    assert rings is not None


async def test_queue_sorted_by_priority_then_age_with_filters_owner_and_counts(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    await sign_in(page, cloud)
    await post_event(edge, "wear-0004", 1, c.EventKind.HR_HIGH, ago_ms=200_000)
    await post_event(edge, "card-0005", 1, c.EventKind.SOS, ago_ms=30_000)
    await post_event(edge, "card-0006", 1, c.EventKind.SOS, ago_ms=90_000)
    await post_event(edge, "kid-0001", 1, c.EventKind.GEOFENCE_EXIT, ago_ms=10_000)
    rows = page.get_by_role("listbox", name="警情队列").get_by_role("option")
    await expect(rows).to_have_count(4)
    # P1 first, the longest wait on top; then the P2s, oldest first
    await expect(rows.nth(0)).to_contain_text("1 分 3")
    await expect(rows.nth(1)).to_contain_text("紧急求助")
    await expect(rows.nth(2)).to_contain_text("心率异常（过快）")
    await expect(rows.nth(3)).to_contain_text("离开电子围栏")
    await expect(rows.nth(0)).to_contain_text("未认领")
    counts = page.get_by_role("list", name="各状态数量")
    await expect(counts.locator("[data-state=new]")).to_contain_text("4")

    await rows.nth(2).click()
    await page.keyboard.press("a")
    await page.keyboard.press("Enter")
    await expect(rows.filter(has_text="心率异常（过快）")).to_contain_text("operator")
    await expect(counts.locator("[data-state=new]")).to_contain_text("3")
    await expect(counts.locator("[data-state=acknowledged]")).to_contain_text("1")

    await page.get_by_label("类型").select_option("sos")
    await expect(rows).to_have_count(2)
    await page.get_by_label("类型").select_option("")
    await page.get_by_label("负责人").select_option("mine")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("心率异常")
    await page.get_by_label("负责人").select_option("none")
    await expect(rows).to_have_count(3)
    await page.get_by_label("负责人").select_option("")
    fence_row = rows.filter(has_text="离开电子围栏")
    street = (await fence_row.locator(".who").inner_text()).split(" / ")[-1].strip()
    await page.get_by_label("街道").select_option(street)
    await expect(rows.filter(has_text="离开电子围栏")).to_have_count(1)
    for text in await rows.locator(".who").all_inner_texts():
        assert text.endswith(street)
    await page.get_by_label("街道").select_option("")
    await expect(rows).to_have_count(4)
    await shot(page, "queue-zh")
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("#queue-list [role=option]").first).to_contain_text("P1 critical")
    await shot(page, "queue-en")


async def test_after_a_close_nothing_is_selected_and_a_reflex_key_claims_nothing(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    await sign_in(page, cloud)
    await post_event(edge, "card-0007", 1, c.EventKind.SOS, ago_ms=20_000)
    await post_event(edge, "card-0008", 1, c.EventKind.SOS, ago_ms=10_000)
    rows = page.locator("#queue-list").get_by_role("option")
    await expect(rows).to_have_count(2)
    await expect(page.locator("[role=option][aria-selected=true]")).to_have_count(0)  # nothing chosen yet
    await page.keyboard.press("a")
    await expect(page.get_by_role("dialog")).to_be_hidden()  # nothing selected: the key does nothing

    await page.keyboard.press("j")
    await expect(rows.nth(0)).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("a")
    await page.keyboard.press("Enter")
    await expect(rows.filter(has_text="已接警")).to_have_count(1)
    # the claim's answer re-renders the detail; the key acts once its button is live again
    await expect(page.get_by_role("button", name="办结")).to_be_enabled()
    await page.keyboard.press("r")
    resolve = page.get_by_role("dialog", name="办结警情")
    await expect(resolve).to_be_visible()  # a destructive key asks once
    await page.keyboard.press("Enter")
    await expect(resolve).to_be_hidden()
    await expect(rows).to_have_count(1)
    await expect(page.get_by_text("请选择一条警情")).to_be_visible()
    await expect(page.locator("[role=option][aria-selected=true]")).to_have_count(0)
    await page.keyboard.press("a")  # the reflex
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await expect(rows.first).to_contain_text("待接警")
    await page.keyboard.press("f")
    await expect(page.get_by_role("dialog")).to_be_hidden()

    # focus order: skip link, then the top bar, and the queue is a listbox of options
    await page.keyboard.press("j")
    await expect(rows.nth(0)).to_have_attribute("aria-selected", "true")
    # the selection loads its detail first; the key acts once its button is live
    await expect(page.get_by_role("button", name="误报")).to_be_enabled()
    await page.keyboard.press("f")
    dialog = page.get_by_role("dialog", name="标记为误报")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(rows.first).to_contain_text("待接警")
    await expect(page.locator("main")).to_have_count(1)
    await expect(page.get_by_role("region", name="警情详情")).to_be_visible()
    await expect(page.get_by_role("toolbar", name="操作")).to_be_visible()


async def open_incident(page: Page, text: str) -> None:
    row = page.locator("#queue-list").get_by_role("option").filter(has_text=text)
    await row.click()
    await expect(row).to_have_attribute("aria-selected", "true")


async def test_fall_with_resident_record_and_acceleration_chart(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    decided = now_ms() - 20_000
    evidence = fall_evidence(decided)
    await post_event(
        edge, "wear-0002", 5, c.EventKind.LOW_BATTERY, ago_ms=600_000, evidence={"battery_pct": 23}
    )
    fix = Fix(lat=39.1408, lon=117.0103, accuracy_m=18, source=LocationSource.GNSS)
    await post_event(edge, "wear-0002", 6, c.EventKind.FALL, at_ms=decided, fix=fix, evidence=evidence)
    await sign_in(page, cloud)
    await open_incident(page, "跌倒")
    detail = page.get_by_role("region", name="警情详情")
    record = detail.get_by_role("region", name="人员档案")
    await expect(record).to_contain_text(re.compile(r"\d+ 岁"))
    await expect(record).to_contain_text("**")  # masked name
    await expect(record.get_by_role("img", name="照片（未提供）")).to_be_visible()
    await expect(record.get_by_role("table")).to_contain_text("跌倒/求助手环")
    await expect(record.get_by_role("table")).to_contain_text("23%")
    await expect(record.get_by_role("table")).to_contain_text("本次报警")
    guardians = record.locator(".guardians li")
    await expect(guardians.first).to_contain_text(re.compile(r"\+86 1\d\d\*\*\*\*\d{4}"))
    await expect(record.locator(".guardian-state").first).to_be_visible()
    await expect(record.locator(".plan-step").first).to_be_visible()

    chart = detail.get_by_role("img", name=re.compile("加速度幅值：峰值 3\\.\\d g"))
    await expect(chart).to_be_visible()
    await expect(chart).to_contain_text("撞击")
    await expect(chart).to_contain_text("判定（1.4 秒）")
    await expect(chart.locator("polyline")).to_have_count(1)
    assert_operator_text(await detail.inner_text())

    # the audited reveal: the full address appears and the timeline says who looked
    masked = await record.locator(".reveal-field").nth(1).inner_text()
    await record.get_by_role("button", name="查看完整地址（将记录审计）").click()
    await expect(record.locator(".revealed")).to_have_count(1)
    assert "*" not in await record.locator(".revealed").inner_text()
    assert masked != await record.locator(".reveal-field").nth(1).inner_text()
    await expect(detail.locator(".timeline")).to_contain_text("查看个人信息")
    await shot(page, "fall-zh")
    await shot_detail(page, "fall-detail-zh")
    await page.get_by_role("button", name="English").click()
    detail = page.get_by_role("region", name="Incident detail")
    await expect(detail.get_by_role("img", name=re.compile("Acceleration magnitude"))).to_be_visible()
    assert_operator_text(await detail.inner_text())
    await shot(page, "fall-en")
    await shot_detail(page, "fall-detail-en")


async def test_child_fence_exit_shows_trail_and_fence_on_the_map_after_an_audited_reveal(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    school = await child_school_fence(cloud, "kid-0001")
    alarm = now_ms() - 15_000
    inside = (school["lat"] - 0.0008, school["lon"] - 0.0006)
    evidence = trail_evidence(alarm, inside, (0.00042, 0.00030))
    last = evidence["trail"][-1]
    fix = Fix(lat=last[1], lon=last[2], accuracy_m=12, source=LocationSource.GNSS)
    await post_event(edge, "kid-0001", 21, c.EventKind.GEOFENCE_EXIT, at_ms=alarm, fix=fix, evidence=evidence)
    await sign_in(page, cloud)
    district = page.locator("svg.district-map")
    await expect(page.get_by_role("img", name=re.compile("西青区示意图"))).to_be_visible()
    await expect(district).to_be_visible()
    await expect(district.locator(".map-street")).to_have_count(11)
    await expect(district).to_contain_text("杨柳青镇")
    await expect(district.locator(".map-marker.sev-P2")).to_have_count(1)
    await open_incident(page, "离开电子围栏")
    detail = page.get_by_role("region", name="警情详情")
    place = detail.get_by_role("region", name="位置")
    await expect(place).to_contain_text("儿童位置默认隐藏")
    await expect(place.get_by_role("img")).to_have_count(0)
    await place.get_by_role("button", name="显示位置与轨迹（将记录审计）").click()
    placemap = place.get_by_role("img", name=re.compile("位置轨迹 12 个点"))
    await expect(placemap).to_be_visible()
    await expect(placemap.locator(".map-trail")).to_have_count(1)
    await expect(placemap.locator(".map-fence")).to_have_count(2)
    await expect(placemap).to_contain_text("围栏“学校”")
    await expect(detail.locator(".timeline")).to_contain_text("查看个人信息")
    assert_operator_text(await detail.inner_text())
    await place.scroll_into_view_if_needed()
    await shot(page, "child-fence-zh")
    await shot_detail(page, "child-fence-detail-zh")
    await page.get_by_role("button", name="English").click()
    detail = page.get_by_role("region", name="Incident detail")
    place = detail.get_by_role("region", name="Location")
    await expect(place.get_by_role("img", name=re.compile("Trail of 12 fixes"))).to_be_visible()
    await expect(district).to_contain_text("Yangliuqing")
    assert_operator_text(await detail.inner_text())
    await shot(page, "child-fence-en")
    await shot_detail(page, "child-fence-detail-en")


async def test_vitals_alarm_shows_the_trend_with_the_limits(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    alarm = now_ms() - 40_000
    await post_event(edge, "wear-0005", 3, c.EventKind.HR_HIGH, at_ms=alarm, evidence=vitals_evidence(alarm))
    await sign_in(page, cloud)
    await open_incident(page, "心率异常（过快）")
    detail = page.get_by_role("region", name="警情详情")
    chart = detail.get_by_role("img", name=re.compile(r"心率 144（上限 130、下限 40），血氧"))
    await expect(chart).to_be_visible()
    await expect(chart).to_contain_text("上限 130")
    await expect(chart).to_contain_text("下限 90")
    await expect(chart.locator(".ch-limit")).to_have_count(3)
    await expect(chart.locator("polyline.ch-hr")).to_have_count(2)  # the lost reading breaks the line
    await expect(detail).to_contain_text("心率高于上限")
    assert_operator_text(await detail.inner_text())
    await chart.scroll_into_view_if_needed()
    await shot(page, "vitals-zh")
    await shot_detail(page, "vitals-detail-zh")
    await page.get_by_role("button", name="English").click()
    detail = page.get_by_role("region", name="Incident detail")
    await expect(detail.get_by_role("img", name=re.compile("Heart rate 144"))).to_be_visible()
    await expect(detail).to_contain_text("heart rate above limit")
    await shot(page, "vitals-en")
    await shot_detail(page, "vitals-detail-en")


async def test_a_scenario_with_a_fixed_start_date_shows_clock_times_not_months(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    await sign_in(page, cloud)
    await post_event(edge, "card-0009", 1, c.EventKind.SOS, ago_ms=274 * 86_400_000 + 11 * 3_600_000)
    row = page.locator("#queue-list").get_by_role("option").filter(has_text="紧急求助")
    await expect(row).to_be_visible()
    await open_incident(page, "紧急求助")
    detail = page.get_by_role("region", name="警情详情")
    await expect(detail.locator(".sla-facts")).to_contain_text("设备时钟异常")
    text = await page.locator("main").inner_text()
    assert "274 天" not in text and "天" not in await row.inner_text()
    assert not re.search(r"\+\d{5,} s", text)
    assert_operator_text(await detail.inner_text())


async def test_english_switch_is_complete_and_status_pills_fit(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    await sign_in(page, cloud)
    await post_event(edge, "card-0010", 1, c.EventKind.SOS, ago_ms=3_000)
    banner = page.get_by_role("alert")
    await expect(banner).to_contain_text("新警情：紧急求助")
    await page.get_by_role("button", name="English").click()
    await expect(banner).to_contain_text("New incident: SOS")  # the banner on screen follows the switch
    await open_incident(page, "SOS")
    await page.keyboard.press("a")
    await page.keyboard.press("Enter")
    rows = page.locator("#queue-list").get_by_role("option")
    await expect(rows.first).to_contain_text("Claimed")
    await expect(page.get_by_role("button", name="Dispatch")).to_be_enabled()
    await page.keyboard.press("d")
    await page.keyboard.press("Enter")
    await expect(rows.first).to_contain_text("En route")
    detail = page.get_by_role("region", name="Incident detail")
    await expect(detail.locator(".timeline")).to_contain_text("Device command queued")
    timeline_text = await detail.locator(".timeline").inner_text()
    assert not re.search(r"[a-z]+_[a-z_]+", timeline_text), (
        timeline_text
    )  # no raw kinds like command_delivered
    # every pill fits inside its box and its row
    fits = await page.evaluate(
        """() => [...document.querySelectorAll('.chip, .badge, .elapsed, .count')].map(el => {
             const row = el.closest('.row');
             const box = el.getBoundingClientRect();
             const inRow = !row || (box.right <= row.getBoundingClientRect().right + 0.5);
             return {text: el.textContent, ok: el.scrollWidth <= el.clientWidth + 1 && inRow};
           })"""
    )
    assert fits and all(item["ok"] for item in fits), [item for item in fits if not item["ok"]]
    chrome = await page.locator("header, .queue-head, .filters, .facets, .detail-head").all_inner_texts()
    name = await page.locator("#operator-name").inner_text()  # the account's display name is data
    assert not re.search(r"[\u4e00-\u9fff]", " ".join(chrome).replace("中文", "").replace(name, "")), chrome


def contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    def lum(rgb: tuple[float, ...]) -> float:
        def ch(v: float) -> float:
            v /= 255
            return v / 12.92 if v <= 0.03928 else float(((v + 0.055) / 1.055) ** 2.4)

        return 0.2126 * ch(rgb[0]) + 0.7152 * ch(rgb[1]) + 0.0722 * ch(rgb[2])

    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def test_text_colours_meet_wcag_aa(page: Page, cloud: str, edge: httpx.AsyncClient) -> None:
    await sign_in(page, cloud)
    await post_event(edge, "card-0011", 1, c.EventKind.SOS, ago_ms=50_000)
    await post_event(edge, "card-0012", 1, c.EventKind.SOS, ago_ms=70_000)
    await post_event(edge, "wear-0013", 1, c.EventKind.HR_HIGH, ago_ms=5_000)
    await expect(page.locator("#queue-list .sla-red")).to_have_count(1)
    await expect(page.locator("#queue-list .sla-amber")).to_have_count(1)
    await page.get_by_role("button", name=re.compile("提示音")).click()
    pairs = await page.evaluate(
        """() => {
          const rgb = (s) => (s.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
          const background = (el) => {
            for (let e = el; e; e = e.parentElement) {
              const c = rgb(getComputedStyle(e).backgroundColor);
              if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
            }
            return [255, 255, 255];
          };
          const sel = ['.elapsed', '.chip', '.badge', '.count', '.owner', '.who', '.muted', '.mute-notice',
                       '#sound-toggle', '.filter', '.facets', '.topbar a.nav'].join(', ');
          const shown = [...document.querySelectorAll(sel)]
            .filter(el => el.offsetParent !== null && el.textContent.trim());
          return shown.map(el => ({
            text: el.textContent.trim().slice(0, 30),
            fg: rgb(getComputedStyle(el).color).slice(0, 3),
            bg: background(el),
          }));
        }"""
    )
    assert len(pairs) > 10
    low = [
        (p["text"], round(contrast(tuple(p["fg"]), tuple(p["bg"])), 2))
        for p in pairs
        if contrast(tuple(p["fg"]), tuple(p["bg"])) < 4.5
    ]
    assert not low, low


async def test_the_console_asks_nothing_of_the_internet(
    page: Page, cloud: str, edge: httpx.AsyncClient
) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(cloud) or request.url.startswith("data:")
            else outside.append(request.url)
        ),
    )
    await sign_in(page, cloud)
    await post_event(
        edge, "wear-0014", 2, c.EventKind.FALL, ago_ms=5_000, evidence=fall_evidence(now_ms() - 5_000)
    )
    await open_incident(page, "跌倒")
    await expect(page.get_by_role("img", name=re.compile("加速度幅值"))).to_be_visible()
    await expect(page.get_by_role("img", name=re.compile("西青区示意图"))).to_be_visible()
    assert outside == []
