// The operator console: live incident queue over SSE, detail pane, keyboard-first actions.

import { act, ApiError, getIncident, listIncidents, logout, streets as listStreets, openStream, requireLogin } from "./api.js";
import {
  beep,
  refreshBanner,
  renderSoundState,
  setOperator,
  setSoundWanted,
  setTitleCount,
  setWaitingP1,
  showBanner,
  soundWanted,
  unlockAudio,
} from "./cue.js";
import { kindText, renderDetail, whereOf } from "./detail.js";
import { anyDialogOpen, askAction } from "./dialogs.js";
import { domId } from "./dom.js";
import { toMillis } from "./format.js";
import { applyTranslations, bindLangToggle, currentLang, label, t } from "./i18n.js";
import { districtMap } from "./map.js";
import { IncidentStore, isOpen, matchesFacets, matchesFilter } from "./queue.js";
import { renderCounts, renderFacets, rowFor, tickClocks } from "./queueview.js";

const FRESH_MS = 15000; // how long a new alarm stays highlighted (or until acknowledged)
const ACTION_LABELS = {
  acknowledge: "action.ack",
  dispatch: "action.dispatch",
  resolve: "action.resolve",
  falseAlarm: "action.falseAlarm",
  note: "action.note",
};

const state = {
  store: new IncidentStore(),
  filter: "open",
  selectedId: null,
  fresh: new Map(), // id -> epoch ms when it arrived
  detail: null, // the full incident shown in the detail pane
  busy: false,
  facets: { street: "", kind: "", owner: "" },
  me: null, // the signed-in staff member (GET /api/v1/auth/me)
  streets: [], // the district's streets with their outlines, for the map
};
const CLOSED_SHOWN = 100; // the newest closed incidents kept for the closed view and the counts

const $ = (id) => document.getElementById(id);

// ---- queue --------------------------------------------------------------------------------------

function visibleItems() {
  return state.store.visible(state.filter, toMillis, state.facets, state.me?.username ?? null);
}

function renderQueue() {
  const now = Date.now();
  const items = visibleItems();
  if (state.selectedId !== null && !items.some((item) => String(item.id) === state.selectedId)) {
    // the selection left the view (closed, filtered out): nothing is selected until the operator chooses
    state.selectedId = null;
    loadDetail();
  }
  const list = $("queue-list");
  list.replaceChildren(...items.map((item) => rowFor(item, now, state.selectedId, state.fresh.has(String(item.id)) && item.status === "new")));
  list.setAttribute("aria-activedescendant", state.selectedId ? domId("incident", state.selectedId) : "");
  $("queue-empty").hidden = items.length > 0;
  $("queue-count").textContent = t("queue.count", { n: items.length });
  const all = [...state.store.byId.values()];
  renderCounts(all);
  renderFacets(all.filter((item) => matchesFilter(item, state.filter)), state.facets, streetName);
  const waiting = all.filter((item) => item.status === "new").length;
  setTitleCount(t("app.console"), waiting);
  setWaitingP1(items.filter((item) => item.status === "new" && item.severity === "P1").length);
  renderMap();
  updateActionButtons();
}

/** A street's name in the page's language (the registry keeps both). */
function streetName(zh) {
  const street = currentLang() === "en" ? state.streets.find((s) => s.name_zh === zh) : null;
  return street?.name_en ?? zh;
}

function renderMap() {
  const open = [...state.store.byId.values()].filter((item) => isOpen(item) && matchesFacets(item, state.facets, state.me?.username ?? null));
  const map = districtMap(state.streets, open, state.selectedId, select);
  $("district-map").replaceChildren(...(map ? [map] : []));
}

function tick() {
  const now = Date.now();
  tickClocks($("queue-list"), now);
  for (const [id, at] of state.fresh) {
    if (now - at > FRESH_MS) {
      state.fresh.delete(id);
      document.getElementById(domId("incident", id))?.classList.remove("fresh");
    }
  }
}

function select(id) {
  state.selectedId = id === null ? null : String(id);
  for (const row of $("queue-list").children) {
    row.setAttribute("aria-selected", String(row.dataset.id === state.selectedId));
  }
  $("queue-list").setAttribute("aria-activedescendant", state.selectedId ? domId("incident", state.selectedId) : "");
  document.getElementById(domId("incident", state.selectedId ?? ""))?.scrollIntoView({ block: "nearest" });
  loadDetail();
  renderMap();
}

