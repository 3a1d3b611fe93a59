"""What the shift tests share: the cloud on a SQLite file with the demo district, an edge client, the
operator's sign-in, edge events with evidence as the gateway's detectors send it, and the screenshots
under test-artifacts/console/ (git-ignored) for a human to look at."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from playwright.async_api import Page, expect

from cloud.app import create_app
from cloud.registry.demo import DEMO_EDGE_ID
from cloud.settings import CloudSettings
from contracts import intake as c
from contracts.uplink import Fix

EDGE_TOKEN = "console-shift-edge-token-0123456789"
PASSWORD = "console-shift-operator-pass"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


def shift_settings(tmp_path: Path) -> CloudSettings:
    return CloudSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        edge_tokens={DEMO_EDGE_ID: EDGE_TOKEN},
        operator_password=PASSWORD,
        session_secret="console-shift-session-secret-0123456789",
        demo_data=True,
        notifier="console",
        sse_keepalive_s=5,
    )


def shift_app(tmp_path: Path) -> FastAPI:
    return create_app(shift_settings(tmp_path))


def edge_client(base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {EDGE_TOKEN}"}, timeout=10)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def post_event(
    edge: httpx.AsyncClient,
    device_id: str,
    seq: int,
    kind: c.EventKind,
    *,
    ago_ms: int = 2_000,
    fix: Fix | None = None,
    evidence: dict[str, Any] | None = None,
    detail: str | None = None,
    at_ms: int | None = None,
) -> c.IntakeAck:
    """Post one event as the gateway does; the press was ``ago_ms`` ago, or at ``at_ms`` when given."""
    now = now_ms() if at_ms is None else at_ms + ago_ms
    key = c.event_key(device_id, seq)  # a device's own alarm keeps its key; a finding adds its kind
    event = c.EdgeEvent(
        key=key if kind in c.DEVICE_ALARM_KINDS else f"{key}.{kind.value}",
        edge_id=DEMO_EDGE_ID,
        device_id=device_id,
        seq=seq,
        kind=kind,
        severity=c.DEFAULT_SEVERITY[kind],
        device_ts=now - ago_ms,
        edge_ts=now - ago_ms + 180,
        fix=fix,
        detail=detail,
        evidence=evidence,
    )
    response = await edge.post(c.INTAKE_PATH, json=event.model_dump(mode="json"))
    assert response.status_code == 201, response.text
    return c.IntakeAck.model_validate(response.json())


async def sign_in(page: Page, cloud: str, *, lang: str = "zh-CN") -> None:
    """Sign in as the operator; ``lang`` is set in the browser before the console loads."""
    page.set_default_navigation_timeout(20_000)  # two cores shared with other test runs
    await page.goto(f"{cloud}/login")
    await page.evaluate("lang => window.localStorage.setItem('anxin.lang', lang)", lang)
    await page.reload()
    username = "Staff ID" if lang == "en" else "工号"
    password = "Password" if lang == "en" else "密码"
    await page.get_by_label(username).fill("operator")
    await page.get_by_label(password).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in" if lang == "en" else "登录").click()
    await expect(page).to_have_url(f"{cloud}/console")
    await expect(page.locator("#conn.conn-open")).to_be_visible()


async def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    return path


async def shot_detail(page: Page, name: str) -> Path:
    """The whole detail pane in one picture: a tall window for the shot (the pane scrolls on its own)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size or {"width": 1440, "height": 900}
    height = await page.evaluate("() => document.getElementById('detail-body').scrollHeight + 200")
    await page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height))})
    await page.locator("section.detail").screenshot(path=str(path))
    await page.set_viewport_size(size)
    return path


# ---- evidence as the gateway's detectors send it (edge/detection/adapter.py) ----------------------


def fall_evidence(decided_ms: int, *, rate_hz: float = 50.0) -> dict[str, Any]:
    """A wearable's fall: standing at 1 g, a short free fall, a 3.6 g impact, then lying still
    (gravity on another axis). The window is ±2 s around the impact, as the detector keeps it."""
    impact = decided_ms - 1_400
    t0 = impact - 2_000
    samples = []
    for i in range(int(4 * rate_hz)):
        t = (t0 + i * 1000 / rate_hz - impact) / 1000
        if t < -0.45:
            x, y, z = 0.02 * math.sin(9 * t), 0.03, 0.99
        elif t < -0.05:
            x, y, z = 0.05, 0.1, 0.35  # free fall
        elif t < 0.15:
            x, y, z = 1.9, 1.2, 2.8 * (1 - abs(t - 0.05) * 4)  # impact
        else:
            x, y, z = 0.98 + 0.05 * math.exp(-6 * t) * math.sin(30 * t), 0.05, 0.08  # lying on the side
        samples.append([round(x, 3), round(y, 3), round(z, 3)])
    return {
        "reason": "impact_then_posture_change",
        "onset_ms": impact,
        "probability": 0.93,
        "peak_g": 3.62,
        "orientation_change_deg": 84.0,
        "accel": {"t0_ms": t0, "rate_hz": rate_hz, "samples": samples},
    }


def vitals_evidence(alarm_ms: int) -> dict[str, Any]:
    """Ten minutes of heart rate rising past 130 bpm, SpO2 sliding, one reading lost (off-wrist)."""
    points = []
    for i in range(21):
        t = alarm_ms - (20 - i) * 30_000
        hr = 84 + max(0, i - 8) * 5
        spo2 = 97 - max(0, i - 12) * 0.8
        points.append([t, None, None] if i == 6 else [t, hr, round(spo2, 1)])
    return {
        "reason": "hr_above_limit",
        "onset_ms": alarm_ms - 120_000,
        "value": 144.0,
        "limit": 130.0,
        "vitals": points,
    }


def trail_evidence(alarm_ms: int, start: tuple[float, float], heading: tuple[float, float]) -> dict[str, Any]:
    """A child walking out of a fence: 12 fixes a minute apart from ``start`` along ``heading`` (deg/fix)."""
    points = [
        [
            alarm_ms - (11 - i) * 60_000,
            round(start[0] + heading[0] * i, 6),
            round(start[1] + heading[1] * i, 6),
            12.0,
        ]
        for i in range(12)
    ]
    return {"reason": "left_fence:学校", "onset_ms": alarm_ms, "speed_kmh": 4.2, "trail": points}
