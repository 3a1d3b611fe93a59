// The detail pane: who/where, the SLA clock to the millisecond, the timeline, location and evidence.

import { h } from "./dom.js";
import { formatCoordinates, formatDelta, formatTimestamp, toMillis } from "./format.js";
import { label, t } from "./i18n.js";
import { locationSketch } from "./sketch.js";

const EVIDENCE_VALUE_MAX = 240;

export function severityBadge(severity) {
  return h("span", { class: `badge sev sev-${severity}` }, label("severity", severity));
}

export function statusChip(status) {
  return h("span", { class: `chip status-${status}` }, label("status", status));
}

function whereText(subject) {
  return [subject?.community, subject?.street].filter(Boolean).join(" / ") || "—";
}

export function subjectText(subject) {
  const who = subject?.masked_name || "—";
  return subject?.kind ? `${who} · ${label("subject", subject.kind)}` : who;
}

export { whereText };

function stampRow(key, value, origin) {
  const delta = origin !== null && toMillis(value) !== null ? formatDelta(origin, value) : "";
  return [
    h("dt", {}, t(key)),
    h("dd", {}, h("time", { class: "mono" }, formatTimestamp(value)), delta ? h("span", { class: "delta" }, delta) : null),
  ];
}

function timeline(entries, origin) {
  if (!Array.isArray(entries) || entries.length === 0) return h("p", { class: "muted" }, "—");
  return h(
    "ol",
    { class: "timeline" },
    entries.map((entry) =>
      h(
        "li",
        {},
        h("time", { class: "mono" }, formatTimestamp(entry.at)),
        h("span", { class: "delta" }, origin !== null ? formatDelta(origin, entry.at) : ""),
        h("span", { class: "tl-actor" }, entry.actor ?? "—"),
        h("span", { class: "tl-action" }, label("timeline", entry.action ?? "")),
        entry.detail ? h("span", { class: "tl-detail" }, String(entry.detail)) : null,
      ),
    ),
  );
}

function locationBlock(location) {
  if (!location || typeof location.lat !== "number" || typeof location.lon !== "number") {
    return h("p", { class: "muted" }, t("detail.noLocation"));
  }
  return h(
    "div",
    { class: "location" },
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("loc.coords")),
      h("dd", { class: "mono" }, formatCoordinates(location.lat, location.lon)),
      h("dt", {}, t("loc.accuracyLabel")),
      h("dd", {}, t("loc.accuracy", { m: Math.round(Number(location.accuracy_m) || 0) })),
      h("dt", {}, t("loc.source")),
      h("dd", {}, label("source", location.source ?? "")),
    ),
    locationSketch(location),
  );
}

function evidenceBlock(evidence) {
  if (!evidence || typeof evidence !== "object" || Object.keys(evidence).length === 0) {
    return h("p", { class: "muted" }, t("detail.noEvidence"));
  }
  return h(
    "dl",
    { class: "facts evidence" },
    Object.entries(evidence).map(([key, value]) => {
      let text = typeof value === "string" ? value : JSON.stringify(value);
      if (text.length > EVIDENCE_VALUE_MAX) text = `${text.slice(0, EVIDENCE_VALUE_MAX)}…`;
      return [h("dt", { class: "mono" }, key), h("dd", { class: "mono" }, text)];
    }),
  );
}

/** Render the full incident (list item fields + timeline + evidence) into `container`. */
export function renderDetail(container, incident) {
  const origin = toMillis(incident.device_ts);
  container.replaceChildren(
    h(
      "div",
      { class: "detail-summary" },
      severityBadge(incident.severity),
      h("strong", { class: "detail-kind" }, label("kind", incident.kind)),
      statusChip(incident.status),
    ),
    h("p", { class: "detail-who" }, subjectText(incident.subject), h("span", { class: "muted" }, ` · ${whereText(incident.subject)}`)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("detail.key")),
      h("dd", { class: "mono" }, incident.key ?? "—"),
      h("dt", {}, t("detail.device")),
      h("dd", { class: "mono" }, incident.device_id ?? "—"),
      stampRow("detail.deviceTs", incident.device_ts, null),
      stampRow("detail.edgeTs", incident.edge_ts, origin),
      stampRow("detail.cloudTs", incident.cloud_ts, origin),
      stampRow("detail.ackAt", incident.acknowledged_at, origin),
      h("dt", {}, t("detail.ackBy")),
      h("dd", {}, incident.acknowledged_by ?? "—"),
    ),
    h("h3", {}, t("detail.timeline")),
    timeline(incident.timeline, origin),
    h("h3", {}, t("detail.location")),
    locationBlock(incident.location),
    h("h3", {}, t("detail.evidence")),
    evidenceBlock(incident.evidence),
  );
}
