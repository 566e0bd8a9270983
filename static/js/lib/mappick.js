// A place picked on a map (docs/map.md, "Small maps"): "Scegli sulla mappa" opens a panel with
// a map of Tuscany; a click (or Enter on the map, which picks its centre: arrows move it, + and
// - zoom) puts a marker there and asks GET /api/v1/geo/locate where it is: the municipality
// field is filled, the zone shown ("Zona: Pratese"), and the point goes into the form's lat and
// lon fields, if it has them. A point outside Tuscany is said next to the field and fills
// nothing; a municipality typed afterwards that is not the point's is said too. Esc closes the
// panel. Picking is optional: the municipality can be typed as before.
//
// Markup (one root, the controls found by their data attributes):
//   [data-pick-open] button · [data-pick-panel] (hidden) holding [data-pick-map], [data-pick-clear]
//   and [data-pick-close] · [data-pick-zone] · [data-pick-warning]
import { api } from "./api.js";

export const OUTSIDE_TUSCANY = "Il punto è fuori dalla Toscana: controllare le coordinate.";
const FIT_ZOOM = 13;

/** A coordinate as the form sends it: six decimals (about 10 cm). */
export function roundCoordinate(value) {
  return Math.round(Number(value) * 1e6) / 1e6;
}

/** The Italian warning for a locate answer (dispatch/places.py says the same), or "". */
export function pickWarning(located, stated = "") {
  if (!located) return "";
  const warnings = Array.isArray(located.warnings) ? located.warnings : [];
  const first = warnings[0];
  if (first?.message_it) return String(first.message_it);
  if (!located.inside_tuscany || first?.type === "outside_tuscany") return OUTSIDE_TUSCANY;
  if (first?.type === "outside_municipality" && located.municipality) {
    return `Il punto cade nel comune di ${located.municipality.name}, non in quello indicato (${stated}).`;
  }
  return "";
}

/** The locate URL for a point and, optionally, the municipality it is said to be in. */
export function locateUrl(lat, lon, municipality = "") {
  const query = new URLSearchParams({ lat: String(lat), lon: String(lon) });
  if (municipality) query.set("municipality", municipality);
  return `/api/v1/geo/locate?${query}`;
}

function changed(input, ...types) {
  for (const type of types) input.dispatchEvent(new Event(type, { bubbles: true }));
}

/**
 * Wire a pick: `root` holds the markup above; `municipality` is the field to fill; `lat` and
 * `lon` (optional) the fields the form sends; `testHook`: a name under which the map's
 * latLngToContainerPoint is put on window (the browser tests click at a known point).
 */
