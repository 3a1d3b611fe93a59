// The resident record on an incident: who (masked), age, address, community, a photo placeholder,
// devices with battery and last report, guardians with each one's notification state, and the care
// plan's response checklist. Full values only through the audited reveal, one field at a time.

import { ApiError, getRecord, placeCall, responsePlan as getPlan, reveal } from "./api.js";
import { batteryGauge } from "./charts.js";
import { h } from "./dom.js";
import { formatAgo, formatClock } from "./format.js";
import { label, t } from "./i18n.js";
import { renderPlan } from "./plan.js";

// The response-plan checklist (plan.js) per incident: kept across re-renders so ticks do not flicker.
const plans = new Map();

function planBox(id) {
  let box = plans.get(id);
  if (!box) {
    if (plans.size > 30) plans.clear();
    box = h("div", { class: "plan" });
    plans.set(id, box);
  }
  renderPlan(box, { id }, { reveals: false });
  return box;
}

// What this page revealed, per incident and field: a re-render keeps it (the reveal is audited once).
const shown = new Map();

/** A masked value with its reveal control; the control fills in the full value (audited). */
function revealable(incidentId, masked, field, what) {
  const key = `${incidentId}|${field}`;
  if (shown.has(key)) {
    return h("span", { class: "reveal-field" }, h("span", { class: "revealed mono" }, shown.get(key)), " ", h("span", { class: "audited" }, t("reveal.audited")));
  }
  const value = h("span", { class: "masked mono" }, masked || "—");
  const button = h(
    "button",
    { type: "button", class: "reveal", "aria-label": t("reveal.label", { what }), title: t("reveal.title") },
    t("reveal.button"),
  );
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const answer = await reveal(incidentId, field);
      if (shown.size > 50) shown.clear();
      shown.set(key, answer.value);
      value.textContent = answer.value;
      value.classList.replace("masked", "revealed");
      button.replaceWith(h("span", { class: "audited" }, t("reveal.audited")));
      document.dispatchEvent(new CustomEvent("anxin:incident-changed", { detail: { id: incidentId } }));
    } catch (error) {
      button.disabled = false;
      button.title = t("reveal.failed", { reason: error.message });
    }
  });
  return h("span", { class: "reveal-field" }, value, " ", button);
}

// Calls placed from this page, per incident and field: a re-render (the live update the call itself
// causes) keeps saying so. Clicking again places another call.
const placed = new Set();

/** One click rings the operator's phone and then `field`'s number (never shown here unmasked). */
function callButton(incidentId, field, who) {
  const key = `${incidentId}|${field}`;
  const button = h("button", { type: "button", class: "call", "aria-label": t("call.label", { who }), title: t("call.label", { who }) }, placed.has(key) ? t("call.placed") : t("call.button"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await placeCall(incidentId, field);
      if (placed.size > 50) placed.clear();
      placed.add(key);
      button.textContent = t("call.placed");
      button.disabled = false;
      document.dispatchEvent(new CustomEvent("anxin:incident-changed", { detail: { id: incidentId } }));
    } catch (error) {
      button.disabled = false;
      button.title = t("call.failed", { reason: error.message });
    }
  });
  return button;
}

function phonesList(incidentId, record) {
  const targets = record.call_targets ?? [];
  if (!targets.length) return null;
  return [
    h("h4", {}, t("record.phones")),
    h(
      "ul",
      { class: "phones" },
      targets.map((c) =>
        h("li", {}, h("strong", {}, t(`call.${c.kind}`)), " ", revealable(incidentId, c.phone_masked, c.field, t("reveal.phone", { who: t(`call.${c.kind}`) })), " ", callButton(incidentId, c.field, t(`call.${c.kind}`))),
      ),
    ),
  ];
}

function photo(record) {
  return h(
    "div",
    { class: `photo photo-${record.kind}`, role: "img", "aria-label": t("record.photo") },
    h("span", { "aria-hidden": "true" }, record.initial),
  );
}

