// The detail pane: who/where, the SLA clock to the millisecond, the timeline, location, evidence and
// guardian notifications. Field names follow cloud/incidents/schemas.py (IncidentDetail).

import { revealPlace } from "./api.js";
import { h } from "./dom.js";
import { DEFAULT_LIMITS, evidenceBlock, trailOf } from "./evidence.js";
import { formatClock, formatCoordinates, formatDelta, formatTimestamp, toMillis } from "./format.js";
import { currentLang, label, t } from "./i18n.js";
import { placeMap } from "./map.js";
import { ownerOf } from "./queue.js";
import { renderRecord } from "./record.js";

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
  if (entry.type === "revealed" && data.field) parts.push(label("revealField", String(data.field).split(":")[0]));
  if (data.reason && typeof data.reason === "string") parts.push(label("reason", data.reason));
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

function locationFacts(location) {
  const accuracy = typeof location.accuracy_m === "number" ? t("loc.accuracy", { m: Math.round(location.accuracy_m) }) : "—";
  return h(
    "dl",
    { class: "facts" },
    fact("loc.coords", h("span", { class: "mono" }, formatCoordinates(location.lat, location.lon))),
    fact("loc.accuracyLabel", accuracy),
    fact("loc.source", location.source ? label("source", location.source) : "—"),
    location.at ? fact("loc.at", h("time", {}, formatClock(location.at))) : null,
  );
}

// Per incident: the resident record's DOM (kept across re-renders, refreshed behind) and what a reveal showed.
const records = new Map();
const places = new Map();

/** Trail and fences on a street-scale map; a child's only after the audited reveal. */
function placeBlock(incident, record) {
  const id = String(incident.id);
  const revealed = places.get(id);
  const location = locationOf(incident);
  if (incident.location_hidden && !revealed) {
    const button = h("button", { type: "button", class: "reveal", title: t("reveal.title") }, t("reveal.place"));
    const box = h("div", { class: "place-hidden" }, h("p", { class: "muted" }, t("detail.locationHidden")), button);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        places.set(id, await revealPlace(id));
        box.replaceWith(placeBlock(incident, record));
        document.dispatchEvent(new CustomEvent("anxin:incident-changed", { detail: { id } }));
      } catch (error) {
        button.disabled = false;
        button.title = t("reveal.failed", { reason: error.message });
      }
    });
    return box;
  }
  const trail = revealed?.trail ?? trailOf(incident.evidence);
  const fences = revealed?.fences ?? record?.fences ?? [];
  const fix = location ?? (trail.length ? trail.at(-1) : null);
  const map = placeMap(trail, fences, location);
  if (!map) return h("p", { class: "muted" }, t("detail.noLocation"));
  return h("div", { class: "location" }, map, fix ? locationFacts(fix) : null);
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
        h("span", { class: "muted" }, [label("lang", n.language), n.attempts ? t("notify.attempts", { n: n.attempts }) : null].filter(Boolean).join(" · ")),
        n.sent_at ? h("time", { class: "mono delta" }, formatTimestamp(n.sent_at)) : null,
      ),
    ),
  );
}

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

function slaFacts(incident, origin) {
  return h(
    "dl",
    { class: "facts sla-facts" },
    fact("detail.key", h("span", { class: "mono" }, incident.origin_key ?? incident.key ?? "—")),
    stamp("detail.deviceTs", incident.device_ts, null),
    stamp("detail.edgeTs", incident.edge_ts, origin),
    stamp("detail.cloudTs", incident.cloud_ts, origin),
    stamp("detail.ackAt", incident.acknowledged_at, origin),
    ownerOf(incident) ? fact("detail.owner", ownerOf(incident)) : null,
    typeof incident.eta_min === "number" ? fact("detail.eta", t("detail.etaValue", { n: incident.eta_min })) : null,
    stamp("detail.guardianAt", incident.guardian_answered_at, origin),
    stamp("detail.dispatchedAt", incident.dispatched_at, origin),
    incident.responder ? fact("detail.responder", incident.responder) : null,
    stamp("detail.resolvedAt", incident.resolved_at, origin),
    incident.outcome ? fact("detail.outcome", label("outcome", incident.outcome)) : null,
    incident.event_count > 1 ? fact("detail.events", String(incident.event_count)) : null,
  );
}

function section(key, ...children) {
  const id = `sec-${key.replace(/\W/g, "-")}`;
  return h("section", { class: "detail-section", "aria-labelledby": id }, h("h3", { id }, t(key)), ...children);
}

/** Render the full incident into `container`; the resident record loads beside it. */
export function renderDetail(container, incident) {
  const id = String(incident.id);
  const origin = toMillis(incident.device_ts);
  let entry = records.get(id);
  if (!entry) {
    for (const key of records.keys()) if (records.size > 20) records.delete(key);
    entry = { node: h("div", { class: "record" }, h("p", { class: "muted" }, t("record.loading"))), record: null };
    records.set(id, entry);
  }
  const evidenceBox = h("div", {}, evidenceBlock(incident.evidence, entry.record?.limits ?? DEFAULT_LIMITS));
  const placeBox = h("div", {}, placeBlock(incident, entry.record));
  const current = entry;
  renderRecord(entry.node, id).then((record) => {
    if (record === null) return;
    const first = current.record === null;
    current.record = record;
    if (first && evidenceBox.isConnected) {
      evidenceBox.replaceChildren(evidenceBlock(incident.evidence, record.limits));
      placeBox.replaceChildren(placeBlock(incident, record));
    }
  });
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
    incident.home
      ? h("dl", { class: "facts" }, fact("detail.device", h("span", { class: "mono" }, incident.device_id ?? "—")), ...homeFacts(incident.home))
      : null,
    section("detail.record", entry.node),
    section("detail.evidence", evidenceBox),
    section("detail.location", placeBox),
    section("detail.sla", slaFacts(incident, origin)),
    section("detail.timeline", timeline(incident.timeline, origin)),
    section("detail.notifications", notificationsBlock(incident.notifications)),
  );
}
