"""The operator console and the dev phone page against the real cloud app, in a real Chromium.

The cloud runs under uvicorn on a free port on a SQLite file in tmp_path, with the demo district
loaded (device ``card-0001`` belongs to an elder with guardians) and the console notifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from playwright.async_api import Page, expect

from broker.runner import free_port
from cloud.app import create_app
from cloud.console.pages import router as console_router
from cloud.registry.demo import DEMO_EDGE_ID
from cloud.settings import CloudSettings
from contracts import intake as c
from contracts.uplink import Fix, LocationSource
from tests.console.shift_harness import post_event

pytestmark = pytest.mark.e2e

EDGE_TOKEN = "console-e2e-edge-token-0123456789"
PASSWORD = "console-e2e-operator-pass"
Screenshot = Callable[[Page, str], Awaitable[Path]]


def console_app(settings: CloudSettings) -> FastAPI:
    """The cloud app with the console pages, whether or not ``create_app`` includes them yet."""
    app = create_app(settings)
    if not any(getattr(route, "path", None) == "/console" for route in app.routes):
        app.include_router(console_router)
    return app


def cloud_settings(tmp_path: Path) -> CloudSettings:
    return CloudSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        edge_tokens={DEMO_EDGE_ID: EDGE_TOKEN},
        operator_password=PASSWORD,
        session_secret="console-e2e-session-secret-0123456789",
        demo_data=True,
        notifier="console",
        sse_keepalive_s=5,
        password_hash_memory_kib=8192,
        password_hash_time_cost=1,
        # the guardian ladder texts its first contact at once (the default waits 90 s for a claim)
        escalation_policies={
            severity: {"steps": [{"action": "start_ladder", "after_s": 0.01}], "ladder_wait_s": 600}
            for severity in ("P1", "P2")
        },
    )


@pytest.fixture
async def cloud(tmp_path: Path, serve_app: Callable[[Any], Awaitable[str]]) -> str:
    return await serve_app(console_app(cloud_settings(tmp_path)))


def edge_client(base: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {EDGE_TOKEN}"}
    return httpx.AsyncClient(base_url=base, headers=headers, timeout=10)


@pytest.fixture
async def edge(cloud: str) -> AsyncIterator[httpx.AsyncClient]:
    async with edge_client(cloud) as client:
        yield client


def has_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){name}(\s|$)")


async def log_in(page: Page, cloud: str, path: str = "/console") -> None:
    await page.goto(f"{cloud}{path}")
    await expect(page).to_have_url(f"{cloud}/login?next=%2F{path.strip('/').replace('/', '%2F')}")
    await page.get_by_label("工号").fill("operator")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{cloud}{path}")
    await expect(page.get_by_role("status").filter(has_text="已连接")).to_be_visible()


async def next_command(edge: httpx.AsyncClient, downlink_type: str) -> dict[str, Any]:
    """Read the edge's command stream until a command with ``downlink_type`` arrives."""
    path = c.COMMANDS_PATH.format(edge_id=DEMO_EDGE_ID)
    async with asyncio.timeout(10), edge.stream("GET", path, timeout=None) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                command = orjson.loads(line[5:])
                if command["downlink"]["type"] == downlink_type:
                    return dict(command)
    raise AssertionError("command stream ended")


