// Turning wire values (timestamps, durations, coordinates) into text. No DOM here.

import { t } from "./i18n.js";

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

/** Short time of day (15:40:33) for the queue. */
export function formatClock(value) {
  const ms = toMillis(value);
  if (ms === null) return "—";
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Elapsed time between `since` and `now` (both epoch ms) as words: "3 分 05 秒". */
export function formatElapsed(since, now) {
  if (since === null) return "—";
  const total = Math.max(0, Math.floor((now - since) / 1000));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return t("elapsed.d", { d, h });
  if (h > 0) return t("elapsed.hm", { h, m: pad(m) });
  if (m > 0) return t("elapsed.ms", { m, s: pad(s) });
  return t("elapsed.s", { s });
}

/** Milliseconds between two stamps, for the timeline's "+1.234 s" column. */
export function formatDelta(from, to) {
  const a = toMillis(from);
  const b = toMillis(to);
  if (a === null || b === null) return "";
  const seconds = (b - a) / 1000;
  return `${seconds >= 0 ? "+" : "−"}${Math.abs(seconds).toFixed(3)} s`;
}

/** 39.08412° N, 117.06521° E */
export function formatCoordinates(lat, lon) {
  const ns = lat >= 0 ? "N" : "S";
  const ew = lon >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(5)}° ${ns}, ${Math.abs(lon).toFixed(5)}° ${ew}`;
}
