// The live map (/mappa): zones coloured by their open referrals (a breach: a thick dashed
// outline and a label), open referrals and cases by urgency, units where they are (or at their
// base), bases and the basket's resources, on Tuscany's own boundaries with no tiles
// (docs/map.md). Beside it, the same things as lists a keyboard and a screen reader can use.
//
// GET /api/v1/map is read with its `as_of`, then the events after it are applied (lib/follow.js):
// a unit's events (its position above all: the log carries no coordinates) gather its id for
// BATCH_MS, then GET /api/v1/map/units?ids= reads those units only; referral, case and clock
// events re-read the referrals and cases they name (GET /api/v1/map/referrals), availability
// comes with its event, a changed resource re-reads the snapshot (rare).
import { LiveStream } from "./lib/live.js";
import { Follow, resumeAt } from "./lib/follow.js";
import { api } from "./lib/api.js";
import { announce, el, romeTime } from "./lib/format.js";
import { LIVE_STATUS_LABELS, URGENCY_LABELS } from "./lib/labels.js";
import { ListNav } from "./lib/listnav.js";
import { addBoundaries, createMap, placeIcon, referralIcon, unitIcon } from "./lib/map.js";

const BATCH_MS = 700; // unit positions: gather the ids, then one read
const SNAPSHOT_DELAY_MS = 2000; // a rare event: the whole snapshot, once
const TICK_MS = 15000; // ages and waits move on
const LAYERS = ["zones", "referrals", "units", "bases", "resources"];
const MAX_IDS = 100;

const root = document.getElementById("map-page");
const wall = root.dataset.wall === "true";
const statusEl = document.getElementById("live-status");
const readAtEl = document.getElementById("map-read-at");
const errorBox = document.getElementById("map-error");
const layersError = document.getElementById("layers-error");
const zoneFilter = document.getElementById("filter-zone");
const urgencyFilter = document.getElementById("filter-urgency");
const sections = document.getElementById("mirror-sections");
const announcer = document.getElementById("map-announcer");
const layerBoxes = [...document.querySelectorAll('#map-layers input[name="layer"]')];

// ---- state: what the last read and the events after it say ----

const state = {
  zones: new Map(), // id -> {id, name, open_referrals, breached}
  referrals: new Map(), // referral id -> item
  units: new Map(),
  bases: [],
  resources: new Map(),
  maxAgeS: 1800,
  offsetMs: 0, // server clock minus ours
  asOf: 0,
};
const shown = new Set(LAYERS);
let ready = false; // the first read is drawn

const serverNow = () => Date.now() + state.offsetMs;

// ---- words ----

