// The action dialogs (ETA, responder, outcome, note, confirm) on one <dialog>; keyboard-first:
// the first field is focused and selected, Enter confirms, Esc cancels.

import { h } from "./dom.js";
import { t } from "./i18n.js";

// cloud.incidents.lifecycle.Outcome
export const OUTCOMES = ["helped_on_site", "taken_to_hospital", "resolved_by_phone", "guardian_handled", "other"];

/** What each action asks for, and how the answer becomes the request body. */
const FORMS = {
  acknowledge: {
    title: "dlg.ack.title",
    field: () => h("input", { id: "dlg-field", name: "eta_min", type: "number", min: 0, max: 1440, step: 1, value: 15, required: true }),
    label: "dlg.ack.eta",
    body: (value) => ({ eta_min: Math.max(0, Math.min(1440, Math.round(Number(value) || 0))) }),
  },
  dispatch: {
    title: "dlg.dispatch.title",
    field: () => h("input", { id: "dlg-field", name: "responder", maxlength: 32, autocomplete: "off" }),
    label: "dlg.dispatch.responder",
    body: (value) => (value.trim() ? { responder: value.trim() } : {}),
  },
  resolve: {
    title: "dlg.resolve.title",
    field: () => h("select", { id: "dlg-field", name: "outcome" }, OUTCOMES.map((code) => h("option", { value: code }, t(`outcome.${code}`)))),
    label: "dlg.resolve.outcome",
    body: (value) => ({ outcome: value }),
  },
  falseAlarm: {
    title: "dlg.falseAlarm.title",
    field: null,
    label: "dlg.falseAlarm.confirm",
    body: () => ({}),
  },
  note: {
    title: "dlg.note.title",
    field: () => h("textarea", { id: "dlg-field", name: "text", rows: 4, maxlength: 500, required: true }),
    label: "dlg.note.text",
    body: (value) => (value.trim() ? { text: value.trim() } : null),
  },
};

/** Ask what `action` needs; resolves to the request body, or null when the operator cancelled. */
export function askAction(action) {
  const form = FORMS[action];
  const dialog = document.getElementById("action-dialog");
  const fields = document.getElementById("action-fields");
  document.getElementById("action-dialog-title").textContent = t(form.title);
  const input = form.field ? form.field() : null;
  fields.replaceChildren(
    input ? h("label", { for: "dlg-field" }, t(form.label)) : h("p", {}, t(form.label)),
    input,
  );
  return new Promise((resolve) => {
    const formEl = document.getElementById("action-form");
    const cancel = document.getElementById("action-cancel");
    const finish = (result) => {
      formEl.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      resolve(result);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      if (input && !input.checkValidity()) {
        input.reportValidity();
        return;
      }
      const body = form.body(input ? input.value : "");
      if (body !== null) finish(body);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    // Enter confirms from a <select> too; in the note, Ctrl+Enter confirms and Enter is a new line.
    const onKey = (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      const tag = event.target.tagName;
      if (tag === "SELECT" || (tag === "TEXTAREA" && (event.ctrlKey || event.metaKey))) {
        event.preventDefault();
        formEl.requestSubmit();
      }
    };
    input?.addEventListener("keydown", onKey);
    formEl.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    if (input) {
      input.focus();
      if (typeof input.select === "function") input.select();
    } else {
      document.getElementById("action-ok").focus();
    }
  });
}

export function anyDialogOpen() {
  return [...document.querySelectorAll("dialog")].some((dialog) => dialog.open);
}
