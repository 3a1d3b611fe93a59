// Evidence as pictures, hand-written SVG (no library): the acceleration magnitude around an impact
// with the detector's decision point, the heart-rate / SpO2 trend with the limits, a battery gauge.

import { svg } from "./dom.js";
import { formatClock } from "./format.js";
import { t } from "./i18n.js";

const W = 560;
const PAD = { l: 46, r: 14, t: 16, b: 30 };
const WINDOW_S = 5; // seconds either side of the impact

function scale(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

function polylines(points, x, y) {
  // a gap (null value) breaks the line
  const runs = [];
  let run = [];
  for (const [px, py] of points) {
    if (py === null || py === undefined || !Number.isFinite(py)) {
      if (run.length) runs.push(run);
      run = [];
    } else run.push(`${x(px).toFixed(1)},${y(py).toFixed(1)}`);
  }
  if (run.length) runs.push(run);
  return runs;
}

function frame(width, height, label, cls, ...children) {
  return svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label, class: `chart ${cls}`, preserveAspectRatio: "xMinYMin meet" },
    svg("title", {}, label),
    children,
  );
}

/** |a| in g, ±5 s around the impact (`onsetMs`), the impact and the decision marked. */
export function accelChart(accel, onsetMs, decidedMs) {
  const H = 190;
  const rate = Number(accel?.rate_hz) || 0;
  const samples = Array.isArray(accel?.samples) ? accel.samples : [];
  const t0 = Number(accel?.t0_ms);
  const mags = samples.map((s, i) => [
    (t0 + (i * 1000) / rate - onsetMs) / 1000,
    Array.isArray(s) ? Math.hypot(Number(s[0]) || 0, Number(s[1]) || 0, Number(s[2]) || 0) : null,
  ]);
  const inWindow = mags.filter(([s]) => s >= -WINDOW_S && s <= WINDOW_S);
  const peak = Math.max(1, ...inWindow.map(([, g]) => g ?? 0));
  const top = Math.max(4, Math.ceil(peak));
  const x = scale(-WINDOW_S, WINDOW_S, PAD.l, W - PAD.r);
  const y = scale(0, top, H - PAD.b, PAD.t);
  const decisionS = decidedMs !== null && Number.isFinite(decidedMs) ? (decidedMs - onsetMs) / 1000 : null;
  const grid = [];
  for (let g = 0; g <= top; g += top > 8 ? 2 : 1) {
    grid.push(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(g), y2: y(g), class: "ch-grid" }));
    grid.push(svg("text", { x: PAD.l - 6, y: y(g) + 4, class: "ch-tick", "text-anchor": "end" }, `${g} g`));
  }
  for (let s = -WINDOW_S; s <= WINDOW_S; s += 1) {
    const text = s === 0 ? "0" : t("chart.sec", { s: s > 0 ? `+${s}` : `−${-s}` });
    grid.push(svg("text", { x: x(s), y: H - PAD.b + 16, class: "ch-tick", "text-anchor": "middle" }, text));
  }
  const marks = [
    svg("line", { x1: x(0), x2: x(0), y1: PAD.t, y2: H - PAD.b, class: "ch-impact" }),
    svg("text", { x: x(0) + 4, y: PAD.t + 10, class: "ch-label ch-impact-label" }, t("chart.impact")),
  ];
  if (decisionS !== null) {
    const ds = Math.max(-WINDOW_S, Math.min(WINDOW_S, decisionS));
    marks.push(svg("line", { x1: x(ds), x2: x(ds), y1: PAD.t, y2: H - PAD.b, class: "ch-decision" }));
    marks.push(
      svg("text", { x: x(ds) + 4, y: PAD.t + 26, class: "ch-label ch-decision-label" }, t("chart.decision", { s: decisionS.toFixed(1) })),
    );
  }
  const label = t("chart.accelLabel", { peak: peak.toFixed(1), s: decisionS === null ? "—" : decisionS.toFixed(1) });
  return frame(
    W,
    H,
    label,
    "ch-accel",
    grid,
    svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(1), y2: y(1), class: "ch-ref" }),
    polylines(inWindow, x, y).map((run) => svg("polyline", { points: run.join(" "), class: "ch-line" })),
    marks,
  );
}

