// The response plan in the detail pane: the person's checklist for this incident (each tick goes on the
// timeline) and explicit reveals of personal data (each one audited on the server: who, when, which field).

import { ApiError, reveal, responsePlan, tickStep } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

// What this operator revealed stays shown while the page is open (re-renders keep it; a reload hides it).
const revealed = new Map();

function revealButton(incidentId, field, target) {
  const key = `${incidentId}:${field}`;
  if (revealed.has(key)) {
    target.textContent = revealed.get(key);
    target.classList.add("revealed");
    return null;
  }
  const button = h("button", { type: "button", class: "ghost reveal", dataset: { field } }, t("plan.reveal"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const answer = await reveal(incidentId, field);
      revealed.set(key, answer.value);
      target.textContent = answer.value;
      target.classList.add("revealed");
      button.remove();
    } catch (error) {
      target.textContent = error instanceof ApiError ? error.message : String(error);
      button.disabled = false;
    }
  });
  return button;
}

function item(incidentId, step, onTick) {
  const value = h("span", { class: "plan-value mono" }, step.phone_masked ?? "");
  const done = step.ticked_at !== null && step.ticked_at !== undefined;
  const box = h("input", { type: "checkbox", checked: done, disabled: done, "aria-label": step.label });
  box.addEventListener("change", async () => {
    box.disabled = true;
    try {
      await tickStep(incidentId, step.id);
      onTick();
    } catch {
      box.checked = false;
      box.disabled = false;
    }
  });
  return h(
    "li",
    { class: done ? "plan-step done" : "plan-step", dataset: { item: step.id } },
    h("label", {}, box, ` ${step.label}`),
    " ",
    value,
    step.reveal_field ? revealButton(incidentId, step.reveal_field, value) : null,
    done ? h("span", { class: "muted" }, ` ✓ ${step.ticked_by}`) : null,
  );
}

/**
 * Fill `container` with the checklist and the reveal buttons of the incident's person. `reveals: false`
 * leaves the address / care notes / location reveals out (the resident record shows them).
 */
export async function renderPlan(container, incident, { reveals = true } = {}) {
  const id = incident.id;
  let plan;
  try {
    plan = await responsePlan(id);
  } catch {
    container.replaceChildren(h("p", { class: "muted" }, t("plan.none")));
    return;
  }
  const refresh = () => renderPlan(container, incident, { reveals });
  const steps = plan.checklist.map((step) => item(id, step, refresh));
  const extra = [["address", "plan.address"], ["care_notes", "plan.careNotes"]];
  if (incident.location_hidden) extra.push(["location", "plan.location"]);
  const extraReveals = extra.map(([field, key]) => {
    const value = h("span", { class: "plan-value" }, "••••");
    return h("li", {}, `${t(key)}: `, value, " ", revealButton(id, field, value));
  });
  container.replaceChildren(
    steps.length ? h("ol", { class: "plan-steps" }, ...steps) : h("p", { class: "muted" }, t("plan.none")),
    ...(reveals ? [h("ul", { class: "plan-reveals" }, ...extraReveals)] : []),
  );
}
