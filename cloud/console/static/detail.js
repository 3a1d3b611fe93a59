// The detail pane: who/where, the SLA clock to the millisecond, the timeline, location, evidence and
// guardian notifications. Field names follow cloud/incidents/schemas.py (IncidentDetail).

import { h } from "./dom.js";
import { formatCoordinates, formatDelta, formatTimestamp, toMillis } from "./format.js";
import { currentLang, label, t } from "./i18n.js";
import { locationSketch } from "./sketch.js";

const EVIDENCE_VALUE_MAX = 240;

export function severityBadge(severity) {
  return h("span", { class: `badge sev-${severity}` }, label("severity", severity));
}

export function statusChip(status) {
  return h("span", { class: `chip status-${status}` }, label("status", status));
}

export function whereText(subject) {
  return [subject?.community, subject?.street].filter(Boolean).join(" / ") || "—";
}

export function subjectText(subject) {
  const who = subject?.masked_name || "—";
  return subject?.kind ? `${who} · ${label("subject", subject.kind)}` : who;
}

/** Who the incident is about: the person, or — for an alarm from a device no person is registered
 * for here — the 未登记设备 flag and the device id. */
export function whoOf(incident) {
  if (!incident.unassigned) return subjectText(incident.subject);
  return h("span", { class: "unassigned" }, h("span", { class: "badge unassigned-flag" }, t("unassigned.flag")), ` ${incident.device_id ?? ""}`);
}

/** Where: the person's community, or why an unassigned alarm has no person. */
export function whereOf(incident) {
  if (!incident.unassigned) return whereText(incident.subject);
  return label("unassigned", incident.unassigned_reason ?? "unknown_device");
}

/** The incident's location, whichever name the API gives it. */
export function locationOf(incident) {
  return incident.last_location ?? incident.location ?? null;
}

function fact(key, ...value) {
  return [h("dt", {}, t(key)), h("dd", {}, ...value)];
}

function stamp(key, value, origin) {
  if (toMillis(value) === null) return null;
  const delta = origin !== null ? formatDelta(origin, value) : "";
  return fact(key, h("time", { class: "mono" }, formatTimestamp(value)), delta ? h("span", { class: "delta" }, delta) : null);
}

/** A short human line for a timeline entry, from its type and data. */
function entryDetail(entry) {
  const data = entry.data && typeof entry.data === "object" ? entry.data : {};
  const parts = [];
  if (data.event) parts.push(label("kind", data.event));
  if (data.severity) parts.push(label("severity", data.severity));
  if (typeof data.eta_min === "number") parts.push(t("tl.eta", { n: data.eta_min }));
  if (data.responder) parts.push(String(data.responder));
  if (data.outcome) parts.push(label("outcome", data.outcome));
  if (typeof data.count === "number") parts.push(t("tl.count", { n: data.count }));
  if (data.downlink) parts.push(label("downlink", data.downlink));
  const said = currentLang() === "en" ? data.text_en : data.text_zh;
  if (said) parts.push(String(said)); // what the home hub reported (sensor, room, why)
  if (entry.type === "sms_status" && data.status) parts.push(label("delivery", data.status));
  if (entry.type === "sms_status" && data.error_code) parts.push(t("tl.errorCode", { code: data.error_code }));
  if (entry.text) {
    // "短信已发送 SMS sent to +86 138****5678": the label already says it; keep the masked number.
    const masked = ["sms_sent", "sms_status"].includes(entry.type) ? /\+?\d*\s?[\d*]{6,}\s*$/.exec(entry.text) : null;
    parts.push(masked ? masked[0].trim() : String(entry.text));
  }
  return parts.join(" · ");
}

function actorText(actor) {
  return ["device", "edge", "system"].includes(actor) ? label("actor", actor) : String(actor ?? "—");
}

/** The exact label of an incident: the event that opened it (离开电子围栏), not just its group (geofence). */
export function kindText(incident) {
  return label("kind", incident.origin_kind ?? incident.kind);
}

/** "· 最新：进入电子围栏" when a later event of another kind joined the incident, else "". */
export function latestKindText(incident) {
  const latest = incident.last_event_kind;
  if (!latest || latest === (incident.origin_kind ?? incident.kind)) return "";
  return t("detail.latestKind", { kind: label("kind", latest) });
}

function timeline(entries, origin) {
  if (!Array.isArray(entries) || entries.length === 0) return h("p", { class: "muted" }, "—");
  return h(
    "ol",
    { class: "timeline" },
    entries.map((entry) => {
      const type = entry.type ?? entry.action ?? "";
      const detail = entryDetail(entry) || entry.detail || "";
      return h(
        "li",
        { class: `tl-${type}` },
        h("time", { class: "mono" }, formatTimestamp(entry.at)),
        h("span", { class: "delta" }, origin !== null ? formatDelta(origin, entry.at) : ""),
        h("span", { class: "tl-action" }, label("timeline", type)),
        h("span", { class: "tl-actor" }, actorText(entry.actor)),
        detail ? h("span", { class: "tl-detail" }, detail) : null,
      );
    }),
  );
}

function locationBlock(location) {
  if (!location || typeof location.lat !== "number" || typeof location.lon !== "number") {
    return h("p", { class: "muted" }, t("detail.noLocation"));
  }
  const accuracy = typeof location.accuracy_m === "number" ? t("loc.accuracy", { m: Math.round(location.accuracy_m) }) : "—";
  return h(
    "div",
    { class: "location" },
    h(
      "dl",
      { class: "facts" },
      fact("loc.coords", h("span", { class: "mono" }, formatCoordinates(location.lat, location.lon))),
      fact("loc.accuracyLabel", accuracy),
      fact("loc.source", location.source ? label("source", location.source) : "—"),
      location.at ? fact("loc.at", h("time", { class: "mono" }, formatTimestamp(location.at))) : null,
    ),
    locationSketch(location),
  );
}