async def test_new_sos_appears_live_and_is_acknowledged_with_the_keyboard(
    page: Page, cloud: str, edge: httpx.AsyncClient, screenshot: Screenshot
) -> None:
    await log_in(page, cloud)
    queue = page.get_by_role("listbox", name="警情队列")
    await expect(page.get_by_text("暂无警情")).to_be_visible()

    fix = Fix(lat=39.1186, lon=117.0127, accuracy_m=35, source=LocationSource.GNSS)
    ack = await post_event(edge, "card-0001", 41, c.EventKind.SOS, fix=fix)
    row = queue.get_by_role("option").filter(has_text="紧急求助")
    await expect(row).to_be_visible(timeout=2_000)  # live, no reload (typically ~0.15 s; margin for load)
    await expect(row).to_contain_text("P1 危急")
    await expect(row).to_contain_text("待接警")
    await expect(row).to_have_class(has_class("fresh"))
    await expect(page.get_by_role("alert")).to_contain_text("新警情：紧急求助")
    await expect(row).to_have_attribute("aria-selected", "false")  # a new alarm never takes the selection
    await row.click()
    await expect(row).to_have_attribute("aria-selected", "true")
    detail = page.get_by_role("region", name="警情详情")
    await expect(detail).to_contain_text("39.11860° N, 117.01270° E")
    await expect(detail).to_contain_text("警情建立")
    await screenshot(page, "console-new-sos")

    await queue.focus()
    await page.keyboard.press("a")
    dialog = page.get_by_role("dialog", name="接警")
    eta = dialog.get_by_label("预计到达（分钟）")
    await expect(eta).to_have_value("15")
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    await expect(row).to_contain_text("已接警")
    await expect(detail.get_by_role("listitem").filter(has_text="值班员接警")).to_contain_text("operator")
    await expect(page.get_by_role("button", name="接警")).to_be_disabled()
    await expect(page.get_by_role("button", name="派出救助")).to_be_enabled()

    command = await next_command(edge, "operator_ack")
    assert command["device_id"] == "card-0001"
    assert command["downlink"]["incident_key"] == ack.key
    assert command["downlink"]["eta_min"] == 15


async def test_an_sos_from_an_unregistered_device_is_an_unassigned_alarm_in_the_queue(
    page: Page, cloud: str, edge: httpx.AsyncClient, screenshot: Screenshot
) -> None:
    await log_in(page, cloud)
    queue = page.get_by_role("listbox", name="警情队列")
    await post_event(edge, "new-card-77", 1, c.EventKind.SOS)
    row = queue.get_by_role("option").filter(has_text="未登记设备")
    await expect(row).to_be_visible(timeout=2_000)
    await expect(row).to_contain_text("P1 危急")
    await expect(row).to_contain_text("new-card-77")
    await expect(row).to_contain_text("中心未登记此设备")
    await row.click()  # a new alarm never takes the selection: the operator chooses
    detail = page.get_by_role("region", name="警情详情")
    await expect(detail).to_contain_text("未登记设备")
    await screenshot(page, "console-unassigned-sos")


async def test_dev_phones_show_the_guardians_sms_live(
    page: Page, cloud: str, edge: httpx.AsyncClient, screenshot: Screenshot
) -> None:
    await log_in(page, cloud, "/dev/phones")
    await expect(page.get_by_role("heading", name="开发用：模拟家属手机")).to_be_visible()
    await expect(page.get_by_text("还没有短信")).to_be_visible()

    await post_event(edge, "wear-0002", 7, c.EventKind.FALL)
    phones = page.get_by_role("article")
    await expect(phones.first).to_be_visible(timeout=5_000)  # live over sms.sent, no reload
    first = phones.first
    await expect(first.get_by_role("heading")).to_have_text(re.compile(r"^家属手机 \+86 1\d\d\*\*\*\*\d{4}$"))
    await expect(first.get_by_role("listitem").first).to_contain_text("跌倒")
    page_text = await page.locator("main").inner_text()
    assert not re.search(r"\+861\d{10}", page_text), "a full phone number is on the page"
    await screenshot(page, "dev-phones")

    await page.reload()  # the same messages come back from GET /api/v1/dev/sms, masked, once each
    await expect(page.get_by_role("article")).to_have_count(await phones.count())
    await expect(first.get_by_role("listitem")).to_have_count(1)


