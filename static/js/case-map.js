// The case page's small map (docs/map.md, "Small maps"): the place (the referral's point, else
// its municipality's, said so) and the units offered for it at their position or base, over
// the place's zone. It only shows: no dragging, no zoom, no keyboard focus; the page says the
// same in words (the caption, the "Invia unità" list). A map that cannot load leaves the rest
// of the page working and says "Mappa non disponibile" (lib/map.js is imported when the map
// starts, so that not even a missing module stops the page).

const CENTRE_NOTE = "centro del comune (indirizzo senza coordinate)";
const FIT = { animate: false, padding: [18, 18], maxZoom: 13 };

/** The place as the map shows it: its point, what the point is, the text of its tooltip. */
export function placeOf(referral, centre) {
  const town = referral.municipality?.name ?? "";
  if (referral.lat !== null && referral.lat !== undefined && referral.lon !== null && referral.lon !== undefined) {
    const where = [referral.address, town].filter(Boolean).join(", ");
    return { lat: referral.lat, lon: referral.lon, exact: true, text: `Luogo della segnalazione: ${where}` };
  }
  if (!centre) return null;
  return { ...centre, exact: false, text: `${town}: ${CENTRE_NOTE}` };
}

/** A unit's tooltip: name, status, estimate and where it is taken from. */
function unitText(unit) {
  const eta = unit.eta_minutes !== null && unit.eta_minutes !== undefined ? ` · arrivo ~${unit.eta_minutes} min` : "";
  return `${unit.name} · ${unit.status_label}${eta} · ${unit.position_label}`;
}

export function caseMap({ element, caption, centre }) {
  let lib = null; // lib/map.js
  let map = null;
  let zones = null;
  let failed = false;
  let starting = null;
  let place = null;
  let zoneId = null;
  let urgency = null;
  let units = [];
  const layer = { place: null, units: null };

  function fail() {
    failed = true;
    try { map?.remove(); } catch { /* half made */ }
    map = null;
    element.classList.add("map-unavailable");
    element.removeAttribute("role");
    element.removeAttribute("aria-label");
    element.replaceChildren(Object.assign(document.createElement("p"), {
      className: "map-unavailable-text", textContent: "Mappa non disponibile",
    }));
  }

  async function start() {
    try {
      lib = await import("./lib/map.js");
      map = lib.createMap(element, lib.STILL);
      zones = (await lib.addBoundaries(map)).zones;
      layer.units = globalThis.L.layerGroup().addTo(map);
    } catch (error) {
      console.warn("mappa del caso:", error);
      fail();
    }
  }

  function redraw() {
    try {
      draw();
    } catch (error) {
      console.warn("mappa del caso:", error);
      fail();
    }
  }

  function draw() {
    if (!map || failed) return;
    const L = globalThis.L;
    const { quietMarker, referralIcon, unitIcon, zoneBounds } = lib;
    layer.place?.remove();
    layer.place = null;
    const points = [];
    if (place) {
      layer.place = quietMarker(place.lat, place.lon, referralIcon(urgency), place.text).addTo(map);
      layer.place.getElement()?.classList.add("map-the-place", place.exact ? "is-exact" : "is-centre");
      points.push([place.lat, place.lon]);
    }
    layer.units.clearLayers();
    for (const unit of units) {
      if (unit.lat === null || unit.lat === undefined || unit.lon === null || unit.lon === undefined) continue;
      const marker = quietMarker(unit.lat, unit.lon, unitIcon(unit.status, unit.position_source !== "position"), unitText(unit));
      layer.units.addLayer(marker);
      marker.getElement()?.setAttribute("data-unit-id", String(unit.unit_id));
      points.push([unit.lat, unit.lon]);
    }
    const bounds = zoneBounds(zones, zoneId) ?? (points.length ? L.latLngBounds(points) : null);
    if (!bounds) return;
    for (const point of points) bounds.extend(point);
    map.fitBounds(bounds, FIT);
    describe();
  }

  function describe() {
    const shown = units.filter((u) => u.lat !== null && u.lat !== undefined);
    const where = place ? (place.exact ? "il luogo della segnalazione" : `il ${CENTRE_NOTE}`) : "la zona";
    const who = shown.length
      ? `; ${shown.length === 1 ? "1 unità consigliata" : `${shown.length} unità consigliate`} (elenco in «Invia unità»)`
      : "";
    element.setAttribute("aria-label", `Mappa: ${where}${who}.`);
    if (caption) {
      caption.textContent = place
        ? `${place.exact ? "Luogo: coordinate della segnalazione" : `Luogo: ${CENTRE_NOTE}`}.` +
          (shown.length ? " Unità consigliate: tratteggiate se alla sede." : "")
        : "";
    }
  }

  return {
    /** The case file: its place, its zone and its urgency. */
    async show(file) {
      place = placeOf(file.referral, centre);
      zoneId = file.zone_id ?? file.referral.zone?.id ?? null;
      urgency = file.urgency ?? file.referral.urgency_proposed ?? null;
      if (failed) return;
      starting ??= start();
      await starting;
      redraw();
    },
    /** The recommended units shown in "Invia unità" (GET /api/v1/cases/{id}/recommendations). */
    async units(list) {
      units = [...list];
      if (failed || !starting) return;
      await starting;
      redraw();
    },
  };
}
