// The evidence an incident's events carried, as pictures and plain words: never JSON keys or epoch
// numbers. Known measures get a label and a unit; anything else the gateway sent is left out here.

import { accelChart, batteryGauge, vitalsChart } from "./charts.js";
import { h } from "./dom.js";
import { formatClock, formatDuration } from "./format.js";
import { label, t } from "./i18n.js";

export const DEFAULT_LIMITS = { hr_high_bpm: 130, hr_low_bpm: 40, spo2_low_pct: 90 };

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The named measures of one event, as [label, text] pairs. */
function measures(ev) {
  const out = [];
  const add = (key, text) => out.push([t(key), text]);
  if (typeof ev.reason === "string") {
    const [reason, fence] = ev.reason.split(":");
    add("ev.reason", fence ? `${label("reason", reason)} · ${t("map.fence", { name: fence })}` : label("reason", reason));
  }
  if (num(ev.probability) !== null) add("ev.probability", `${Math.round(ev.probability * 100)}%`);
  if (num(ev.confidence) !== null) add("ev.probability", `${Math.round(ev.confidence * 100)}%`);
  if (num(ev.peak_g) !== null) add("ev.peak", `${ev.peak_g.toFixed(1)} g`);
  if (num(ev.orientation_change_deg) !== null) add("ev.orientation", `${Math.round(ev.orientation_change_deg)}°`);
  if (num(ev.value) !== null) add("ev.value", String(ev.value));
  if (num(ev.limit) !== null) add("ev.limit", String(ev.limit));
  if (num(ev.baseline) !== null) add("ev.baseline", String(ev.baseline));
  if (num(ev.speed_kmh) !== null) add("ev.speed", t("unit.kmh", { v: ev.speed_kmh.toFixed(1) }));
  if (num(ev.quiet_waking_s) !== null) add("ev.quiet", formatDuration(ev.quiet_waking_s * 1000));
  if (num(ev.threshold_s) !== null) add("ev.threshold", formatDuration(ev.threshold_s * 1000));
  if (num(ev.onset_ms) !== null) add("ev.onset", formatClock(ev.onset_ms));
  if (ev.source === "device") add("ev.source", t("ev.sourceDevice"));
  return out;
}

function block(event, limits) {
  const ev = event.evidence && typeof event.evidence === "object" ? event.evidence : {};
  const pictures = [];
  if (ev.accel && typeof ev.accel === "object" && Array.isArray(ev.accel.samples)) {
    const onset = num(ev.onset_ms) ?? num(event.device_ts);
    pictures.push(h("figure", { class: "ev-figure" }, accelChart(ev.accel, onset, num(event.device_ts)), h("figcaption", {}, t("chart.accelCaption"))));
  }
  if (Array.isArray(ev.vitals) && ev.vitals.length > 0) {
    pictures.push(h("figure", { class: "ev-figure" }, vitalsChart(ev.vitals, limits, num(event.device_ts)), h("figcaption", {}, t("chart.vitalsCaption"))));
  }
  if (num(ev.battery_pct) !== null) {
    pictures.push(h("p", { class: "ev-battery" }, batteryGauge(ev.battery_pct), " ", t("chart.battery", { pct: Math.round(ev.battery_pct) })));
  }
  if (Array.isArray(ev.trail) && ev.trail.length > 0) pictures.push(h("p", { class: "muted" }, t("ev.trailOnMap", { n: ev.trail.length })));
  const facts = measures(ev);
  return h(
    "li",
    { class: "ev-item" },
    h("p", { class: "ev-head" }, h("strong", {}, label("kind", event.kind)), " ", h("time", { class: "muted" }, formatClock(event.device_ts))),
    facts.length ? h("dl", { class: "facts ev-facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])) : null,
    pictures,
  );
}

/** Evidence: one block per event that joined the incident (the API's `evidence` list). */
export function evidenceBlock(evidence, limits = DEFAULT_LIMITS) {
  const events = Array.isArray(evidence) ? evidence : [];
  if (events.length === 0) return h("p", { class: "muted" }, t("detail.noEvidence"));
  return h("ol", { class: "evidence-list" }, events.map((event) => block(event, limits)));
}

/** The longest location trail any event carried, as [{at, lat, lon, accuracy_m}]. */
export function trailOf(evidence) {
  let best = [];
  for (const event of Array.isArray(evidence) ? evidence : []) {
    const trail = event?.evidence?.trail;
    if (Array.isArray(trail) && trail.length > best.length) best = trail;
  }
  return best
    .filter((p) => Array.isArray(p) && p.length >= 3)
    .map((p) => ({ at: Number(p[0]), lat: Number(p[1]), lon: Number(p[2]), accuracy_m: num(p[3]) }));
}