function shortValue(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > EVIDENCE_VALUE_MAX ? `${text.slice(0, EVIDENCE_VALUE_MAX)}…` : text;
}

/** Evidence: one block per event that joined the incident (the API's `evidence` list). */
function evidenceBlock(evidence) {
  const events = Array.isArray(evidence) ? evidence : evidence && typeof evidence === "object" ? [{ evidence }] : [];
  if (events.length === 0) return h("p", { class: "muted" }, t("detail.noEvidence"));
  return h(
    "ol",
    { class: "evidence-list" },
    events.map((event) =>
      h(
        "li",
        {},
        event.kind
          ? h("p", { class: "ev-head" }, h("strong", {}, label("kind", event.kind)), " ", h("span", { class: "mono muted" }, event.key ?? ""))
          : null,
        event.detail ? h("p", { class: "ev-detail" }, String(event.detail)) : null,
        event.evidence && typeof event.evidence === "object"
          ? h(
              "dl",
              { class: "facts evidence" },
              Object.entries(event.evidence).map(([key, value]) => [
                h("dt", { class: "mono" }, key),
                h("dd", { class: "mono" }, shortValue(value)),
              ]),
            )
          : null,
      ),
    ),
  );
}

function notificationsBlock(notifications) {
  if (!Array.isArray(notifications) || notifications.length === 0) {
    return h("p", { class: "muted" }, t("detail.noNotifications"));
  }
  return h(
    "ul",
    { class: "notifications" },
    notifications.map((n) =>
      h(
        "li",
        {},
        h("span", { class: "mono" }, n.to ?? n.to_masked ?? "—"),
        " ",
        h("span", { class: `chip notify-${n.status}` }, label("notify", n.status)),
        n.delivery_status ? " " : null,
        n.delivery_status
          ? h("span", { class: `chip delivery-${n.delivery_status}` }, label("delivery", n.delivery_status))
          : null,
        " ",
        h("span", { class: "muted" }, [n.language, n.attempts ? t("notify.attempts", { n: n.attempts }) : null].filter(Boolean).join(" · ")),
        n.sent_at ? h("time", { class: "mono delta" }, formatTimestamp(n.sent_at)) : null,
      ),
    ),
  );
}

/** Render the full incident into `container`. */
/** Smoke / gas / water: what the operator does first (119 or the gas company, then the key-safe holder). */
function firstStepsBlock(steps) {
  if (!Array.isArray(steps) || steps.length === 0) return null;
  return h(
    "div",
    { class: "first-steps", role: "alert" },
    h("strong", {}, t("detail.firstSteps")),
    h("ol", {}, steps.map((step) => h("li", {}, label("step", step)))),
  );
}

/** The home sensor that raised it: sensor id, room, and the edge's explanation. */
function homeFacts(home) {
  if (!home) return [];
  const room = currentLang() === "en" ? home.room_en : home.room_zh;
  const why = currentLang() === "en" ? home.text_en : home.text_zh;
  return [
    home.sensor_id
      ? fact("detail.sensor", h("span", { class: "mono" }, home.sensor_id), home.kind ? ` · ${label("device", home.kind)}` : "")
      : null,
    room ? fact("detail.room", room) : null,
    why ? fact("detail.homeReason", why) : null,
  ];
}

export function renderDetail(container, incident) {
  const origin = toMillis(incident.device_ts);
  container.replaceChildren(
    h(
      "div",
      { class: "detail-summary" },
      severityBadge(incident.severity),
      h("strong", { class: "detail-kind" }, kindText(incident)),
      latestKindText(incident) ? h("span", { class: "latest-kind muted" }, latestKindText(incident)) : null,
      statusChip(incident.status),
    ),
    firstStepsBlock(incident.first_steps),
    h("p", { class: "detail-who" }, whoOf(incident), h("span", { class: "muted" }, ` · ${whereOf(incident)}`)),
    h(
      "dl",
      { class: "facts" },
      fact("detail.key", h("span", { class: "mono" }, incident.origin_key ?? incident.key ?? "—")),
      fact("detail.device", h("span", { class: "mono" }, incident.device_id ?? "—")),
      ...homeFacts(incident.home),
      stamp("detail.deviceTs", incident.device_ts, null),
      stamp("detail.edgeTs", incident.edge_ts, origin),
      stamp("detail.cloudTs", incident.cloud_ts, origin),
      stamp("detail.ackAt", incident.acknowledged_at, origin),
      incident.acknowledged_by ? fact("detail.ackBy", incident.acknowledged_by) : null,
      typeof incident.eta_min === "number" ? fact("detail.eta", t("detail.etaValue", { n: incident.eta_min })) : null,
      stamp("detail.guardianAt", incident.guardian_answered_at, origin),
      stamp("detail.dispatchedAt", incident.dispatched_at, origin),
      incident.responder ? fact("detail.responder", incident.responder) : null,
      stamp("detail.resolvedAt", incident.resolved_at, origin),
      incident.outcome ? fact("detail.outcome", label("outcome", incident.outcome)) : null,
      incident.event_count > 1 ? fact("detail.events", String(incident.event_count)) : null,
    ),
    h("h3", {}, t("detail.timeline")),
    timeline(incident.timeline, origin),
    h("h3", {}, t("detail.location")),
    locationBlock(locationOf(incident)),
    h("h3", {}, t("detail.evidence")),
    evidenceBlock(incident.evidence),
    h("h3", {}, t("detail.notifications")),
    notificationsBlock(incident.notifications),
  );
}