async def test_full_lifecycle_with_buttons_and_keys(
    page: Page, cloud: str, edge: httpx.AsyncClient, screenshot: Screenshot
) -> None:
    await log_in(page, cloud)
    fix = Fix(lat=39.0712, lon=117.0034, accuracy_m=420, source=LocationSource.LBS)
    await post_event(
        edge,
        "wear-0003",
        3,
        c.EventKind.HR_HIGH,
        ago_ms=95_000,
        fix=fix,
        evidence={"hr_bpm_max": 148, "window_s": 60},
    )
    await post_event(edge, "kid-0001", 5, c.EventKind.GEOFENCE_EXIT, ago_ms=30_000)
    await post_event(edge, "card-0004", 9, c.EventKind.SOS, ago_ms=4_000)
    queue = page.get_by_role("listbox", name="警情队列")
    rows = queue.get_by_role("option")
    await expect(rows).to_have_count(3)
    # the P1 on top, then the P2s, the longest wait first
    await expect(rows.nth(0)).to_contain_text("紧急求助")
    await expect(rows.nth(1)).to_contain_text("心率异常（过快）")
    await expect(rows.nth(2)).to_contain_text("离开电子围栏")
    await expect(rows.nth(1)).to_contain_text(re.compile(r"1 分 3\d 秒"))

    await queue.focus()
    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog", name="键盘快捷键")).to_be_visible()
    await page.keyboard.press("Escape")
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
    detail = page.get_by_role("region", name="警情详情")
    await expect(detail).to_contain_text("心率异常（过快）")
    await expect(detail).not_to_contain_text("hr_bpm_max")  # no JSON keys where the operator looks
    await screenshot(page, "console-queue")

    # acknowledge with a chosen ETA by button, dispatch by key, add a note, resolve with an outcome
    await page.get_by_role("button", name="接警").click()
    await page.get_by_label("预计到达（分钟）").fill("8")
    await page.get_by_role("button", name="确定").click()
    await expect(detail).to_contain_text("预计 8 分钟到达")
    await expect(page.get_by_role("status").filter(has_text="已完成：接警")).to_be_visible()
    await page.keyboard.press("d")
    await page.get_by_label("救助人员 / 单位（工号或代号，可不填）").fill("网格员-07")
    await page.keyboard.press("Enter")
    await expect(rows.filter(has_text="心率异常（过快）")).to_contain_text("救助途中")
    await expect(page.get_by_role("status").filter(has_text="已完成：派出救助")).to_be_visible()
    await page.keyboard.press("n")
    await page.get_by_label("备注内容（请勿填写姓名、电话、住址）").fill("已电话联系，人员到场")
    await page.get_by_role("button", name="确定").click()
    await expect(detail.get_by_role("listitem").filter(has_text="备注")).to_contain_text("已电话联系")
    await expect(page.get_by_role("status").filter(has_text="已完成：备注")).to_be_visible()
    await page.keyboard.press("r")
    await page.get_by_label("处置结果").select_option("taken_to_hospital")
    await page.keyboard.press("Enter")
    await expect(rows).to_have_count(2)  # closed incidents leave the open queue
    await page.get_by_role("button", name="已关闭").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("已办结")

    # the SOS that the person never cancelled: false alarm by key
    await page.get_by_role("button", name="处理中").click()
    await rows.filter(has_text="紧急求助").click()
    await page.keyboard.press("f")
    await page.get_by_role("dialog", name="标记为误报").get_by_role("button", name="确定").click()
    await expect(rows).to_have_count(1)


async def test_english_toggle_is_remembered_across_reloads(
    page: Page, cloud: str, edge: httpx.AsyncClient, screenshot: Screenshot
) -> None:
    await log_in(page, cloud)
    await post_event(edge, "kid-0001", 5, c.EventKind.GEOFENCE_EXIT, ago_ms=30_000)
    await expect(
        page.locator("#queue-list").get_by_role("option").filter(has_text="离开电子围栏")
    ).to_be_visible()
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", name="Incident queue")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("button", name="中文")).to_be_visible()
    rows = page.get_by_role("listbox", name="Incident queue").get_by_role("option")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Left the geofence")
    await expect(rows.first).to_contain_text("P2 urgent")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await screenshot(page, "console-english")
    await page.get_by_role("button", name="中文").click()
    await expect(page.get_by_role("heading", name="警情队列")).to_be_visible()
    sound = page.get_by_role("button", name="提示音")
    await expect(sound).to_have_attribute("aria-pressed", "true")
    await sound.click()
    await page.reload()
    await expect(sound).to_have_attribute("aria-pressed", "false")


