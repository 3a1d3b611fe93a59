// Offline maps, hand-written SVG: the district (its streets/towns as the registry's approximate
// outlines, incidents as markers coloured and lettered by priority) and the place of one incident
// (its trail and fences at street scale, with a scale bar). No tiles, nothing leaves the browser.

import { svg } from "./dom.js";
import { formatClock } from "./format.js";
import { currentLang, t } from "./i18n.js";

const M_PER_DEG = 111_320;
const NICE_METRES = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** An equirectangular projection fitted into width × height around `points` ([lat, lon]). */
function projection(points, width, height, pad) {
  const lats = points.map((p) => p[0]);
  const lons = points.map((p) => p[1]);
  const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2;
  const kx = Math.cos((lat0 * Math.PI) / 180);
  const spanX = Math.max((Math.max(...lons) - Math.min(...lons)) * kx, 1e-6);
  const spanY = Math.max(Math.max(...lats) - Math.min(...lats), 1e-6);
  const k = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const x0 = (width - spanX * k) / 2;
  const y0 = (height - spanY * k) / 2;
  const minLon = Math.min(...lons);
  const maxLat = Math.max(...lats);
  const project = ([lat, lon]) => [x0 + (lon - minLon) * kx * k, y0 + (maxLat - lat) * k];
  project.pxPerMetre = k / M_PER_DEG;
  return project;
}

/** The area centroid of a simple polygon of [lat, lon] (inside an L-shaped street, unlike the vertex mean). */
function centroid(outline) {
  let area = 0;
  let lat = 0;
  let lon = 0;
  outline.forEach(([y0, x0], i) => {
    const [y1, x1] = outline[(i + 1) % outline.length];
    const cross = x0 * y1 - x1 * y0;
    area += cross;
    lon += (x0 + x1) * cross;
    lat += (y0 + y1) * cross;
  });
  if (Math.abs(area) < 1e-12) return outline[0];
  return [lat / (3 * area), lon / (3 * area)];
}

function scaleBar(project, x, y, maxPx) {
  const bar = NICE_METRES.filter((m) => m * project.pxPerMetre <= maxPx).pop() ?? 10;
  const px = bar * project.pxPerMetre;
  return [
    svg("line", { x1: x, y1: y, x2: x + px, y2: y, class: "map-bar" }),
    svg("text", { x, y: y - 5, class: "map-text" }, bar >= 1000 ? `${bar / 1000} km` : `${bar} m`),
  ];
}

function north(x, y) {
  return [svg("path", { d: `M ${x} ${y + 14} l 6 -14 l 6 14 l -6 -4 z`, class: "map-north" }), svg("text", { x: x + 6, y: y + 27, class: "map-text", "text-anchor": "middle" }, "N")];
}

/**
 * The district: `streets` from /api/v1/streets (with `outline`), `incidents` as markers. An incident
 * without a location is drawn hollow at its street's centre (an estimate, said so in its title).
 */
export function districtMap(streets, incidents, selectedId, onPick) {
  const W = 560;
  const H = 440;
  const shaped = streets.filter((s) => Array.isArray(s.outline) && s.outline.length >= 3);
  if (shaped.length === 0) return null;
  const project = projection(shaped.flatMap((s) => s.outline), W, H, 18);
  const en = currentLang() === "en";
  const byName = new Map(shaped.map((s) => [s.name_zh, s]));
  const areas = shaped.map((s) => {
    const [cx, cy] = project(centroid(s.outline));
    const name = en ? s.name_en.replace(/ (Subdistrict|Town)$/, "") : s.name_zh;
    return svg(
      "g",
      { class: "map-street" },
      svg("polygon", { points: s.outline.map((p) => project(p).map((v) => v.toFixed(1)).join(",")).join(" "), class: "map-area" }),
      svg("text", { x: cx, y: cy, class: "map-name", "text-anchor": "middle" }, name),
    );
  });
  const markers = [];
  for (const incident of incidents) {
    const loc = incident.last_location;
    const street = byName.get(incident.subject?.street);
    const exact = loc && Number.isFinite(loc.lat) && Number.isFinite(loc.lon);
    if (!exact && !street) continue;
    const [x, y] = exact ? project([loc.lat, loc.lon]) : project(centroid(street.outline)).map((v, i) => v + (i ? 14 : 0));
    const sev = incident.severity ?? "P4";
    const selected = String(incident.id) === selectedId;
    const title = `${sev} · ${incident.subject?.masked_name ?? ""} · ${exact ? "" : t("map.estimated")}`;
    const marker = svg(
      "g",
      { class: `map-marker sev-${sev}${exact ? "" : " estimated"}${selected ? " selected" : ""}`, "data-id": String(incident.id), transform: `translate(${x.toFixed(1)},${y.toFixed(1)})` },
      svg("title", {}, title),
      svg("circle", { r: selected ? 11 : 8, class: "map-dot" }),
      svg("text", { y: 4, class: "map-sev", "text-anchor": "middle" }, sev.slice(1)),
    );
    if (onPick) marker.addEventListener("click", () => onPick(String(incident.id)));
    markers.push(marker);
  }
  const label = t("map.districtLabel", { n: markers.length });
  return svg(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": label, class: "map district-map" },
    svg("title", {}, label),
    svg("rect", { x: 0, y: 0, width: W, height: H, class: "map-bg" }),
    areas,
    markers,
    north(W - 30, 10),
    scaleBar(project, 14, H - 14, 120),
  );
}

