// The console's maps: Tuscany drawn from our own boundaries, with no tile layer and no request
// to any other server (docs/map.md). Leaflet is vendored (static/vendor/leaflet, scripts/vendor)
// and loaded as a classic script before the page's module, so it is `window.L` here:
//
//   {% include "_map_head.html" %}   (the stylesheets and leaflet.js, in the page's head)
//   const map = createMap(element);
//   const { zones } = await addBoundaries(map, { zoneStyle: (feature) => ({...}) });
//
// The zones are loaded with the map; the 273 municipalities only when the map is zoomed in to
// MUNICIPALITIES_ZOOM, and then kept. The markers are small HTML icons whose shape and letter
// say what the colour says (urgency, a unit's status), as the queue's badges do.

export const TUSCANY_BOUNDS = [[42.23, 9.68], [44.48, 12.38]];
export const MUNICIPALITIES_ZOOM = 10;
export const ATTRIBUTION = "Confini comunali: Openpolis / ISTAT, CC-BY 4.0";

const loaded = new Map(); // name -> promise of the GeoJSON

/** The browser's boundaries (static/geo/<name>.geojson, built by scripts/build-boundaries). */
export function loadBoundaries(name) {
  if (!loaded.has(name)) {
    const promise = fetch(`/static/geo/${name}.geojson`, { credentials: "same-origin" }).then((r) => {
      if (!r.ok) throw new Error(`confini ${name}: HTTP ${r.status}`);
      return r.json();
    });
    promise.catch(() => loaded.delete(name)); // a failed load is tried again next time
    loaded.set(name, promise);
  }
  return loaded.get(name);
}

function leaflet() {
  const L = globalThis.L;
  if (!L) throw new Error("Leaflet non caricato (static/vendor/leaflet/dist/leaflet.js)");
  return L;
}

/**
 * A map of Tuscany in `element`, no tiles. Options go to L.map (e.g. zoomControl: false,
 * dragging: false for a mini-map); `bounds` to fit (default: all Tuscany).
 */
export function createMap(element, { bounds = TUSCANY_BOUNDS, ...options } = {}) {
  const L = leaflet();
  element.classList.add("seus-map");
  const map = L.map(element, {
    zoomSnap: 0.25,
    minZoom: 6,
    maxZoom: 17,
    maxBounds: L.latLngBounds(TUSCANY_BOUNDS).pad(0.6),
    attributionControl: true,
    keyboard: true,
    ...options,
  });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(ATTRIBUTION);
  map.fitBounds(bounds, { animate: false });
  return map;
}

const ZONE_STYLE = { color: "#4a5a6a", weight: 1.2, fillColor: "#f4f1e8", fillOpacity: 1 };
const MUNICIPALITY_STYLE = { color: "#8a96a3", weight: 0.6, dashArray: "2 3", fill: false };

/**
 * Draw the zones (now) and the municipalities (from MUNICIPALITIES_ZOOM on). `zoneStyle(feature)`
 * styles a zone (the choropleth); `onZone(feature, layer)` binds a zone's layer (tooltips,
 * clicks). Resolves to { zones, municipalities: () => the municipalities' layer or null }.
 */
export async function addBoundaries(map, { zoneStyle = () => ({}), onZone = null, pane = null } = {}) {
  const L = leaflet();
  const data = await loadBoundaries("zones");
  const zones = L.geoJSON(data, {
    style: (feature) => ({ ...ZONE_STYLE, ...zoneStyle(feature) }),
    onEachFeature: onZone ?? undefined,
    ...(pane ? { pane } : {}),
  }).addTo(map);
  let municipalities = null;
  const toggle = async () => {
    const wanted = map.getZoom() >= MUNICIPALITIES_ZOOM;
    if (wanted && !municipalities) {
      const shapes = await loadBoundaries("municipalities");
      if (municipalities) return;
      municipalities = L.geoJSON(shapes, {
        style: MUNICIPALITY_STYLE,
        interactive: false,
        ...(pane ? { pane } : {}),
      });
    }
    if (!municipalities) return;
    if (wanted && !map.hasLayer(municipalities)) municipalities.addTo(map);
    if (!wanted && map.hasLayer(municipalities)) municipalities.remove();
  };
  map.on("zoomend", () => { toggle().catch(() => {}); });
  await toggle();
  return { zones, municipalities: () => municipalities };
}