function devicesTable(record) {
  if (!record.devices.length) return h("p", { class: "muted" }, t("record.noDevices"));
  return h(
    "table",
    { class: "record-table" },
    h("thead", {}, h("tr", {}, [t("record.device"), t("record.battery"), t("record.lastSeen")].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      record.devices.map((d) =>
        h(
          "tr",
          { class: d.in_incident ? "this-device" : "" },
          h("td", {}, label("device", d.kind), " ", h("span", { class: "mono muted" }, d.device_id), d.in_incident ? h("span", { class: "tag" }, t("record.thisDevice")) : null),
          h("td", {}, d.battery_pct === null ? h("span", { class: "muted" }, t("record.unknown")) : [batteryGauge(d.battery_pct), ` ${Math.round(d.battery_pct)}%`]),
          h("td", {}, d.last_seen === null ? h("span", { class: "muted" }, t("record.unknown")) : h("time", { title: formatClock(d.last_seen) }, formatAgo(d.last_seen))),
        ),
      ),
    ),
  );
}

function guardianState(g) {
  const chips = [];
  if (g.notified) chips.push(h("span", { class: `chip notify-${g.notified}` }, label(g.channel === "voice" ? "call" : "notify", g.notified)));
  if (g.delivery) chips.push(h("span", { class: `chip delivery-${g.delivery}` }, label("delivery", g.delivery)));
  if (g.answered) chips.push(h("span", { class: `chip answered-${g.answered}` }, label("answered", g.answered)));
  return chips.length ? chips : [h("span", { class: "muted" }, t("record.notNotified"))];
}

function guardiansList(incidentId, record) {
  if (!record.guardians.length) return h("p", { class: "muted" }, t("record.noGuardians"));
  return h(
    "ul",
    { class: "guardians" },
    record.guardians.map((g) =>
      h(
        "li",
        {},
        h("strong", {}, label("relation", g.relation)),
        " ",
        revealable(incidentId, g.phone_masked, g.reveal_field, t("reveal.phone", { who: label("relation", g.relation) })),
        " ",
        callButton(incidentId, g.reveal_field, label("relation", g.relation)),
        h("span", { class: "guardian-state" }, guardianState(g)),
      ),
    ),
  );
}

// The last record and plan fetched per incident: a re-render (language switch, live update) draws
// at once from here, then refreshes from the server.
const cache = new Map();

function draw(container, id, record, plan) {
  container.replaceChildren(
    h(
      "div",
      { class: "record-head" },
      photo(record),
      h(
        "div",
        {},
        h("p", { class: "record-name" }, revealable(id, record.masked_name, "name", t("reveal.name")), h("span", { class: "muted" }, ` · ${label("subject", record.kind)} · ${t("record.age", { n: record.age })}`)),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, t("record.address")),
          h("dd", {}, revealable(id, record.address_masked, "address", t("reveal.address"))),
          h("dt", {}, t("record.community")),
          h("dd", {}, `${record.community} / ${record.street}`),
          record.has_care_notes ? [h("dt", {}, t("record.careNotes")), h("dd", {}, revealable(id, t("record.hidden"), "care_notes", t("record.careNotes")))] : null,
          plan?.has_medical_notes ? [h("dt", {}, t("record.medicalNotes")), h("dd", {}, revealable(id, t("record.hidden"), "medical_notes", t("record.medicalNotes")))] : null,
        ),
      ),
    ),
    h("h4", {}, t("record.devices")),
    devicesTable(record),
    ...(phonesList(id, record) ?? []),
    h("h4", {}, t("record.guardians")),
    guardiansList(id, record),
    h("h4", {}, t("plan.title")),
    planBox(id),
  );
}

/** Draw the record of incident `id` into `container` (at once if known), then fetch it again. */
export async function renderRecord(container, id) {
  const known = cache.get(id);
  if (known) draw(container, id, known.record, known.plan);
  let record;
  let plan = null;
  try {
    [record, plan] = await Promise.all([getRecord(id), getPlan(id).catch(() => null)]);
  } catch (error) {
    // 404: an alarm from a device no person is registered for (or outside this operator's streets)
    const text = error instanceof ApiError && error.status === 404 ? t("record.none") : t("record.loadError");
    if (!known) container.replaceChildren(h("p", { class: "muted" }, text));
    return known?.record ?? null;
  }
  if (cache.size > 30) cache.clear();
  cache.set(id, { record, plan });
  draw(container, id, record, plan);
  return record;
}