function fenceShape(fence, project) {
  if (fence.shape === "polygon" && Array.isArray(fence.vertices) && fence.vertices.length >= 3) {
    return svg("polygon", { points: fence.vertices.map((p) => project(p).join(",")).join(" "), class: "map-fence" });
  }
  const [x, y] = project([fence.lat, fence.lon]);
  return svg("circle", { cx: x, cy: y, r: Math.max(2, fence.radius_m * project.pxPerMetre), class: "map-fence" });
}

function fencePoints(fence) {
  if (fence.shape === "polygon") return fence.vertices ?? [];
  const dLat = fence.radius_m / M_PER_DEG;
  const dLon = dLat / Math.cos((fence.lat * Math.PI) / 180);
  return [
    [fence.lat + dLat, fence.lon],
    [fence.lat - dLat, fence.lon],
    [fence.lat, fence.lon + dLon],
    [fence.lat, fence.lon - dLon],
  ];
}

/** One incident's place: the trail (oldest faint → newest), the last fix with its accuracy, the fences. */
export function placeMap(trail, fences, fix) {
  const W = 560;
  const H = trail.length > 1 || fences.length > 0 ? 300 : 200; // a lone fix needs less room
  const points = trail.map((p) => [p.lat, p.lon]);
  if (fix) points.push([fix.lat, fix.lon]);
  const all = [...points, ...fences.flatMap(fencePoints)];
  if (all.length === 0) return null;
  // a lone fix: a few hundred metres around it, the fix in the middle
  const around = ([lat, lon]) => [[lat - 0.002, lon - 0.0026], [lat + 0.002, lon + 0.0026]];
  const project = projection(all.length > 1 ? all : around(all[0]), W, H, 28);
  const fenceParts = fences.map((f) => {
    // the name just above the fence (a circle's top, a polygon's northernmost corner)
    const top = f.shape === "polygon" ? f.vertices.reduce((a, b) => (b[0] > a[0] ? b : a)) : [f.lat, f.lon];
    const [x, y] = project(top);
    const lift = f.shape === "polygon" ? 0 : Math.max(2, f.radius_m * project.pxPerMetre);
    return svg("g", { class: "map-fence-group" }, fenceShape(f, project), svg("text", { x, y: y - lift - 5, class: "map-text map-fence-name", "text-anchor": "middle" }, t("map.fence", { name: f.name })));
  });
  const path = trail.map((p) => project([p.lat, p.lon]).map((v) => v.toFixed(1)).join(",")).join(" ");
  const dots = trail.map((p, i) => {
    const [x, y] = project([p.lat, p.lon]);
    return svg("circle", { cx: x, cy: y, r: 3, class: "map-trail-dot", opacity: (0.35 + (0.65 * (i + 1)) / trail.length).toFixed(2) }, svg("title", {}, formatClock(p.at)));
  });
  const last = fix ?? trail.at(-1);
  const lastParts = [];
  if (last) {
    const [x, y] = project([last.lat, last.lon]);
    if (Number.isFinite(last.accuracy_m)) lastParts.push(svg("circle", { cx: x, cy: y, r: Math.max(3, last.accuracy_m * project.pxPerMetre), class: "map-accuracy" }));
    lastParts.push(svg("circle", { cx: x, cy: y, r: 6, class: "map-last" }));
    lastParts.push(svg("text", { x: x + 9, y: y + 4, class: "map-text map-last-label" }, t("map.last", { at: formatClock(last.at) })));
  }
  const label = t("map.placeLabel", { n: trail.length, fences: fences.map((f) => f.name).join("、") || "—" });
  return svg(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": label, class: "map place-map" },
    svg("title", {}, label),
    svg("rect", { x: 0, y: 0, width: W, height: H, class: "map-bg" }),
    fenceParts,
    trail.length > 1 ? svg("polyline", { points: path, class: "map-trail" }) : null,
    dots,
    lastParts,
    north(W - 30, 10),
    scaleBar(project, 14, H - 14, 140),
  );
}