function moveSelection(step) {
  const rows = [...$("queue-list").children];
  if (rows.length === 0) return;
  const index = rows.findIndex((row) => row.dataset.id === state.selectedId);
  const next = index === -1 ? 0 : Math.max(0, Math.min(rows.length - 1, index + step));
  select(rows[next].dataset.id);
}

async function reloadQueue() {
  state.store.beginReload();
  try {
    const [open, closed] = await Promise.all([listIncidents("open", 500), listIncidents("closed", CLOSED_SHOWN)]);
    state.store.finishReload([...open, ...closed]);
  } catch {
    state.store.finishReload([...state.store.byId.values()]);
    toast(t("queue.loadError"), true);
    return;
  }
  renderQueue();
}

// ---- detail ---------------------------------------------------------------------------------------

let detailRequest = 0;

async function loadDetail() {
  const id = state.selectedId;
  const request = ++detailRequest;
  if (id === null) {
    state.detail = null;
    $("detail-body").hidden = true;
    $("detail-none").hidden = false;
    updateActionButtons();
    return;
  }
  const summary = state.store.get(id);
  if (summary) showDetail({ ...summary, timeline: state.detail?.id === summary.id ? state.detail.timeline : [] });
  try {
    const full = await getIncident(id);
    if (request === detailRequest) showDetail(full);
  } catch {
    // the summary stays on screen; the next update retries
  }
}

function showDetail(incident) {
  state.detail = incident;
  $("detail-none").hidden = true;
  $("detail-body").hidden = false;
  renderDetail($("detail-body"), incident);
  updateActionButtons();
}

function updateActionButtons() {
  const incident = state.selectedId ? state.store.get(state.selectedId) : null;
  const status = incident?.status;
  const allowed = {
    // cloud/incidents/lifecycle.py TRANSITIONS
    acknowledge: status === "new",
    dispatch: status === "acknowledged",
    resolve: status === "acknowledged" || status === "dispatched",
    falseAlarm: incident !== null && isOpen(incident),
    note: incident !== null,
  };
  for (const button of document.querySelectorAll("[data-action]")) {
    button.disabled = state.busy || !allowed[button.dataset.action];
  }
}

// ---- actions ----------------------------------------------------------------------------------

let toastTimer = 0;

function toast(text, isError = false) {
  const el = $("toast");
  el.textContent = text;
  el.classList.toggle("error", isError);
  el.classList.add("shown");
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => el.classList.remove("shown"), 5000);
}

async function runAction(action) {
  const id = state.selectedId;
  const button = document.querySelector(`[data-action="${action}"]`);
  if (id === null || state.busy || button?.disabled) return;
  const answer = await askAction(action);
  if (answer === null) return;
  // the version this screen shows: if someone else changed the incident meanwhile, the server says 409
  const version = state.store.get(id)?.version;
  const body = typeof version === "number" ? { ...answer, version } : answer;
  state.busy = true;
  updateActionButtons();
  let done = false;
  try {
    const result = await act(id, action, body);
    if (result && typeof result === "object" && "status" in result) {
      state.store.upsert(result);
      if (String(result.id) === state.selectedId) state.detail = result;
    }
    done = true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) await requireLogin();
    // 409: another operator got there first; the server's message names who has it now
    const reason = error instanceof ApiError && error.status === 409 ? error.message || t("action.conflict") : error.message;
    toast(t("action.failed", { reason }), true);
    if (error instanceof ApiError && error.status === 409) reloadQueue();
  } finally {
    state.busy = false;
    renderQueue();
    $("queue-list").focus();
  }
  if (done) {
    toast(t("action.done", { action: t(ACTION_LABELS[action]) }));
    if (action === "resolve" || action === "falseAlarm") {
      select(null); // after a close nothing is selected: a reflex key must not act on the next alarm
    } else if (state.detail && String(state.detail.id) === state.selectedId) showDetail(state.detail);
  }
}

// ---- live stream ------------------------------------------------------------------------------------

function onIncident(incident, created) {
  const { accepted, isNew } = state.store.upsert(incident);
  if (!accepted) return;
  const id = String(incident.id);
  if ((created || isNew) && incident.status === "new") {
    state.fresh.set(id, Date.now());
    const urgent = incident.severity === "P1";
    beep(urgent);
    showBanner(
      () =>
        t("alert.new", {
          kind: kindText(incident),
          severity: label("severity", incident.severity),
          where: whereOf(incident),
        }),
      urgent,
    );
  }
  renderQueue();
  if (id === state.selectedId) loadDetail();
}

