// Turning wire values (timestamps, durations, coordinates) into text an operator reads: local clock
// times, "2 分钟前", humanised durations. No epoch numbers, no DOM here.

import { t } from "./i18n.js";

const DAY_MS = 86_400_000;

/** Milliseconds since epoch from an epoch-ms number, a numeric string or an ISO-8601 string; null if absent. */
export function toMillis(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** Local wall-clock time to the millisecond: 2026-11-30 15:40:33.123 */
export function formatTimestamp(value) {
  const ms = toMillis(value);
  if (ms === null) return "—";
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** Short time of day (15:40:33); with the date in front when it is not today. */
export function formatClock(value, now = Date.now()) {
  const ms = toMillis(value);
  if (ms === null) return "—";
  const d = new Date(ms);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return new Date(now).toDateString() === d.toDateString() ? time : `${t("date.md", { m: d.getMonth() + 1, d: d.getDate() })} ${time}`;
}

/** A duration in words: "12 秒", "3 分 05 秒", "2 小时 05 分"; beyond a day only days and hours. */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return t("elapsed.d", { d, h });
  if (h > 0) return t("elapsed.hm", { h, m: pad(m) });
  if (m > 0) return t("elapsed.ms", { m, s: pad(s) });
  return t("elapsed.s", { s });
}

/**
 * The queue's clock since the press. Beyond a day it stops being a clock (a scenario with a fixed
 * start date, a device whose clock is wrong): the press time is shown instead of "274 天".
 */
export function formatElapsed(since, now) {
  if (since === null) return "—";
  if (now - since >= DAY_MS) return formatClock(since, now);
  return formatDuration(now - since);
}

/** "刚刚", "2 分钟前", "3 小时前", else the clock time: for "last seen" and similar. */
export function formatAgo(value, now = Date.now()) {
  const ms = toMillis(value);
  if (ms === null) return "—";
  const seconds = Math.round((now - ms) / 1000);
  if (seconds < 45 && seconds > -45) return t("ago.now");
  if (seconds < 0) return formatClock(ms, now);
  if (seconds < 3600) return t("ago.min", { n: Math.max(1, Math.round(seconds / 60)) });
  if (seconds < DAY_MS / 1000) return t("ago.hour", { n: Math.round(seconds / 3600) });
  return formatClock(ms, now);
}

/**
 * The offset of a stamp from the press, for the SLA clock and the timeline: "+2.013 秒", "+3 分 05 秒".
 * Offsets beyond a day mean the device clock is wrong: say so instead of a number.
 */
export function formatDelta(from, to) {
  const a = toMillis(from);
  const b = toMillis(to);
  if (a === null || b === null) return "";
  const diff = b - a;
  if (Math.abs(diff) >= DAY_MS) return t("delta.clockOff");
  const sign = diff >= 0 ? "+" : "−";
  if (Math.abs(diff) < 60_000) return `${sign}${t("delta.s", { s: (Math.abs(diff) / 1000).toFixed(3) })}`;
  return `${sign}${formatDuration(Math.abs(diff))}`;
}

/** 39.08412° N, 117.06521° E */
export function formatCoordinates(lat, lon) {
  const ns = lat >= 0 ? "N" : "S";
  const ew = lon >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(5)}° ${ns}, ${Math.abs(lon).toFixed(5)}° ${ew}`;
}
