// The queue on screen: rows with the SLA clock, the owner, the facet menus and the counts per state.

import { kindText, latestKindText, severityBadge, statusChip, whereOf, whoOf } from "./detail.js";
import { domId, h } from "./dom.js";
import { formatClock, formatDuration, formatElapsed, toMillis } from "./format.js";
import { label, t } from "./i18n.js";
import { countByState, facetValues, isOpen, ownerOf } from "./queue.js";
import { slaLevel, slaOrigin } from "./sla.js";

/** The clock cell: ticking and coloured while nobody has claimed it, the answer time once claimed. */
export function clockCell(incident, now) {
  const { at, skewed } = slaOrigin(incident, toMillis);
  if (!isOpen(incident)) return h("span", { class: "elapsed closed" }, formatClock(at, now));
  if (incident.status !== "new") {
    const claimed = toMillis(incident.acknowledged_at);
    const text = claimed !== null && at !== null ? t("sla.answered", { d: formatDuration(claimed - at) }) : "—";
    return h("span", { class: "elapsed claimed" }, text);
  }
  const level = at === null ? "ok" : slaLevel(now - at);
  return h(
    "span",
    { class: `elapsed sla sla-${level}`, dataset: { since: at ?? "" }, title: skewed ? t("sla.skewed") : t("sla.title") },
    formatElapsed(at, now),
  );
}

/** Refresh every ticking clock in place (once a second). */
export function tickClocks(root, now) {
  for (const el of root.querySelectorAll(".elapsed.sla[data-since]")) {
    const since = el.dataset.since === "" ? null : Number(el.dataset.since);
    el.textContent = formatElapsed(since, now);
    const level = since === null ? "ok" : slaLevel(now - since);
    if (!el.classList.contains(`sla-${level}`)) {
      el.classList.remove("sla-ok", "sla-amber", "sla-red");
      el.classList.add(`sla-${level}`);
    }
  }
}

export function rowFor(incident, now, selectedId, fresh) {
  const id = String(incident.id);
  const owner = ownerOf(incident);
  return h(
    "li",
    {
      id: domId("incident", id),
      role: "option",
      "aria-selected": String(id === selectedId),
      class: `row sev-${incident.severity} status-${incident.status}${fresh ? " fresh" : ""}`,
      dataset: { id },
    },
    severityBadge(incident.severity),
    h(
      "span",
      { class: "row-main" },
      h("span", { class: "kind" }, kindText(incident), latestKindText(incident) ? h("span", { class: "latest-kind" }, ` · ${latestKindText(incident)}`) : null),
      h("span", { class: "who" }, whoOf(incident), " · ", whereOf(incident)),
    ),
    h("span", { class: `owner${owner ? "" : " unowned"}` }, owner ?? t("owner.none"), incident.drill ? h("span", { class: "chip drill" }, t("drill")) : null),
    statusChip(incident.status),
    clockCell(incident, now),
  );
}

function option(value, text, selected) {
  return h("option", { value, selected: value === selected }, text);
}

/** Fill the street / kind / owner menus from what is loaded, keeping the current choices. */
export function renderFacets(items, facets, streetName = (zh) => zh) {
  const values = facetValues(items);
  const fill = (id, key, entries) => {
    const select = document.getElementById(id);
    const current = facets[key];
    const known = entries.some(([value]) => value === current);
    select.replaceChildren(...entries.map(([value, text]) => option(value, text, current)), !known && current ? option(current, current, current) : []);
  };
  fill("facet-street", "street", [["", t("facet.allStreets")], ...values.street.map((v) => [v, streetName(v)])]);
  fill("facet-kind", "kind", [["", t("facet.allKinds")], ...values.kind.map((v) => [v, label("kind", v)])]);
  fill("facet-owner", "owner", [["", t("facet.anyOwner")], ["mine", t("facet.mine")], ["none", t("facet.none")], ...values.owner.map((v) => [v, v])]);
}

/** "待接警 2 · 已接警 1 · 救助途中 0 · 已关闭 3" as a list the screen reader reads as one. */
export function renderCounts(items) {
  const counts = countByState(items);
  const el = document.getElementById("state-counts");
  el.replaceChildren(
    ...["new", "acknowledged", "dispatched", "closed"].map((state) =>
      h("li", { class: `count count-${state}`, dataset: { state } }, h("span", {}, state === "closed" ? t("queue.closed") : label("status", state)), " ", h("strong", {}, String(counts[state]))),
    ),
  );
}
