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

/** Whether `candidate` is not older than `current` (by the server's `updated_at`, when both have it). */
function notOlder(candidate, current) {
  if (typeof candidate.updated_at !== "number" || typeof current?.updated_at !== "number") return true;
  return candidate.updated_at >= current.updated_at;
}

/**
 * Incidents by id; `upsert` says whether the incident is new to this page.
 *
 * A list reload races the live stream: an event can arrive while the list request is in flight, and
 * the list may have been read before that event happened. So between `beginReload()` and
 * `finishReload(items)` live updates are also kept aside and applied again on top of the list, and
 * an update never replaces a newer version of the same incident.
 */
export class IncidentStore {
  constructor() {
    this.byId = new Map();
    this.pending = null;
    this.reloading = 0;
  }

  beginReload() {
    if (this.reloading++ === 0) this.pending = [];
  }

  finishReload(items) {
    const pending = this.pending ?? [];
    this.pending = null; // re-applying must not queue the same items again
    this.byId = new Map(items.filter(isIncident).map((item) => [String(item.id), item]));
    for (const item of pending) this.upsert(item);
    this.reloading = Math.max(0, this.reloading - 1);
    this.pending = this.reloading > 0 ? pending : null;
  }

  replaceAll(items) {
    this.beginReload();
    this.finishReload(items);
  }

  /** Add an incident, or merge fields into a known one (an update may carry only what changed). */
  upsert(item) {
    if (item === null || typeof item !== "object") return { accepted: false, isNew: false };
    const id = String(item.id);
    const current = this.byId.get(id);
    if (!isIncident(item) && current === undefined) return { accepted: false, isNew: false };
    this.pending?.push(item);
    if (current !== undefined && !notOlder(item, current)) return { accepted: false, isNew: false };
    const merged = { ...(current ?? {}), ...item };
    if (!isIncident(merged)) return { accepted: false, isNew: false };
    this.byId.set(id, merged);
    return { accepted: true, isNew: current === undefined };
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
