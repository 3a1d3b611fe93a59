// Getting the operator's attention: a two-tone alarm that repeats while any P1 in view is unclaimed,
// a banner read out by screen readers (role=alert), and the unclaimed count in the tab title.
// The sound can be muted per operator (remembered in localStorage); muting is shown, never silent.

import { t } from "./i18n.js";

export const REPEAT_MS = 4000;
let audio = null;
let operator = "";
let waitingP1 = 0;
let timer = 0;

const soundKey = () => `anxin.sound.${operator || "-"}`;

/** Whose preference the sound switch reads and writes. */
export function setOperator(name) {
  operator = String(name ?? "");
}

/** Whether this operator wants the alarm sound (on unless they muted it). */
export function soundWanted() {
  return window.localStorage.getItem(soundKey()) !== "off";
}

export function setSoundWanted(on) {
  window.localStorage.setItem(soundKey(), on ? "on" : "off");
  if (on) unlockAudio();
  renderSoundState();
  schedule();
}

/** Browsers only allow sound after a user gesture: call this from the first click/keypress. */
export function unlockAudio() {
  if (audio === null && typeof window.AudioContext === "function") audio = new window.AudioContext();
  if (audio?.state === "suspended") audio.resume().catch(() => {});
}

/** One ring: counted on <html data-rings> (what the browser tests and a screen reader's log see). */
export function beep(urgent) {
  const root = document.documentElement;
  root.dataset.rings = String(Number(root.dataset.rings ?? 0) + 1);
  if (!soundWanted() || audio === null || audio.state !== "running") return;
  const tones = urgent ? [880, 660, 880] : [660];
  tones.forEach((frequency, i) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    const start = audio.currentTime + i * 0.22;
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.18);
    osc.connect(gain).connect(audio.destination);
    osc.start(start);
    osc.stop(start + 0.2);
  });
}

/** Tell the alarm how many P1 alarms in view wait for an operator; it rings until that is 0. */
export function setWaitingP1(count) {
  waitingP1 = count;
  renderSoundState();
  schedule();
}

function schedule() {
  const ringing = waitingP1 > 0 && soundWanted();
  if (ringing && timer === 0) {
    timer = window.setInterval(() => beep(true), REPEAT_MS);
  } else if (!ringing && timer !== 0) {
    window.clearInterval(timer);
    timer = 0;
  }
}

/** The sound switch and the "muted" notice: `data-alarm` is ringing | quiet | muted. */
export function renderSoundState() {
  const button = document.getElementById("sound-toggle");
  const notice = document.getElementById("mute-notice");
  if (!button) return;
  const on = soundWanted();
  button.setAttribute("aria-pressed", String(on));
  button.textContent = t(on ? "sound.on" : "sound.off");
  button.dataset.alarm = !on ? "muted" : waitingP1 > 0 ? "ringing" : "quiet";
  if (notice) {
    notice.hidden = on;
    notice.textContent = waitingP1 > 0 ? t("sound.mutedWaiting", { n: waitingP1 }) : t("sound.muted");
    notice.classList.toggle("urgent", waitingP1 > 0);
  }
}

let bannerTimer = 0;
let bannerText = null; // () => string, so a language switch re-renders the banner

export function showBanner(text, urgent) {
  const banner = document.getElementById("alert-banner");
  bannerText = typeof text === "function" ? text : () => text;
  banner.textContent = bannerText();
  banner.classList.toggle("urgent", urgent);
  banner.hidden = false;
  window.clearTimeout(bannerTimer);
  bannerTimer = window.setTimeout(() => {
    banner.hidden = true;
    bannerText = null;
  }, 10000);
}

/** Re-translate a banner on screen (after the language switch). */
export function refreshBanner() {
  const banner = document.getElementById("alert-banner");
  if (bannerText !== null && !banner.hidden) banner.textContent = bannerText();
}

export function setTitleCount(baseTitle, waiting) {
  document.title = waiting > 0 ? `(${waiting}) ${baseTitle}` : baseTitle;
}