/** The escalation re-alerts an unclaimed incident (every console in scope sounds, again and again until
 * someone claims it) or its owner (a repeat press, a guardian's message). */
function onRealert(data) {
  const incident = state.store.get(String(data.id));
  if (data.owner && state.me && data.owner !== state.me.username) return; // someone else's incident
  beep(true);
  showBanner(
    t(data.owner ? "alert.owner" : "alert.unclaimed", {
      id: data.id,
      kind: incident ? kindText(incident) : "",
      where: incident ? whereOf(incident) : "",
    }),
    true,
  );
}

function onEscalated(data) {
  if (!state.me || state.me.role === "operator") return; // the supervisors' alert
  beep(true);
  showBanner(t(data.reason === "ladder_exhausted" ? "alert.ladderExhausted" : "alert.supervisor", { id: data.id }), true);
}

function setConnection(status) {
  const el = $("conn");
  el.className = `conn conn-${status}`;
  const key = { open: "conn.open", connecting: "conn.connecting", lost: "conn.lost" }[status];
  $("conn-text").dataset.i18n = key;
  $("conn-text").textContent = t(key);
}

// ---- keyboard ---------------------------------------------------------------------------------

const KEY_ACTIONS = { a: "acknowledge", d: "dispatch", r: "resolve", f: "falseAlarm", n: "note" };

function onKey(event) {
  unlockAudio();
  if (event.ctrlKey || event.metaKey || event.altKey || anyDialogOpen()) return;
  if (event.target instanceof HTMLElement && event.target.closest("input, textarea, select")) return;
  const key = event.key;
  if (key === "j" || key === "ArrowDown") moveSelection(1);
  else if (key === "k" || key === "ArrowUp") moveSelection(-1);
  else if (key === "?") $("help-dialog").showModal();
  else if (key in KEY_ACTIONS) runAction(KEY_ACTIONS[key]);
  else return;
  event.preventDefault();
}

// ---- start --------------------------------------------------------------------------------------

function setFilter(filter) {
  state.filter = filter;
  for (const button of document.querySelectorAll("[data-filter]")) {
    button.setAttribute("aria-pressed", String(button.dataset.filter === filter));
  }
  state.selectedId = null;
  loadDetail();
  renderQueue();
}

async function init() {
  applyTranslations();
  const operator = await requireLogin();
  if (operator === null) return;
  state.me = operator;
  $("operator-name").textContent = operator.display_name ?? operator.username ?? "—";
  $("nav-admin").hidden = operator.role !== "admin";
  setOperator(operator.username);
  renderSoundState();
  bindLangToggle($("lang-toggle"), () => {
    renderQueue();
    renderSoundState();
    refreshBanner();
    $("toast").classList.remove("shown"); // a result said in the other language
    if (state.detail) renderDetail($("detail-body"), state.detail);
  });
  for (const key of Object.keys(state.facets)) {
    $(`facet-${key}`).addEventListener("change", (event) => {
      state.facets[key] = event.target.value;
      renderQueue();
    });
  }
  listStreets()
    .then((streets) => {
      state.streets = streets;
      renderQueue();
    })
    .catch(() => {});
  $("logout").addEventListener("click", async () => {
    try {
      await logout();
    } finally {
      window.location.assign("/login");
    }
  });
  $("help-button").addEventListener("click", () => $("help-dialog").showModal());
  $("sound-toggle").addEventListener("click", () => setSoundWanted(!soundWanted()));
  for (const button of document.querySelectorAll("[data-filter]")) {
    button.addEventListener("click", () => setFilter(button.dataset.filter));
  }
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => runAction(button.dataset.action));
  }
  $("queue-list").addEventListener("click", (event) => {
    const row = event.target.closest("[role=option]");
    if (row) select(row.dataset.id);
  });
  document.addEventListener("keydown", onKey);
  // a reveal is on the timeline (audited) but not broadcast: fetch the incident again
  document.addEventListener("anxin:incident-changed", (event) => {
    if (String(event.detail?.id) === state.selectedId) loadDetail();
  });
  document.addEventListener("pointerdown", unlockAudio);
  openStream(
    {
      "incident.created": (data) => onIncident(data, true),
      "incident.updated": (data) => onIncident(data, false),
      "incident.realert": onRealert,
      "incident.escalated": onEscalated,
    },
    setConnection,
    reloadQueue,
  );
  await reloadQueue();
  window.setInterval(tick, 1000);
  $("queue-list").focus();
}

init();