async def test_wrong_password_is_refused_on_the_login_page(
    page: Page, cloud: str, screenshot: Screenshot
) -> None:
    await page.goto(f"{cloud}/login")
    await page.get_by_label("工号").fill("operator")
    await page.get_by_label("密码").fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_have_text("工号或密码不正确")
    await screenshot(page, "login-refused")
    await expect(page).to_have_url(f"{cloud}/login")


async def test_connection_indicator_and_resync_when_the_cloud_restarts(
    page: Page, tmp_path: Path, serve_context: Callable[..., contextlib.AbstractAsyncContextManager[str]]
) -> None:
    settings = cloud_settings(tmp_path)
    port = free_port()
    indicator = page.get_by_role("status", name="实时连接状态")
    first = console_app(settings)
    async with serve_context(first, port=port) as base:
        await log_in(page, base)
        first.state.hub.close()  # what shutdown does: every live stream ends
    await expect(indicator).to_have_text("连接中断")

    async with serve_context(console_app(settings), port=port) as base:
        async with edge_client(base) as edge:
            await post_event(edge, "card-0005", 2, c.EventKind.SOS)  # happened while the page was away
        await expect(indicator).to_have_text("已连接", timeout=10_000)  # EventSource retried by itself
        await expect(
            page.locator("#queue-list").get_by_role("option").filter(has_text="紧急求助")
        ).to_be_visible()
        await page.close()  # before the server stops, so no open stream holds it up


async def test_signing_out_returns_to_the_login_page(page: Page, cloud: str) -> None:
    await log_in(page, cloud)
    await page.get_by_role("button", name="退出登录").click()
    await expect(page).to_have_url(f"{cloud}/login")
    await page.goto(f"{cloud}/console")
    await expect(page).to_have_url(f"{cloud}/login?next=%2Fconsole")


async def test_guardian_answers_on_the_dev_phone_and_the_operator_sees_it(
    page: Page, cloud: str, edge: httpx.AsyncClient, screenshot: Screenshot
) -> None:
    await log_in(page, cloud)
    await post_event(edge, "kid-0001", 11, c.EventKind.GEOFENCE_EXIT, ago_ms=20_000)
    await post_event(edge, "kid-0001", 12, c.EventKind.GEOFENCE_ENTER, ago_ms=5_000)
    row = page.get_by_role("listbox", name="警情队列").get_by_role("option").first
    await expect(row).to_contain_text("离开电子围栏")  # the exact kind that opened it, not the group
    await expect(row).to_contain_text("最新：进入电子围栏")
    await row.click()
    detail = page.get_by_role("region", name="警情详情")
    await expect(detail).to_contain_text("最新：进入电子围栏")

    phone_page = await page.context.new_page()
    await phone_page.goto(f"{cloud}/dev/phones")
    phone = phone_page.get_by_role("article").first
    await expect(phone).to_contain_text("离开安全区域")
    reply = phone.get_by_role("textbox", name="以该家属身份回复短信")
    await reply.fill("1")
    await phone.get_by_role("button", name="回复").click()
    await expect(phone.locator(".sms-in")).to_contain_text("1")
    await expect(phone).to_contain_text("已收到：您正前往")  # the answer comes back as an SMS, live
    await reply.fill("我十分钟后到")
    await reply.press("Enter")
    await expect(phone).to_contain_text("留言已转给值班员")
    page_text = await phone_page.locator("main").inner_text()
    assert not re.search(r"\+861\d{10}", page_text), "a full phone number is on the page"
    await screenshot(phone_page, "dev-phones-reply")

    acknowledged = detail.get_by_role("listitem").filter(has_text="家属回复：正前往")
    await expect(acknowledged).to_be_visible()
    await expect(detail.get_by_role("listitem").filter(has_text="家属留言")).to_contain_text("我十分钟后到")
    await expect(
        detail.get_by_role("definition").filter(has_text=re.compile(r"\+\d+\.\d{3} 秒"))
    ).not_to_have_count(0)
    await expect(detail).to_contain_text("家属已知悉")
    await page.bring_to_front()
    await screenshot(page, "console-guardian-answer")
    await phone_page.close()