// ---- markers: shape and letter say what the colour says ----

/** The letter on a referral's marker, by urgency (= the queue's badge, first letter). */
export const URGENCY_LETTERS = Object.freeze({ rosso: "R", giallo: "G", verde: "V" });

/** The letter on a unit's marker, by status. */
export const UNIT_STATUS_LETTERS = Object.freeze({
  off_duty: "F", available: "D", assigned: "A", acknowledged: "P",
  en_route: "V", on_scene: "S", returning: "R",
});

function icon(className, letter, size) {
  const L = leaflet();
  return L.divIcon({
    className,
    html: `<span aria-hidden="true">${letter}</span>`,
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
  });
}

/** A referral's icon: a diamond (rosso), a circle (giallo), a square (verde); its letter. */
export function referralIcon(urgency) {
  const known = Object.hasOwn(URGENCY_LETTERS, urgency ?? "");
  const code = known ? urgency : "none";
  return icon(`map-pin map-referral urgency-${code}`, known ? URGENCY_LETTERS[urgency] : "?", 22);
}

/** A unit's icon by status; `atBase`: drawn at its base, not at a reported position (dashed). */
export function unitIcon(status, atBase = false) {
  const letter = UNIT_STATUS_LETTERS[status] ?? "?";
  return icon(`map-pin map-unit unit-${status}${atBase ? " at-base" : ""}`, letter, 24);
}

/** A base's icon (a house letter B) and a resource's icon (a letter for its kind). */
export function placeIcon(kind, letter) {
  return icon(`map-pin map-place place-${kind}`, letter, 18);
}

/** An OS maps link for a point (the device's own maps app on phones and tablets). */
export function mapsLink(lat, lon) {
  return `geo:${lat},${lon}?q=${lat},${lon}`;
}

/** A search in the device's own maps app, for a place with no coordinates (its address). */
export function mapsSearchLink(text) {
  return `geo:0,0?q=${encodeURIComponent(text)}`;
}

// ---- small maps (docs/map.md, "Small maps"): the case page, the place pick, the tablet ----

/** L.map options of a small map that only shows: no dragging, zooming or keyboard focus. */
export const STILL = Object.freeze({
  zoomControl: false,
  dragging: false,
  scrollWheelZoom: false,
  doubleClickZoom: false,
  boxZoom: false,
  touchZoom: false,
  keyboard: false,
});

/** The bounds of zone `zoneId` in the zones' layer addBoundaries gave, or null. */
export function zoneBounds(zones, zoneId) {
  let found = null;
  zones.eachLayer((layer) => {
    if (!found && layer.feature?.properties?.id === zoneId) found = layer.getBounds();
  });
  return found;
}

/** A marker that takes no keyboard focus (the page lists the same as text), with a tooltip
 * whose text is set as text, never as HTML. */
export function quietMarker(lat, lon, icon, text) {
  const L = leaflet();
  const marker = L.marker([lat, lon], { icon, keyboard: false, title: "" });
  if (text) {
    const content = document.createElement("span");
    content.textContent = text;
    marker.bindTooltip(content, { direction: "top", offset: [0, -10] });
  }
  return marker;
}

/** Say in the map's place that there is no map (Leaflet or the boundaries did not load). */
export function mapUnavailable(element, text = "Mappa non disponibile") {
  element.classList.add("map-unavailable");
  element.removeAttribute("role");
  element.removeAttribute("aria-label");
  element.replaceChildren();
  const note = document.createElement("p");
  note.className = "map-unavailable-text";
  note.textContent = text;
  element.append(note);
}
