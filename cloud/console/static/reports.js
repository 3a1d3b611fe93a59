// Reports: answer times against the 60 s / 180 s targets, times to guardian and responder, counts, the
// false-alarm rate per device model, a CSV of every incident; and the auditor's list of late steps.

import { lateSteps, reportSummary, requireLogin } from "./api.js";
import { h } from "./dom.js";
import { applyTranslations, bindLangToggle, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const pct = (share) => (share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)} %`);
const secs = (value) => (value === null || value === undefined ? "—" : `${value.toFixed(1)} s`);
const pairs = (counts) => Object.entries(counts).map(([key, n]) => `${key}: ${n}`).join(" · ") || "—";

function fact(key, value) {
  return [h("dt", {}, t(key)), h("dd", { dataset: { figure: key } }, value)];
}

async function load() {
  const r = await reportSummary();
  const models = Object.entries(r.false_alarms_by_model)
    .map(([model, m]) => `${model}: ${pct(m.rate)} (${m.false_alarms}/${m.incidents})`)
    .join(" · ");
  $("figures").replaceChildren(
    ...fact("reports.incidents", String(r.incidents)),
    ...fact("reports.within60", pct(r.answer.within["60"])),
    ...fact("reports.within180", pct(r.answer.within["180"])),
    ...fact("reports.answerP50", secs(r.answer.durations.p50_s)),
    ...fact("reports.unanswered", String(r.answer.unanswered)),
    ...fact("reports.bins", pairs(r.answer.bins)),
    ...fact("reports.toGuardian", secs(r.to_guardian.p50_s)),
    ...fact("reports.toResponder", secs(r.to_responder.p50_s)),
    ...fact("reports.byStreet", pairs(r.by_street)),
    ...fact("reports.byKind", pairs(r.by_kind)),
    ...fact("reports.byOutcome", pairs(r.by_outcome)),
    ...fact("reports.falseAlarms", models || "—"),
  );
  const late = await lateSteps();
  $("late").replaceChildren(
    ...(late.length ? late.map((s) => h("li", {}, `#${s.incident_id} ${s.action} +${(s.late_ms / 1000).toFixed(0)} s`)) : [h("li", { class: "muted" }, t("reports.noneLate"))]),
  );
}

async function init() {
  applyTranslations();
  if ((await requireLogin()) === null) return;
  bindLangToggle($("lang-toggle"), load);
  await load();
}

init();
