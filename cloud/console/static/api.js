// The cloud HTTP API as the pages use it. Same origin, session cookie; every request has a timeout.

const TIMEOUT_MS = 10000;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

async function request(method, path, body) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    // {"error": "...", "detail": [{"field": ..., "message": ...}]}: the message says what to do
    const first = data && Array.isArray(data.detail) ? data.detail[0] : null;
    const detail = data && typeof data.detail === "string" ? data.detail : (first?.message ?? null);
    throw new ApiError(response.status, detail);
  }
  return data;
}

export const login = (username, password) => request("POST", "/api/v1/auth/login", { username, password });
export const logout = () => request("POST", "/api/v1/auth/logout");
export const me = () => request("GET", "/api/v1/auth/me");

/** Incident list items; the API may answer a bare list or `{items: [...]}`. */
export async function listIncidents(status = "open", limit = 200) {
  const data = await request("GET", `/api/v1/incidents?status=${encodeURIComponent(status)}&limit=${limit}`);
  return Array.isArray(data) ? data : (data?.items ?? []);
}

export const getIncident = (id) => request("GET", `/api/v1/incidents/${encodeURIComponent(id)}`);

const ACTION_PATHS = {
  acknowledge: "acknowledge",
  dispatch: "dispatch",
  resolve: "resolve",
  falseAlarm: "false-alarm",
  note: "notes",
};

export function act(id, action, body = {}) {
  return request("POST", `/api/v1/incidents/${encodeURIComponent(id)}/${ACTION_PATHS[action]}`, body);
}

/** Hand an incident to a colleague (the owner) or reassign it (a supervisor). */
export const assign = (id, to, version) =>
  request("POST", `/api/v1/incidents/${encodeURIComponent(id)}/assign`, { to, version });
export const staffList = () => request("GET", "/api/v1/staff");

/** The person's response plan as this incident's checklist (numbers masked). */
export const responsePlan = (id) => request("GET", `/api/v1/incidents/${encodeURIComponent(id)}/response-plan`);
export const tickStep = (id, item) =>
  request("POST", `/api/v1/incidents/${encodeURIComponent(id)}/checklist/${encodeURIComponent(item)}`);
/** One full value (number, address, medical notes, a child's location): audited on the server. */
export const reveal = (id, field) => request("POST", `/api/v1/incidents/${encodeURIComponent(id)}/reveal`, { field });

/** Click-to-call: the operator's phone rings, then `target` (a `phone:…` field); the number stays masked. */
export const placeCall = (id, target) =>
  request("POST", `/api/v1/incidents/${encodeURIComponent(id)}/calls`, { target });

export const accounts = () => request("GET", "/api/v1/admin/accounts");
export const createAccount = (body) => request("POST", "/api/v1/admin/accounts", body);
export const updateAccount = (id, body) => request("PATCH", `/api/v1/admin/accounts/${encodeURIComponent(id)}`, body);
export const streets = () => request("GET", "/api/v1/streets");
export const reportSummary = () => request("GET", "/api/v1/reports/summary");
export const lateSteps = () => request("GET", "/api/v1/escalations/late");

export const devSms = () => request("GET", "/api/v1/dev/sms");
/** Answer an SMS as a guardian (dev phone page): the same path as a real inbound SMS. */
export const devReply = (guardianId, text, messageId) =>
  request("POST", "/api/v1/dev/sms/reply", { guardian_id: guardianId, text, message_id: messageId });

/** Redirect to the login page when the session is missing; returns the operator otherwise. */
export async function requireLogin() {
  try {
    return await me();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      const next = encodeURIComponent(window.location.pathname);
      window.location.assign(`/login?next=${next}`);
      return null;
    }
    throw error;
  }
}

/**
 * Open the live stream and call `handlers[eventName](data)`; `onState("open"|"connecting"|"lost")`.
 * EventSource reconnects on its own after a network error; when the server refuses the stream (the
 * source ends CLOSED) we open a new one after a pause. `onReconnect` runs after every re-open so the
 * page can fetch what it missed.
 */
export function openStream(handlers, onState, onReconnect, retryMs = 3000) {
  let opened = false;
  let source = null;
  const connect = () => {
    source = new EventSource("/api/v1/stream", { withCredentials: true });
    onState("connecting");
    source.addEventListener("open", () => {
      onState("open");
      if (opened) onReconnect();
      opened = true;
    });
    source.addEventListener("error", () => {
      onState("lost");
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      // Refused (e.g. 401 after the session expired): back to the login page if so, else retry.
      requireLogin()
        .catch(() => {})
        .finally(() => window.setTimeout(connect, retryMs));
    });
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return; // a malformed event is dropped, the stream goes on
        }
        handler(data);
      });
    }
  };
  connect();
  return { close: () => source?.close() };
}

const incidentPath = (id, rest) => `/api/v1/incidents/${encodeURIComponent(id)}/${rest}`;
/** The resident record on an incident (masked; cloud/response/record.py). */
export const getRecord = (id) => request("GET", incidentPath(id, "record"));
/** A child's trail and fences, audited like a reveal of the location. */
export const revealPlace = (id) => request("POST", incidentPath(id, "reveal-place"));
