// The incident queue as data: which incidents show under which filter, and in which order. No DOM.

export const OPEN_STATUSES = new Set(["new", "acknowledged", "dispatched"]);
const SEVERITY_RANK = { P1: 1, P2: 2, P3: 3, P4: 4 };

export function isOpen(incident) {
  return OPEN_STATUSES.has(incident.status);
}

export function matchesFilter(incident, filter) {
  if (filter === "open") return isOpen(incident);
  if (filter === "closed") return !isOpen(incident);
  return true;
}

/** A number to sort by "newest first": the device press time, else when the center received it. */
function recency(incident, toMillis) {
  return toMillis(incident.device_ts) ?? toMillis(incident.cloud_ts) ?? 0;
}

/**
 * Open view: unacknowledged first, then by severity (P1 first), then newest first, so a fresh P1 lands
 * on top. Other views: newest first.
 */
export function sortIncidents(items, filter, toMillis) {
  const byRecency = (a, b) => recency(b, toMillis) - recency(a, toMillis);
  if (filter !== "open") return [...items].sort(byRecency);
  return [...items].sort((a, b) => {
    const waiting = Number(b.status === "new") - Number(a.status === "new");
    if (waiting !== 0) return waiting;
    const severity = (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9);
    return severity !== 0 ? severity : byRecency(a, b);
  });
}

/** Incidents by id; `upsert` says whether the incident is new to this page. */
export class IncidentStore {
  constructor() {
    this.byId = new Map();
  }

  replaceAll(items) {
    this.byId = new Map(items.filter(isIncident).map((item) => [String(item.id), item]));
  }

  /** Add an incident, or merge fields into a known one (an update may carry only what changed). */
  upsert(item) {
    const known = item !== null && typeof item === "object" && this.byId.has(String(item.id));
    if (!isIncident(item) && !known) return { accepted: false, isNew: false };
    const id = String(item.id);
    const isNew = !known;
    const merged = { ...(this.byId.get(id) ?? {}), ...item };
    if (!isIncident(merged)) return { accepted: false, isNew: false };
    this.byId.set(id, merged);
    return { accepted: true, isNew };
  }

  get(id) {
    return this.byId.get(String(id)) ?? null;
  }

  visible(filter, toMillis) {
    const shown = [...this.byId.values()].filter((item) => matchesFilter(item, filter));
    return sortIncidents(shown, filter, toMillis);
  }
}

/** The least a list item needs before the page shows it. */
export function isIncident(item) {
  return (
    item !== null &&
    typeof item === "object" &&
    (typeof item.id === "string" || typeof item.id === "number") &&
    typeof item.status === "string" &&
    typeof item.kind === "string"
  );
}