export function placePicker({ root, municipality, lat = null, lon = null, testHook = "" }) {
  const $ = (name) => root.querySelector(`[data-pick-${name}]`);
  const opener = $("open");
  const panel = $("panel");
  const box = $("map");
  const zoneOut = $("zone");
  const warningOut = $("warning");
  let lib = null;
  let map = null;
  let marker = null;
  let point = null; // {lat, lon}
  let asked = 0; // the latest locate asked; older answers are dropped
  let filling = false; // the municipality is being filled by a pick, not typed

  function say(zone, warning) {
    zoneOut.textContent = zone ? `Zona: ${zone}` : "";
    zoneOut.hidden = !zone;
    warningOut.textContent = warning;
    warningOut.hidden = !warning;
    if (warning) municipality.setAttribute("aria-describedby", joinIds(municipality, warningOut.id, true));
    else municipality.setAttribute("aria-describedby", joinIds(municipality, warningOut.id, false));
  }

  function joinIds(input, id, on) {
    const ids = new Set((input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
    if (on) ids.add(id);
    else ids.delete(id);
    return [...ids].join(" ");
  }

  function drawMarker() {
    if (!map) return;
    marker?.remove();
    marker = null;
    if (!point) return;
    marker = lib.quietMarker(point.lat, point.lon, lib.placeIcon("pick", "X"), "Punto scelto").addTo(map);
  }

  function setFields(value) {
    if (!lat || !lon) return;
    lat.value = value ? String(value.lat) : "";
    lon.value = value ? String(value.lon) : "";
    changed(lat, "change"); // a draft keeps them (drafts.js); "input" is for a restored draft
  }

  /** Ask where the point is; `fill`: put its municipality into the field. */
  async function locate(fill) {
    if (!point) return;
    const mine = ++asked;
    const stated = fill ? "" : municipality.value.trim();
    const result = await api("GET", locateUrl(point.lat, point.lon, stated));
    if (mine !== asked) return;
    if (!result.ok) {
      // an unknown municipality typed is the form's own error on sending; say only the zone
      if (result.status === 422 && stated) return locateWithout(mine);
      say("", result.status === 0 ? "Posizione non verificata: server non raggiungibile." : "");
      return;
    }
    const found = result.data;
    if (fill && found.inside_tuscany && found.municipality) {
      filling = true;
      municipality.value = found.municipality.name;
      changed(municipality, "input", "change");
      filling = false;
    }
    say(found.zone?.name ?? "", pickWarning(found, stated));
  }

  async function locateWithout(mine) {
    const result = await api("GET", locateUrl(point.lat, point.lon));
    if (mine !== asked || !result.ok) return;
    say(result.data.zone?.name ?? "", pickWarning(result.data));
  }

  function pick(latlng) {
    point = { lat: roundCoordinate(latlng.lat), lon: roundCoordinate(latlng.lng ?? latlng.lon) };
    drawMarker();
    setFields(point);
    return locate(true);
  }

  function clear() {
    point = null;
    asked += 1;
    drawMarker();
    setFields(null);
    say("", "");
  }

  async function start() {
    lib = await import("./map.js");
    map = lib.createMap(box, { keyboard: true, scrollWheelZoom: true });
    box.setAttribute("role", "application");
    box.setAttribute("aria-roledescription", "mappa");
    await lib.addBoundaries(map);
    map.on("click", (event) => pick(event.latlng));
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pick(map.getCenter());
      }
    });
    if (testHook) {
      globalThis[testHook] = {
        point: (y, x) => {
          const at = map.latLngToContainerPoint([y, x]);
          return { x: at.x, y: at.y };
        },
      };
    }
  }

  let starting = null;
  async function open() {
    panel.hidden = false;
    opener.setAttribute("aria-expanded", "true");
    try {
      starting ??= start();
      await starting;
      map.invalidateSize();
      if (point) map.setView([point.lat, point.lon], Math.max(map.getZoom(), FIT_ZOOM), { animate: false });
      drawMarker();
      box.focus();
    } catch (error) {
      console.warn("mappa:", error);
      starting = null;
      try { map?.remove(); } catch { /* half made */ }
      map = null;
      box.replaceChildren(Object.assign(document.createElement("p"), {
        className: "map-unavailable-text", textContent: "Mappa non disponibile",
      }));
    }
  }

  function close() {
    panel.hidden = true;
    opener.setAttribute("aria-expanded", "false");
    opener.focus();
  }

  opener.addEventListener("click", () => (panel.hidden ? open() : close()));
  $("close")?.addEventListener("click", close);
  $("clear")?.addEventListener("click", clear);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  municipality.addEventListener("change", () => {
    if (!filling && point) locate(false);
  });
  // A draft put back (drafts.js announces "input"): the point again, where it was.
  for (const input of [lat, lon].filter(Boolean)) {
    input.addEventListener("input", () => {
      const y = Number(lat.value);
      const x = Number(lon.value);
      if (lat.value === "" || lon.value === "" || !Number.isFinite(y) || !Number.isFinite(x)) return;
      point = { lat: y, lon: x };
      drawMarker();
      locate(false);
    });
  }
  const form = municipality.form;
  form?.addEventListener("reset", () => {
    clear();
    if (!panel.hidden) close();
  });
  return { pick, clear, open, close };
}