function panel(points, from, to, yMin, yMax, top, height, limits, unit, cls) {
  const x = scale(from, to, PAD.l, W - PAD.r);
  const y = scale(yMin, yMax, top + height, top);
  const parts = [svg("rect", { x: PAD.l, y: top, width: W - PAD.l - PAD.r, height, class: "ch-panel" })];
  for (const v of [yMin, Math.round((yMin + yMax) / 2), yMax]) {
    parts.push(svg("text", { x: PAD.l - 6, y: y(v) + 4, class: "ch-tick", "text-anchor": "end" }, String(v)));
  }
  parts.push(svg("text", { x: PAD.l + 4, y: top + 12, class: "ch-label" }, unit));
  for (const [value, text] of limits) {
    parts.push(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(value), y2: y(value), class: "ch-limit" }));
    parts.push(svg("text", { x: W - PAD.r - 4, y: y(value) - 4, class: "ch-label ch-limit-label", "text-anchor": "end" }, text));
  }
  for (const run of polylines(points, x, y)) parts.push(svg("polyline", { points: run.join(" "), class: `ch-line ${cls}` }));
  for (const [px, py] of points) {
    if (py !== null && Number.isFinite(py)) parts.push(svg("circle", { cx: x(px).toFixed(1), cy: y(py).toFixed(1), r: 2.2, class: `ch-dot ${cls}` }));
  }
  return parts;
}

/** Heart rate and SpO2 over the trend the gateway sent, with the person's limits and the alarm time. */
export function vitalsChart(vitals, limits, alarmAt) {
  const rows = (Array.isArray(vitals) ? vitals : []).filter((p) => Array.isArray(p) && Number.isFinite(Number(p[0])));
  const H = 300;
  const times = rows.map((p) => Number(p[0]));
  const from = Math.min(...times);
  const to = Math.max(...times, alarmAt ?? -Infinity);
  const num = (v) => (v === null || v === undefined ? null : Number(v));
  const hr = rows.map((p) => [Number(p[0]), num(p[1])]);
  const spo2 = rows.map((p) => [Number(p[0]), num(p[2])]);
  const hrValues = hr.map(([, v]) => v).filter((v) => v !== null);
  const spValues = spo2.map(([, v]) => v).filter((v) => v !== null);
  const hrMin = Math.floor(Math.min(limits.hr_low_bpm - 10, ...hrValues) / 10) * 10;
  const hrMax = Math.ceil(Math.max(limits.hr_high_bpm + 10, ...hrValues) / 10) * 10;
  const spMin = Math.floor(Math.min(limits.spo2_low_pct - 4, ...spValues));
  const x = scale(from, to, PAD.l, W - PAD.r);
  const ticks = [];
  const span = Math.max(1, to - from);
  for (let i = 0; i <= 4; i += 1) {
    const at = from + (span * i) / 4;
    ticks.push(svg("text", { x: x(at), y: H - 8, class: "ch-tick", "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, formatClock(at)));
  }
  const alarm = alarmAt !== null && alarmAt !== undefined
    ? [
        svg("line", { x1: x(alarmAt), x2: x(alarmAt), y1: PAD.t, y2: H - PAD.b, class: "ch-impact" }),
        svg("text", { x: x(alarmAt) - 4, y: H - PAD.b - 6, class: "ch-label ch-impact-label", "text-anchor": "end" }, t("chart.alarm")),
      ]
    : [];
  const lastHr = hrValues.at(-1);
  const lastSp = spValues.at(-1);
  const label = t("chart.vitalsLabel", {
    hr: lastHr ?? "—",
    spo2: lastSp ?? "—",
    high: limits.hr_high_bpm,
    low: limits.hr_low_bpm,
    sp: limits.spo2_low_pct,
  });
  return frame(
    W,
    H,
    label,
    "ch-vitals",
    panel(hr, from, to, hrMin, hrMax, PAD.t, 120, [
      [limits.hr_high_bpm, t("chart.upper", { v: limits.hr_high_bpm })],
      [limits.hr_low_bpm, t("chart.lower", { v: limits.hr_low_bpm })],
    ], t("chart.hr"), "ch-hr"),
    panel(spo2, from, to, spMin, 100, PAD.t + 140, 110, [[limits.spo2_low_pct, t("chart.lower", { v: limits.spo2_low_pct })]], t("chart.spo2"), "ch-spo2"),
    ticks,
    alarm,
  );
}

/** A battery with its level: red under 15 %, amber under 30 %. */
export function batteryGauge(pct) {
  const value = Math.max(0, Math.min(100, Number(pct)));
  const level = value < 15 ? "low" : value < 30 ? "mid" : "ok";
  const label = t("chart.battery", { pct: Math.round(value) });
  return svg(
    "svg",
    { viewBox: "0 0 44 20", width: 44, height: 20, role: "img", "aria-label": label, class: `battery battery-${level}` },
    svg("title", {}, label),
    svg("rect", { x: 1, y: 2, width: 36, height: 16, rx: 3, class: "bt-case" }),
    svg("rect", { x: 38, y: 7, width: 4, height: 6, rx: 1, class: "bt-tip" }),
    svg("rect", { x: 3, y: 4, width: (32 * value) / 100, height: 12, rx: 2, class: "bt-fill" }),
  );
}
