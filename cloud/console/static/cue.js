// Getting the operator's attention for a new alarm: a short two-tone beep, a banner read out by
// screen readers (role=alert), and the unacknowledged count in the tab title.

let audio = null;
const SOUND_KEY = "anxin.sound";

/** Whether the operator wants the beep (remembered; on unless switched off). */
export function soundWanted() {
  return window.localStorage.getItem(SOUND_KEY) !== "off";
}

export function setSoundWanted(on) {
  window.localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  if (on) unlockAudio();
}

/** Browsers only allow sound after a user gesture: call this from the first click/keypress. */
export function unlockAudio() {
  if (audio === null && typeof window.AudioContext === "function") audio = new window.AudioContext();
  if (audio?.state === "suspended") audio.resume().catch(() => {});
}

export function beep(urgent) {
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

let bannerTimer = 0;

export function showBanner(text, urgent) {
  const banner = document.getElementById("alert-banner");
  banner.textContent = text;
  banner.classList.toggle("urgent", urgent);
  banner.hidden = false;
  window.clearTimeout(bannerTimer);
  bannerTimer = window.setTimeout(() => {
    banner.hidden = true;
  }, 10000);
}

export function setTitleCount(baseTitle, waiting) {
  document.title = waiting > 0 ? `(${waiting}) ${baseTitle}` : baseTitle;
}
