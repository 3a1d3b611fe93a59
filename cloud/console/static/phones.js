// Development page: one simulated phone per guardian, showing the SMS the console notifier "sent",
// live over the `sms.sent` stream event. Numbers arrive masked from the server and stay masked.
// Each phone has a reply box: the developer answers as the guardian (POST /api/v1/dev/sms/reply),
// which the cloud handles exactly like a real inbound SMS.

import { devReply, devSms, openStream, requireLogin } from "./api.js";
import { domId, h } from "./dom.js";
import { formatClock, formatTimestamp, toMillis } from "./format.js";
import { applyTranslations, bindLangToggle, t } from "./i18n.js";

const phones = new Map(); // phone key -> {key, to_masked, messages: []}
const seen = new Set(); // message identities already shown, so a reload after reconnect does not double
const drafts = new Map(); // phone key -> reply text being typed (kept across re-renders)

const $ = (id) => document.getElementById(id);

/** +8613812345678 -> +86 138****5678. The page never shows a full number, even if one arrives. */
export function maskPhone(number) {
  const digits = String(number).replace(/[^\d+]/g, "");
  const match = /^(\+86)?(\d{3})\d*(\d{4})$/.exec(digits);
  if (match) return `${match[1] ? `${match[1]} ` : ""}${match[2]}****${match[3]}`;
  return digits.length > 4 ? `****${digits.slice(-4)}` : "****";
}

/** One message in the page's shape, whatever the server's names ({to|phone|to_masked}, {at|sent_at}). */
function normalize(message) {
  const raw = message.to ?? message.phone;
  const toMasked = message.to_masked ?? (raw !== undefined ? maskPhone(raw) : "?");
  return {
    id: message.id ?? message.message_id,
    key: String(message.guardian_id ?? toMasked),
    guardian_id: typeof message.guardian_id === "number" ? message.guardian_id : null,
    direction: message.direction === "in" ? "in" : "out",
    to_masked: toMasked,
    body: message.body,
    at: message.at ?? message.sent_at ?? null,
    language: typeof message.language === "string" ? message.language : null,
  };
}

function messageIdentity(message) {
  return message.id !== undefined ? `id:${message.id}` : `${message.key}|${message.at}|${message.body}`;
}

function isMessage(value) {
  return value !== null && typeof value === "object" && typeof value.body === "string";
}

/** Accept the messages as a flat list, as `{phones: [{..., messages}]}`, or as `{key: [messages]}`. */
export function flattenSms(data) {
  if (Array.isArray(data)) {
    return data.flatMap((item) => (isMessage(item) ? [item] : flattenSms(item)));
  }
  if (data === null || typeof data !== "object") return [];
  if (Array.isArray(data.messages)) {
    const { messages, ...phone } = data;
    return messages.filter(isMessage).map((message) => ({ ...phone, ...message }));
  }
  for (const name of ["phones", "items", "guardians"]) {
    if (Array.isArray(data[name])) return flattenSms(data[name]);
  }
  return Object.entries(data).flatMap(([key, value]) =>
    Array.isArray(value) ? value.filter(isMessage).map((message) => ({ to_masked: key, ...message })) : [],
  );
}

function addMessage(raw) {
  if (!isMessage(raw)) return false;
  const message = normalize(raw);
  const identity = messageIdentity(message);
  if (seen.has(identity)) return false;
  seen.add(identity);
  const key = message.key;
  if (!phones.has(key)) {
    phones.set(key, { key, guardian_id: message.guardian_id, to_masked: message.to_masked, messages: [] });
  }
  const phone = phones.get(key);
  phone.messages.push(message);
  phone.messages.sort((a, b) => (toMillis(a.at) ?? 0) - (toMillis(b.at) ?? 0));
  return true;
}

function phoneCard(phone) {
  const titleId = domId("phone-title", phone.key);
  const last = phone.messages.at(-1);
  return h(
    "article",
    { class: "phone", "aria-labelledby": titleId, dataset: { phone: phone.key } },
    h(
      "div",
      { class: "phone-status", "aria-hidden": "true" },
      h("span", {}, t("phones.carrier")),
      h("span", {}, last ? formatClock(last.at) : ""),
    ),
    h(
      "header",
      { class: "phone-head" },
      h("h2", { id: titleId }, t("phones.guardian", { to: phone.to_masked })),
      h("span", { class: "muted" }, t("phones.messages", { n: phone.messages.length })),
    ),
    h(
      "ol",
      { class: "sms-list" },
      phone.messages.map((message) =>
        h(
          "li",
          { class: message.direction === "in" ? "sms sms-in" : "sms", lang: message.language },
          message.direction === "in" ? h("span", { class: "visually-hidden" }, `${t("phones.you")}: `) : null,
          h("p", { class: "sms-body" }, message.body),
          h("time", { class: "sms-time mono" }, formatTimestamp(message.at)),
        ),
      ),
    ),
    phone.guardian_id !== null ? replyForm(phone) : null,
  );
}

function replyForm(phone) {
  const input = h("input", {
    type: "text",
    name: "reply",
    maxlength: "1600",
    autocomplete: "off",
    "aria-label": t("phones.replyLabel"),
    placeholder: t("phones.replyPlaceholder"),
    dataset: { phone: phone.key },
  });
  input.value = drafts.get(phone.key) ?? "";
  input.addEventListener("input", () => drafts.set(phone.key, input.value));
  const form = h("form", { class: "sms-reply" }, input, h("button", { type: "submit" }, t("phones.reply")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendReply(phone, input.value.trim());
  });
  return form;
}

async function sendReply(phone, text) {
  if (!text) return;
  const messageId = crypto.randomUUID().replaceAll("-", "");
  const sentAt = Date.now(); // before the request, so the answer sorts after the reply
  try {
    await devReply(phone.guardian_id, text, messageId);
  } catch {
    $("phones-error").textContent = t("phones.replyError");
    $("phones-error").hidden = false;
    return;
  }
  $("phones-error").hidden = true;
  drafts.delete(phone.key);
  // The server stores it as "console-in-<id>", so a reload shows it once; the answer comes as sms.sent.
  const mine = { id: `console-in-${messageId}`, guardian_id: phone.guardian_id, to_masked: phone.to_masked };
  addMessage({ ...mine, body: text, sent_at: sentAt, direction: "in" });
  render();
}

function render() {
  const focused = document.activeElement?.dataset?.phone; // keep focus in the reply box across re-renders
  const cards = [...phones.values()].sort((a, b) => a.to_masked.localeCompare(b.to_masked));
  $("phones").replaceChildren(...cards.map(phoneCard));
  $("phones-empty").hidden = cards.length > 0;
  for (const list of document.querySelectorAll(".sms-list")) list.scrollTop = list.scrollHeight;
  if (focused !== undefined) document.querySelector(`input[data-phone="${CSS.escape(focused)}"]`)?.focus();
}

async function reload() {
  try {
    for (const message of flattenSms(await devSms())) addMessage(message);
    $("phones-error").hidden = true;
  } catch {
    $("phones-error").textContent = t("phones.loadError");
    $("phones-error").hidden = false;
  }
  render();
}

function setConnection(status) {
  const key = { open: "conn.open", connecting: "conn.connecting", lost: "conn.lost" }[status];
  $("conn").className = `conn conn-${status}`;
  $("conn-text").dataset.i18n = key;
  $("conn-text").textContent = t(key);
}

async function init() {
  applyTranslations();
  if ((await requireLogin()) === null) return;
  bindLangToggle($("lang-toggle"), render);
  openStream({ "sms.sent": (message) => addMessage(message) && render() }, setConnection, reload);
  await reload();
}

init();
