// The SLA clock of an unclaimed alarm, from the press on the device: amber at 45 s, red at 60 s.
// Pure: no DOM, time passed in.

export const AMBER_MS = 45_000;
export const RED_MS = 60_000;
const CLOCK_SKEW_MS = 10 * 60_000; // a device clock this far from the center's is not trusted

/**
 * Where the clock starts: the press on the device (`device_ts`), unless the device clock is off by
 * more than ten minutes from the center's receipt, then the center's receipt (`skewed: true`).
 */
export function slaOrigin(incident, toMillis) {
  const device = toMillis(incident.device_ts);
  const cloud = toMillis(incident.cloud_ts);
  if (device !== null && (cloud === null || Math.abs(cloud - device) <= CLOCK_SKEW_MS)) return { at: device, skewed: false };
  return { at: cloud, skewed: cloud !== null };
}

/** "ok" | "amber" | "red" for an alarm that waited `elapsedMs` for an operator. */
export function slaLevel(elapsedMs) {
  if (elapsedMs >= RED_MS) return "red";
  if (elapsedMs >= AMBER_MS) return "amber";
  return "ok";
}
