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

/** When the alarm started: the device press time, else when the center received it. */
function startedAt(incident, toMillis) {
  return toMillis(incident.device_ts) ?? toMillis(incident.cloud_ts) ?? 0;
}

/**
 * Open view: by priority (P1 first), within a priority the unclaimed first, then the oldest first
 * (the longest wait is on top). Other views: newest first.
 */
export function sortIncidents(items, filter, toMillis) {
  if (filter !== "open") return [...items].sort((a, b) => startedAt(b, toMillis) - startedAt(a, toMillis));
  return [...items].sort((a, b) => {
    const severity = (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9);
    if (severity !== 0) return severity;
    const waiting = Number(b.status === "new") - Number(a.status === "new");
    return waiting !== 0 ? waiting : startedAt(a, toMillis) - startedAt(b, toMillis);
  });
}

/** Who has the incident: the named owner (claim, reassignment), else who acknowledged it. */
export function ownerOf(incident) {
  return incident.owner ?? incident.acknowledged_by ?? null;
}

/** The narrowing filters: `{street, kind, owner}`, each "" for all; owner also "mine" / "none". */
export function matchesFacets(incident, facets, me = null) {
  if (facets.street && incident.subject?.street !== facets.street) return false;
  if (facets.kind && incident.kind !== facets.kind) return false;
  const owner = ownerOf(incident);
  if (facets.owner === "none") return owner === null;
  if (facets.owner === "mine") return owner !== null && owner === me;
  if (facets.owner) return owner === facets.owner;
  return true;
}

/** How many incidents are in each state: {new, acknowledged, dispatched, closed}. */
export function countByState(items) {
  const counts = { new: 0, acknowledged: 0, dispatched: 0, closed: 0 };
  for (const item of items) {
    if (item.status in counts) counts[item.status] += 1;
    else counts.closed += 1;
  }
  return counts;
}

/** The values the facet menus offer, from what is loaded: sorted, no duplicates. */
export function facetValues(items) {
  const uniq = (values) => [...new Set(values.filter(Boolean))].sort();
  return {
    street: uniq(items.map((item) => item.subject?.street)),
    kind: uniq(items.map((item) => item.kind)),
    owner: uniq(items.map(ownerOf)),
  };
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

  visible(filter, toMillis, facets = null, me = null) {
    const shown = [...this.byId.values()].filter(
      (item) => matchesFilter(item, filter) && (facets === null || matchesFacets(item, facets, me)),
    );
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
