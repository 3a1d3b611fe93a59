// A small offline location sketch: the fix as a dot, its accuracy as a circle, a north arrow and a
// scale bar. No map tiles, nothing leaves the browser.

import { svg } from "./dom.js";
import { t } from "./i18n.js";

const SIZE = 168;
const NICE_METRES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

export function locationSketch(location) {
  const accuracy = Math.max(1, Number(location.accuracy_m) || 1);
  const metresPerPx = Math.max(accuracy / 52, 0.5); // the circle is at most 52 px in radius
  const radius = accuracy / metresPerPx;
  const bar = NICE_METRES.filter((m) => m / metresPerPx <= 64).pop() ?? 1;
  const barPx = bar / metresPerPx;
  const c = SIZE / 2;
  const grid = [];
  for (let x = 12; x < SIZE; x += 24) {
    grid.push(svg("line", { x1: x, y1: 0, x2: x, y2: SIZE, class: "sk-grid" }));
    grid.push(svg("line", { x1: 0, y1: x, x2: SIZE, y2: x, class: "sk-grid" }));
  }
  const label = `${t("detail.sketch")} · ${t("loc.accuracy", { m: Math.round(accuracy) })}`;
  return svg(
    "svg",
    { viewBox: `0 0 ${SIZE} ${SIZE}`, width: SIZE, height: SIZE, role: "img", "aria-label": label, class: "sketch" },
    svg("title", {}, label),
    svg("rect", { x: 0, y: 0, width: SIZE, height: SIZE, class: "sk-bg" }),
    grid,
    svg("circle", { cx: c, cy: c, r: radius.toFixed(1), class: "sk-accuracy" }),
    svg("circle", { cx: c, cy: c, r: 4, class: "sk-fix" }),
    svg("path", { d: `M ${SIZE - 18} 26 l 6 -14 l 6 14 l -6 -4 z`, class: "sk-north" }),
    svg("text", { x: SIZE - 12, y: 38, class: "sk-text", "text-anchor": "middle" }, "N"),
    svg("line", { x1: 10, y1: SIZE - 12, x2: 10 + barPx, y2: SIZE - 12, class: "sk-bar" }),
    svg("text", { x: 10, y: SIZE - 17, class: "sk-text" }, bar >= 1000 ? `${bar / 1000} km` : `${bar} m`),
  );
}