async def test_a_home_smoke_alarm_names_sensor_and_room_and_says_what_to_do_first(
    page: Page, cloud: str, edge: httpx.AsyncClient, screenshot: Screenshot
) -> None:
    """hub-0001 is a demo elder's smart service pack; its smoke detector is in the kitchen."""
    await log_in(page, cloud)
    evidence = {
        "sensor_id": "hub-0001-smoke",
        "sensor_kind": "smoke_detector",
        "room": "kitchen",
        "text_en": "Smoke alarm in the kitchen at 12:10 (hub-0001-smoke)",
        "text_zh": "12:10 烟雾报警（hub-0001-smoke）",
    }
    await post_event(edge, "hub-0001", 5, c.EventKind.SMOKE, evidence=evidence)
    row = page.get_by_role("listbox", name="警情队列").get_by_role("option").filter(has_text="烟雾报警")
    await expect(row).to_contain_text("P1 危急", timeout=2_000)
    await row.click()  # a new alarm never takes the selection: the operator chooses
    detail = page.get_by_role("region", name="警情详情")
    first = detail.get_by_role("alert")
    await expect(first).to_contain_text("请先处置")
    await expect(first.get_by_role("listitem").first).to_have_text("拨打119火警电话")
    await expect(first.get_by_role("listitem").last).to_contain_text("钥匙保管人")
    await expect(detail).to_contain_text("hub-0001-smoke · 烟感")
    await expect(detail).to_contain_text("厨房")
    await expect(detail.get_by_role("listitem").filter(has_text="警情建立")).to_contain_text("12:10 烟雾报警")
    await screenshot(page, "console-home-smoke")

    await page.goto(f"{cloud}/dev/phones")
    sms = page.get_by_role("article").first.get_by_role("listitem").first
    await expect(sms).to_contain_text("智慧助老服务包", timeout=5_000)
    await expect(sms).to_contain_text("检测到烟雾报警（厨房）")


async def test_a_claim_shows_the_owner_the_plan_reveals_on_request_and_the_admin_and_reports_pages(
    page: Page, cloud: str, edge: httpx.AsyncClient, screenshot: Screenshot
) -> None:
    await log_in(page, cloud)
    queue = page.get_by_role("listbox", name="警情队列")
    await post_event(edge, "card-0003", 1, c.EventKind.SOS)
    row = queue.get_by_role("option").filter(has_text="紧急求助")
    await expect(row).to_contain_text("未认领")
    await row.click()  # nothing is selected until the operator chooses
    await page.keyboard.press("a")
    await page.keyboard.press("Enter")
    await expect(row.locator(".owner")).to_have_text("operator")  # the queue shows who owns it

    detail = page.get_by_role("region", name="警情详情")
    await expect(detail).to_contain_text("处置预案")
    address = detail.get_by_role("region", name="人员档案").locator(".reveal-field").nth(1)
    await expect(address).not_to_contain_text(re.compile(r"\d号楼"))  # digits hidden until revealed
    await address.get_by_role("button", name="查看完整地址（将记录审计）").click()
    await expect(address).to_contain_text(re.compile(r"\d号楼"))
    await expect(detail.get_by_role("listitem").filter(has_text="查看个人信息")).to_be_visible()  # audited
    await screenshot(page, "console-claimed-plan")

    await page.goto(f"{cloud}/console/reports")
    await expect(page.get_by_text("60 秒内接警")).to_be_visible()
    await expect(page.get_by_role("link", name="下载全部警情 CSV")).to_have_attribute(
        "href", "/api/v1/reports/incidents.csv"
    )
    await page.goto(f"{cloud}/console/admin")
    await expect(page.locator("tr[data-username='op-two']")).to_contain_text("西营门")