/** "meno di un minuto", "7 min", "2 h 05 min" (= dispatch.units.age_words). */
export function ageWords(seconds) {
  const minutes = Math.floor(Math.max(0, seconds) / 60);
  if (minutes < 1) return "meno di un minuto";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

const secondsSince = (iso) => Math.max(0, Math.floor((serverNow() - Date.parse(iso)) / 1000));

/** "Rosso — SEUS-2026-0012, Prato, in attesa da 12 min". */
export function referralSentence(item, seconds) {
  const urgency = URGENCY_LABELS[item.urgency] ?? item.urgency;
  const waiting = item.case_id === null
    ? (item.status === "received" ? "in attesa" : "in valutazione")
    : `caso ${item.status_label.toLowerCase()}`;
  let text = `${urgency} — ${item.number}, ${item.municipality}, ${waiting} da ${ageWords(seconds)}`;
  if (item.breached) text += ", tempo scaduto";
  if (item.approximate) text += " (posizione approssimata: centro del comune)";
  return text;
}

/** "UTES Firenze 1 (demo), in viaggio, a Prato, posizione di 3 min fa, caso SEUS-2026-0012". */
export function unitSentence(unit, positionLabel) {
  const parts = [unit.name, unit.status_label.toLowerCase()];
  if (unit.place) parts.push(`a ${unit.place}`);
  parts.push(positionLabel);
  if (unit.case_number) parts.push(`caso ${unit.case_number}`);
  return parts.join(", ");
}

function positionLabel(unit) {
  if (unit.position_source !== "position" || !unit.position_at) return unit.position_label;
  return `posizione di ${ageWords(secondsSince(unit.position_at))} fa`;
}

function zoneSentence(zone) {
  const open = zone.open_referrals === 1 ? "1 segnalazione aperta" : `${zone.open_referrals} segnalazioni aperte`;
  const late = zone.breached ? `, ${zone.breached === 1 ? "1 tempo scaduto" : `${zone.breached} tempi scaduti`}` : "";
  return `${zone.name}: ${open}${late}`;
}

function baseSentence(base) {
  if (base.kind === "operations_room") return `Centrale operativa: ${base.label}`;
  const units = base.units.length ? `: ${base.units.join(", ")}` : "";
  return `Base ${base.label}${base.note ? ` (${base.note})` : ""}${units}`;
}

function resourceSentence(resource) {
  return `${resource.type_label} — ${resource.name}, ${resource.zone_name}: ${resource.available} disponibili su ${resource.capacity}`;
}

// ---- filters (kept in the address) ----

function readFilters() {
  const params = new URLSearchParams(location.search);
  zoneFilter.value = params.get("zona") ?? "";
  urgencyFilter.value = params.get("urgenza") ?? "";
  if (zoneFilter.selectedIndex < 0) zoneFilter.value = "";
  if (urgencyFilter.selectedIndex < 0) urgencyFilter.value = "";
}

function writeFilters() {
  const params = new URLSearchParams(location.search);
  for (const [key, select] of [["zona", zoneFilter], ["urgenza", urgencyFilter]]) {
    if (select.value) params.set(key, select.value);
    else params.delete(key);
  }
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

const inZone = (zone, zones = []) => !zoneFilter.value || zone === zoneFilter.value || zones.includes(zoneFilter.value);

const visible = {
  referrals: (r) => inZone(r.zone) && (!urgencyFilter.value || r.urgency === urgencyFilter.value),
  units: (u) => u.lat !== null && u.lon !== null && inZone(u.zone, u.zones),
  bases: (b) => inZone(b.zone),
  resources: (r) => inZone(r.zone),
  zones: (z) => inZone(z.id),
};

// ---- the map ----

const L = globalThis.L;
const map = createMap(document.getElementById("map"), { zoomControl: true });
const groups = {
  referrals: L.layerGroup(),
  units: L.layerGroup(),
  bases: L.layerGroup(),
  resources: L.layerGroup(),
  breaches: L.layerGroup(), // the zones' breach labels (with the zones layer)
};
const markers = { referrals: new Map(), units: new Map(), resources: new Map(), bases: new Map() };
let zoneShapes = null; // the zones' GeoJSON layer (addBoundaries)
const zoneLayers = new Map(); // zone id -> its path layer

// Tests and the curious: the map and its markers.
globalThis.__seusMap = { map, markers, zoneLayers };

const BUCKET_COLOURS = ["#f4f1e8", "#fde2c4", "#f9b98a", "#ef8a5a", "#d4553a"];

export function bucket(count) {
  if (count <= 0) return 0;
  if (count <= 2) return 1;
  if (count <= 5) return 2;
  if (count <= 10) return 3;
  return 4;
}

/** The attributes a marker's element carries (kept across setIcon and re-adds). */
function mark(marker, attrs) {
  marker.seusAttrs = { ...(marker.seusAttrs ?? {}), ...attrs };
  const element = marker.getElement();
  if (!element) return;
  for (const [name, value] of Object.entries(marker.seusAttrs)) element.setAttribute(name, String(value));
}

function newMarker(latlng, icon, onOpen) {
  const marker = L.marker(latlng, { icon, keyboard: true, riseOnHover: true });
  marker.on("add", () => mark(marker, {}));
  marker.on("click", () => onOpen());
  return marker;
}

function place(marker, lat, lon) {
  const current = marker.getLatLng();
  if (current.lat !== lat || current.lng !== lon) marker.setLatLng([lat, lon]);
  mark(marker, { "data-lat": lat, "data-lng": lon });
}

function tooltip(marker, text) {
  if (marker.getTooltip()) marker.setTooltipContent(text);
  else marker.bindTooltip(text, { direction: "top", offset: [0, -10] });
  mark(marker, { "aria-label": text });
}

function swapIcon(marker, icon, key) {
  if (marker.seusIconKey === key) return;
  marker.seusIconKey = key;
  marker.setIcon(icon);
  mark(marker, {});
}

function drawReferral(item) {
  let marker = markers.referrals.get(item.id);
  if (!marker) {
    marker = newMarker([item.lat, item.lon], referralIcon(item.urgency), () => location.assign(item.href));
    marker.seusIconKey = item.urgency;
    markers.referrals.set(item.id, marker);
  }
  marker.off("click").on("click", () => location.assign(item.href));
  swapIcon(marker, referralIcon(item.urgency), item.urgency);
  place(marker, item.lat, item.lon);
  mark(marker, {
    "data-referral-id": item.id, "data-case-id": item.case_id ?? "", "data-urgency": item.urgency,
    "data-href": item.href, "data-breached": item.breached,
  });
  tooltip(marker, referralSentence(item, secondsSince(item.since)));
  return marker;
}

function drawUnit(unit) {
  let marker = markers.units.get(unit.id);
  const atBase = unit.position_source !== "position";
  const key = `${unit.status}:${atBase}`;
  if (!marker) {
    marker = newMarker([unit.lat, unit.lon], unitIcon(unit.status, atBase), () => location.assign(unitHref(unit)));
    marker.seusIconKey = key;
    markers.units.set(unit.id, marker);
  }
  marker.off("click").on("click", () => location.assign(unitHref(unit)));
  swapIcon(marker, unitIcon(unit.status, atBase), key);
  place(marker, unit.lat, unit.lon);
  mark(marker, { "data-unit-id": unit.id, "data-position-source": unit.position_source });
  tooltip(marker, unitSentence(unit, positionLabel(unit)));
  return marker;
}

function drawResource(resource) {
  let marker = markers.resources.get(resource.id);
  if (!marker) {
    marker = newMarker([resource.lat, resource.lon], placeIcon("resource", resourceLetter(resource.type)), () => location.assign(resource.href));
    markers.resources.set(resource.id, marker);
  }
  place(marker, resource.lat, resource.lon);
  mark(marker, { "data-resource-id": resource.id });
  tooltip(marker, resourceSentence(resource));
  return marker;
}

function drawBase(base, index) {
  let marker = markers.bases.get(index);
  const letter = base.kind === "operations_room" ? "C" : "B";
  if (!marker) {
    marker = newMarker([base.lat, base.lon], placeIcon(base.kind === "operations_room" ? "room" : "base", letter), () => location.assign(baseHref(base)));
    markers.bases.set(index, marker);
  }
  place(marker, base.lat, base.lon);
  mark(marker, { "data-base": base.kind });
  tooltip(marker, baseSentence(base));
  return marker;
}

const RESOURCE_LETTERS = {
  shelter_bed: "L", meals: "P", clothing: "V", pharmacy: "F", transport: "T", interpreter: "I",
  psychological_first_aid: "S", hotel_room: "H", other: "A",
};
const resourceLetter = (type) => RESOURCE_LETTERS[type] ?? "A";
const unitHref = (unit) => (unit.zone ? `/unita?zona=${encodeURIComponent(unit.zone)}` : "/unita");
const baseHref = (base) => (base.zone ? `/unita?zona=${encodeURIComponent(base.zone)}` : "/unita");

/** Put into `group` the markers of `items` that pass the filter; take out the others. */
function syncGroup(group, kind, items, draw) {
  const keep = new Set();
  for (const [key, item] of items) {
    if (!visible[kind](item)) continue;
    const marker = draw(item, key);
    keep.add(marker);
    if (!group.hasLayer(marker)) group.addLayer(marker);
  }
  for (const marker of group.getLayers()) if (!keep.has(marker)) group.removeLayer(marker);
}

function drawZones() {
  if (!zoneShapes) return;
  groups.breaches.clearLayers();
  for (const [id, layer] of zoneLayers) {
    const zone = state.zones.get(id);
    const count = zone?.open_referrals ?? 0;
    const coloured = shown.has("zones");
    const dimmed = zoneFilter.value && zoneFilter.value !== id;
    layer.setStyle({
      fillColor: coloured ? BUCKET_COLOURS[bucket(count)] : BUCKET_COLOURS[0],
      fillOpacity: dimmed ? 0.35 : 1,
    });
    const breached = coloured && (zone?.breached ?? 0) > 0;
    layer.getElement()?.classList.toggle("is-breached", breached);
    if (breached && !dimmed) {
      const label = L.marker(layer.getCenter(), {
        icon: L.divIcon({ className: "map-zone-breach", html: `${Number(zone.breached)} scaduti`, iconSize: null }),
        interactive: false,
        keyboard: false,
      });
      groups.breaches.addLayer(label);
    }
    if (zone) layer.setTooltipContent?.(zoneSentence(zone));
  }
}

function drawMap() {
  drawZones();
  syncGroup(groups.referrals, "referrals", state.referrals, drawReferral);
  syncGroup(groups.units, "units", state.units, drawUnit);
  syncGroup(groups.resources, "resources", state.resources, drawResource);
  syncGroup(groups.bases, "bases", state.bases.map((b, i) => [i, b]), drawBase);
  for (const name of ["referrals", "units", "bases", "resources"]) {
    if (shown.has(name)) groups[name].addTo(map);
    else groups[name].remove();
  }
  if (shown.has("zones")) groups.breaches.addTo(map);
  else groups.breaches.remove();
}

// ---- the mirror: the same things as lists (headings per layer, a sentence per item) ----

const TITLES = {
  zones: "Zone",
  referrals: "Segnalazioni e casi aperti",
  units: "Unità operative",
  bases: "Basi e centrale operativa",
  resources: "Risorse del paniere",
};
const navs = new Map(); // layer -> ListNav

function mirrorItems(name) {
  const items = [];
  if (name === "zones") {
    let i = 0;
    for (const zone of [...state.zones.values()].filter(visible.zones)) {
      i += 1;
      items.push({ id: i, text: zoneSentence(zone), href: `/mappa?zona=${encodeURIComponent(zone.id)}`, zone: zone.id, breached: zone.breached > 0 });
    }
  } else if (name === "referrals") {
    const list = [...state.referrals.values()].filter(visible.referrals)
      .sort((a, b) => urgencyOrder(a) - urgencyOrder(b) || Date.parse(a.since) - Date.parse(b.since));
    for (const item of list) items.push({ id: item.id, text: referralSentence(item, secondsSince(item.since)), href: item.href, breached: item.breached });
  } else if (name === "units") {
    for (const unit of [...state.units.values()].filter(visible.units)) {
      items.push({ id: unit.id, text: unitSentence(unit, positionLabel(unit)), href: unitHref(unit) });
    }
  } else if (name === "bases") {
    state.bases.forEach((base, index) => {
      if (visible.bases(base)) items.push({ id: index + 1, text: baseSentence(base), href: baseHref(base) });
    });
  } else if (name === "resources") {
    for (const resource of [...state.resources.values()].filter(visible.resources)) {
      items.push({ id: resource.id, text: resourceSentence(resource), href: resource.href });
    }
  }
  return items;
}

const URGENCY_ORDER = { rosso: 0, giallo: 1, verde: 2 };
const urgencyOrder = (item) => URGENCY_ORDER[item.urgency] ?? 3;

function renderMirror() {
  if (wall) return; // the wall shows the map only
  const focusedLayer = document.activeElement?.closest?.("[data-layer]")?.dataset.layer ?? null;
  const focusedId = focusedLayer ? navs.get(focusedLayer)?.focused() : null;
  const built = [];
  for (const name of LAYERS) {
    if (!shown.has(name)) continue;
    const section = el("section", "mirror-section");
    section.dataset.layer = name;
    const items = mirrorItems(name);
    const heading = el("h3", null, `${TITLES[name]} (${items.length})`);
    heading.id = `mirror-${name}-title`;
    const list = el("ul", "mirror-list");
    list.id = `mirror-${name}`;
    list.setAttribute("aria-labelledby", heading.id);
    let nav = navs.get(name);
    if (!nav) {
      nav = new ListNav({
        list, item: "li", control: "a", root: new EventTarget(), // keys: the section's own listener
        onEnter: (id) => openItem(name, id), onOpen: (id) => openItem(name, id),
      });
      navs.set(name, nav);
    }
    nav.list = list;
    section.addEventListener("keydown", (key) => nav.keydown(key));
    nav.choose(items.map((i) => i.id));
    for (const item of items) {
      const li = el("li");
      li.dataset.id = String(item.id);
      if (item.breached) li.classList.add("is-breached");
      const link = el("a", null, item.text);
      link.href = item.href;
      if (item.zone) {
        link.addEventListener("click", (click) => {
          click.preventDefault();
          zoneFilter.value = item.zone;
          filtersChanged();
        });
      }
      li.append(link);
      nav.bind(li, item.id);
      list.append(li);
    }
    section.append(heading, items.length ? list : el("p", "mirror-empty", "Niente da mostrare con questi filtri."));
    if (!items.length) section.append(list); // kept (empty) for the keyboard's list
    built.push(section);
  }
  if (!built.length) built.push(el("p", "mirror-empty", "Nessun livello scelto."));
  sections.replaceChildren(...built);
  if (focusedLayer && focusedId !== null) navs.get(focusedLayer)?.refocus(focusedId);
}

function openItem(name, id) {
  const link = document.querySelector(`#mirror-${name} li[data-id="${id}"] a`);
  link?.click();
}

// ---- drawing, at most once a frame ----

let frame = null;
function render() {
  if (!ready || frame !== null) return;
  frame = requestAnimationFrame(() => {
    frame = null;
    drawMap();
    renderMirror();
    if (!performance.getEntriesByName("seus-map-drawn").length) performance.mark("seus-map-drawn"); // bench/map_page.py
  });
}

function say(text) {
  announce(announcer, text);
}

// ---- reading ----

function clockFrom(now) {
  const at = Date.parse(now);
  if (Number.isFinite(at)) state.offsetMs = at - Date.now();
}

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

async function loadSnapshot() {
  const result = await api("GET", "/api/v1/map");
  if (result.status === 0) throw new Error("Server non raggiungibile: mappa non aggiornata.");
  if (!result.ok) throw new Error(`Mappa non aggiornata: ${result.detail}`);
  return result.data;
}

function applySnapshot(data) {
  clockFrom(data.now);
  state.asOf = data.as_of;
  state.maxAgeS = data.position_max_age_seconds;
  state.zones = new Map(data.zones.map((z) => [z.id, z]));
  state.referrals = new Map(data.referrals.map((r) => [r.id, r]));
  state.units = new Map(data.units.map((u) => [u.id, u]));
  state.resources = new Map(data.resources.map((r) => [r.id, r]));
  for (const marker of markers.bases.values()) groups.bases.removeLayer(marker);
  markers.bases.clear();
  state.bases = data.bases;
  readAtEl.textContent = romeTime(data.now);
  showError("");
  render();
}

// Partial reads: ids gathered from events, read together.
const pending = { units: new Set(), referrals: new Set(), cases: new Set() };
let batchTimer = null;

function want(kind, id) {
  const n = Number(id);
  if (!Number.isInteger(n) || n <= 0) return;
  pending[kind].add(n);
  if (batchTimer === null) batchTimer = setTimeout(flush, BATCH_MS);
}

function chunks(ids) {
  const all = [...ids];
  const out = [];
  for (let i = 0; i < all.length; i += MAX_IDS) out.push(all.slice(i, i + MAX_IDS));
  return out;
}

async function flush() {
  batchTimer = null;
  const units = pending.units;
  const referrals = pending.referrals;
  const cases = pending.cases;
  pending.units = new Set();
  pending.referrals = new Set();
  pending.cases = new Set();
  for (const ids of chunks(units)) await readUnits(ids);
  if (referrals.size || cases.size) await readReferrals([...referrals], [...cases]);
}

async function readUnits(ids) {
  const result = await api("GET", `/api/v1/map/units?ids=${ids.join(",")}`);
  if (!result.ok) { ids.forEach((id) => want("units", id)); return; } // again, later
  if (result.data.as_of < state.asOf) return; // a snapshot newer than this read is drawn
  clockFrom(result.data.now);
  for (const unit of result.data.units) {
    const before = state.units.get(unit.id);
    state.units.set(unit.id, unit);
    if (before && before.status !== unit.status) say(`${unit.name}: ${unit.status_label.toLowerCase()}.`);
  }
  render();
}

async function readReferrals(referralIds, caseIds) {
  for (let i = 0; i < Math.max(referralIds.length, caseIds.length); i += MAX_IDS) {
    const ids = referralIds.slice(i, i + MAX_IDS);
    const cases = caseIds.slice(i, i + MAX_IDS);
    const params = new URLSearchParams();
    if (ids.length) params.set("ids", ids.join(","));
    if (cases.length) params.set("cases", cases.join(","));
    const result = await api("GET", `/api/v1/map/referrals?${params}`);
    if (!result.ok) {
      ids.forEach((id) => want("referrals", id));
      cases.forEach((id) => want("cases", id));
      continue;
    }
    if (result.data.as_of < state.asOf) continue;
    clockFrom(result.data.now);
    const found = new Map(result.data.referrals.map((r) => [r.id, r]));
    const asked = new Set(cases);
    for (const [id, item] of state.referrals) {
      const gone = (ids.includes(id) || (item.case_id !== null && asked.has(item.case_id))) && !found.has(id);
      if (gone) {
        state.referrals.delete(id);
        say(`Tolta dalla mappa: ${item.number}.`);
      }
    }
    for (const item of found.values()) {
      if (!state.referrals.has(item.id)) say(`Sulla mappa: ${referralSentence(item, secondsSince(item.since))}.`);
      state.referrals.set(item.id, item);
    }
    state.zones = new Map(result.data.zones.map((z) => [z.id, z]));
  }
  render();
}

const CLOCK_MOVES = new Set(["clock.breached", "clock.met", "clock.cancelled", "clock.retargeted", "clock.started"]);

/** One event after the read: what it carries, else the objects it names are read again. */
function applyEvent(event) {
  const type = String(event.type ?? "");
  const payload = event.payload ?? {};
  const [kind, raw] = String(event.subject ?? "").split(":");
  const subjectId = Number(raw);
  if (type.startsWith("unit.")) {
    if (type.startsWith("unit.message_") || type === "unit.crew_changed") return;
    want("units", payload.unit_id ?? (kind === "unit" ? subjectId : null));
  } else if (type.startsWith("case.")) {
    if (type.startsWith("case.note_")) return;
    if (payload.unit_id) want("units", payload.unit_id);
    want("cases", kind === "case" ? subjectId : payload.case_id);
  } else if (type.startsWith("referral.")) {
    if (type === "referral.progressed" || type === "referral.addendum_added") return;
    want("referrals", kind === "referral" ? subjectId : payload.referral_id);
  } else if (CLOCK_MOVES.has(type)) {
    if (payload.case_id) want("cases", payload.case_id);
    else if (payload.referral_id) want("referrals", payload.referral_id);
  } else if (type === "resource.availability_changed") {
    const resource = state.resources.get(payload.resource_id);
    if (!resource) return;
    Object.assign(resource, { available: payload.available, capacity: payload.capacity });
    render();
  } else if (type === "resource.changed") {
    follow.reread(SNAPSHOT_DELAY_MS);
  }
}

const follow = new Follow({
  load: loadSnapshot,
  onRead: applySnapshot,
  apply: applyEvent,
  onError: (error) => showError(error.message),
  retryMs: 5000,
});

// ---- layers: chosen per user, remembered on the server ----

async function loadLayers() {
  const result = await api("GET", "/api/v1/me/preferences/map-layers");
  if (result.ok) {
    shown.clear();
    for (const name of result.data.layers) shown.add(name);
  }
  for (const box of layerBoxes) box.checked = shown.has(box.value);
}

async function layersChanged() {
  shown.clear();
  for (const box of layerBoxes) if (box.checked) shown.add(box.value);
  render();
  const layers = LAYERS.filter((name) => shown.has(name));
  const result = await api("PUT", "/api/v1/me/preferences/map-layers", { layers }, { fieldErrors: "message" });
  layersError.textContent = result.ok ? "" : `Scelta dei livelli non salvata: ${result.detail}`;
  layersError.hidden = result.ok;
  say(layers.length ? `Livelli mostrati: ${layers.map((n) => TITLES[n].toLowerCase()).join(", ")}.` : "Nessun livello mostrato.");
}

function filtersChanged() {
  writeFilters();
  const zone = zoneFilter.value ? zoneLayers.get(zoneFilter.value) : null;
  if (zone) map.fitBounds(zone.getBounds(), { animate: false, padding: [20, 20] });
  render();
}

// ---- ages move on; a position too old is read again (the unit goes back to its base) ----

function tick() {
  for (const unit of state.units.values()) {
    if (unit.position_source === "position" && unit.position_at && secondsSince(unit.position_at) > state.maxAgeS) {
      want("units", unit.id);
    }
  }
  render();
}

// ---- start ----

async function start() {
  readFilters();
  for (const box of layerBoxes) box.addEventListener("change", layersChanged);
  for (const select of [zoneFilter, urgencyFilter]) select.addEventListener("change", filtersChanged);
  const boundaries = addBoundaries(map, {
    zoneStyle: () => ({ className: "map-zone" }),
    onZone(feature, layer) {
      const id = feature.properties.id;
      zoneLayers.set(id, layer);
      layer.bindTooltip(feature.properties.name, { sticky: true });
      layer.on("add", () => {
        layer.getElement()?.setAttribute("data-zone", id);
        layer.getElement()?.classList.add("map-zone");
      });
      layer.on("click", () => { zoneFilter.value = id; filtersChanged(); });
    },
  }).then((drawn) => { zoneShapes = drawn.zones; });
  await Promise.all([boundaries, loadLayers(), follow.read()]);
  ready = true;
  if (zoneFilter.value) filtersChanged();
  render();
  const seqKey = `seus.map.lastSeq:${root.dataset.user || ""}`;
  resumeAt(seqKey, follow.seq);
  const live = new LiveStream({
    storageKey: seqKey,
    onSnapshot: (snapshot) => follow.resync(snapshot),
    onEvent: (event, meta) => follow.receive(event, meta),
    onStatus(status) {
      statusEl.dataset.status = status;
      statusEl.textContent = LIVE_STATUS_LABELS[status] ?? status;
    },
  });
  document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());
  live.start();
  setInterval(tick, TICK_MS);
}

start().catch((error) => {
  console.error(error);
  showError(`Mappa non disponibile: ${error.message ?? error}`);
});
