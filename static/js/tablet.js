// The unit tablet (/tablet): the current assignment, big status buttons, notes, resource
// requests, live. Offline-safe: every action goes into an outbox in localStorage with its own
// Idempotency-Key and is sent in order; a failed send is retried with backoff; a resend of the
// same key gets the server's first answer, so nothing is applied twice and nothing is lost.
// The assignment's SLA clocks (on scene, then the safety check-in) come with GET /api/v1/tablet
// and the clock.* events sent to the unit; the countdowns run here from each deadline, so they
// keep moving without a signal.
// Without signal the page itself comes from the service worker's copy (console/areas/tablet/worker.js)
// and what it shows from the last answer kept in localStorage, with "Senza rete dal …".
// Messages from the room are shown first, with a sound, until the crew acknowledges them (an
// outbox action like the others). With the crew's consent the tablet sends its position at
// each status change and every `data-position-interval` seconds while assigned.
import { LiveStream, backoffDelay } from "./lib/live.js";
import { api } from "./lib/api.js";
import { ClockSet, badge, describe, refreshBadges } from "./lib/clocks.js";
import { announce as say, el, romeTime } from "./lib/format.js";
import { LIVE_STATUS_LABELS, REQUEST_STATUS_LABELS, UNIT_STATUS_LABELS, URGENCY_LABELS } from "./lib/labels.js";
import { createSound } from "./lib/sound.js";
import {
  STILL, addBoundaries, createMap, mapUnavailable, mapsLink, mapsSearchLink, quietMarker, referralIcon, unitIcon,
} from "./lib/map.js";

const SEND_TIMEOUT_MS = 15000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;

// The unit's status table (dispatch/units.py), without "assigned", which only a dispatch sets.
const MOVES = {
  off_duty: ["available"],
  available: ["off_duty"],
  assigned: ["acknowledged", "available"],
  acknowledged: ["en_route", "available"],
  en_route: ["on_scene", "available"],
  on_scene: ["returning", "available"],
  returning: ["available", "off_duty"],
};
const PATHS = {
  status: "/api/v1/tablet/status",
  "check-in": "/api/v1/tablet/check-in",
  note: "/api/v1/tablet/notes",
  request: "/api/v1/tablet/resource-requests",
  ack: "/api/v1/tablet/messages/{id}/acknowledge",
};
const pathOf = (item) => PATHS[item.kind].replace("{id}", encodeURIComponent(String(item.body.message_id ?? "")));
const FINAL = new Set([400, 404, 409, 413, 415, 422]); // the server said no: do not resend
const CLOCK_TICK_MS = 1000;
// Where each of the assignment's clocks shows, what it says ahead of and past its time, and the
// outbox item that would meet it (still on the tablet: said next to the countdown).
const CLOCK_LINES = {
  unit_on_scene: {
    id: "a-on-scene-due", ahead: "Arrivo sul posto entro", behind: "Arrivo sul posto",
    meets: (item) => item.kind === "status" && item.body.status === "on_scene", pending: "«Sul posto» da inviare",
  },
  unit_check_in: {
    id: "a-check-in-due", ahead: "Prossimo check-in entro", behind: "Check-in",
    meets: (item) => item.kind === "check-in", pending: "check-in da inviare",
  },
};

const root = document.getElementById("tablet");
const unitId = root.dataset.unitId;
const POSITION_EVERY_MS = Math.max(10, Number(root.dataset.positionInterval) || 60) * 1000;
const $ = (id) => document.getElementById(id);

// ---- small helpers ----

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function announce(text) {
  say($("live-announcer"), text);
}

let alertTimer = null;
function showAlert(text, sticky = false) {
  const box = $("tablet-alert");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(alertTimer);
  if (!sticky) alertTimer = setTimeout(() => { box.hidden = true; }, 15000);
}

// ---- the outbox: actions kept on the tablet until the server has them ----

const outboxKey = `seus.tablet.outbox:${unitId}`;

function loadOutbox() {
  try {
    const items = JSON.parse(localStorage.getItem(outboxKey) ?? "[]");
    return Array.isArray(items) ? items.filter((i) => i && i.key && PATHS[i.kind]) : [];
  } catch {
    return [];
  }
}

let outbox = loadOutbox();

function saveOutbox() {
  try { localStorage.setItem(outboxKey, JSON.stringify(outbox)); } catch { /* full: kept in memory */ }
}

function enqueue(kind, body, label) {
  outbox.push({ key: newKey(), kind, body, label, queued_at: new Date().toISOString(), tries: 0 });
  saveOutbox();
  render();
  pump();
}

let sending = false;
let retryTimer = null;
let blocked = null; // "session" when only a new login can help

/** One send of an outbox item: status 0 when the network is down or there is no answer in time. */
function send(item) {
  return api("POST", pathOf(item), item.kind === "ack" ? undefined : item.body, {
    headers: { "Idempotency-Key": item.key },
    timeoutMs: SEND_TIMEOUT_MS,
    fallback: (status) => `errore ${status}`,
    fieldErrors: "none",
  });
}

/** Send the outbox in order, one at a time; stop at the first failure and retry later. */
async function pump() {
  if (sending || blocked) return;
  sending = true;
  clearTimeout(retryTimer);
  try {
    while (outbox.length) {
      const item = outbox[0];
      const result = await send(item);
      const answered = result.status !== 0; // 0: network down, or no answer in time
      if (answered) reached();
      else unreachable();
      if (answered && result.ok) {
        outbox = outbox.filter((i) => i.key !== item.key);
        saveOutbox();
        applyAnswer(item, result.data);
        continue;
      }
      if (answered && FINAL.has(result.status)) {
        outbox = outbox.filter((i) => i.key !== item.key);
        saveOutbox();
        showAlert(`«${item.label}» non accettata: ${result.detail}`, true);
        continue;
      }
      if (answered && (result.status === 401 || result.status === 403)) {
        blocked = "session";
        showAlert("Sessione del tablet scaduta: le azioni restano qui. Accedi di nuovo dal tablet per inviarle.", true);
        break;
      }
      item.tries = (item.tries ?? 0) + 1;
      item.last_error = answered ? `errore ${result.status}` : "server non raggiungibile";
      saveOutbox();
      retryTimer = setTimeout(pump, backoffDelay(item.tries - 1, RETRY_MIN_MS, RETRY_MAX_MS));
      break;
    }
  } finally {
    sending = false;
    render();
    if (!outbox.length) scheduleRefresh();
  }
}

/** What the server answered becomes what is shown (the network may drop before a refresh). */
function applyAnswer(item, data) {
  if (!state || !data) return;
  if (item.kind === "status" && data.unit) {
    state.unit = data.unit;
    if (data.assignment_ended && state.assignment?.id === data.assignment_id) {
      state.assignment = null;
      state.notes = [];
      state.requests = [];
    }
  } else if (item.kind === "check-in" && state.assignment?.id === data.assignment_id) {
    state.assignment.last_check_in_at = data.checked_in_at;
  } else if (item.kind === "note" && state.assignment) {
    state.notes = [...state.notes.filter((n) => n.id !== data.id), data];
  } else if (item.kind === "request" && state.assignment) {
    state.requests = [...state.requests.filter((r) => r.id !== data.id), data];
  } else if (item.kind === "ack") {
    state.messages = (state.messages ?? []).map((m) => (m.id === data.id ? { ...m, acknowledged_at: data.acknowledged_at } : m));
  }
  keep();
}

function retryNow() {
  blocked = null;
  for (const item of outbox) item.tries = 0;
  pump();
}

// ---- the state shown: the server's, plus what is still in the outbox ----

let state = null; // GET /api/v1/tablet

// ---- what is kept for a reload without signal ----

const stateKey = `seus.tablet.state:${unitId}`;
const contactKey = `seus.tablet.contact:${unitId}`;
let lastContact = Number(localStorage.getItem(contactKey)) || null; // ms: the server last answered
let offline = false;

/** Keep the last state shown (the assignment, its people, messages), for a reload offline. */
function keep() {
  if (!state) return;
  try { localStorage.setItem(stateKey, JSON.stringify(state)); } catch { /* full: the page still works */ }
}

function restore() {
  try {
    const kept = JSON.parse(localStorage.getItem(stateKey) ?? "null");
    return kept && kept.unit ? kept : null;
  } catch {
    return null;
  }
}

/** The server answered: the network is back (or never went). */
function reached() {
  lastContact = Date.now();
  try { localStorage.setItem(contactKey, String(lastContact)); } catch { /* ignore */ }
  if (offline) {
    offline = false;
    renderOffline();
  }
}

function unreachable() {
  if (!offline) {
    offline = true;
    renderOffline();
  }
}

function since(ms) {
  const at = new Date(ms);
  const today = new Date().toDateString() === at.toDateString();
  const time = at.toLocaleTimeString("it-IT", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Rome" });
  return today ? `dalle ${time}` : `dal ${at.toLocaleDateString("it-IT", { timeZone: "Europe/Rome" })} alle ${time}`;
}

function renderOffline() {
  const banner = $("offline-since");
  banner.hidden = !offline;
  if (!offline) return;
  banner.textContent = `Senza rete ${lastContact ? since(lastContact) : ""}: si vede l'ultima situazione ricevuta; `
    + "le azioni restano sul tablet e partono in ordine appena torna il segnale.";
}

function pendingStatus() {
  const statuses = outbox.filter((i) => i.kind === "status");
  return statuses.length ? statuses[statuses.length - 1].body.status : null;
}

function currentStatus() {
  return pendingStatus() ?? state?.unit?.status ?? null;
}

function renderStatus() {
  const status = currentStatus();
  const pending = pendingStatus() !== null;
  const label = $("tablet-status");
  label.textContent = status ? `${UNIT_STATUS_LABELS[status] ?? status}${pending ? " (da inviare)" : ""}` : "—";
  label.dataset.status = status ?? "";
  label.className = `unit-status unit-status-${status ?? "none"}`;
  $("tablet-status-since").textContent = !pending && state ? `dalle ${romeTime(state.unit.status_since)}` : "";
  const allowed = new Set(MOVES[status] ?? []);
  for (const button of root.querySelectorAll(".tablet-actions [data-status]")) {
    button.disabled = !allowed.has(button.dataset.status);
  }
  root.querySelector('[data-action="check-in"]').disabled = status !== "on_scene";
}

function renderAssignment() {
  const a = state?.assignment ?? null;
  $("assignment-none").hidden = a !== null;
  $("assignment-body").hidden = a === null;
  for (const form of [$("note-form"), $("request-form")]) form.hidden = a === null;
  if (!a) return;
  const urgency = $("a-urgency");
  urgency.textContent = URGENCY_LABELS[a.urgency] ?? a.urgency;
  urgency.className = `urgency-badge urgency-${a.urgency}`;
  $("a-number").textContent = a.case_number;
  const place = $("a-place");
  const where = [a.place.address, a.place.municipality].filter(Boolean).join(", ");
  place.replaceChildren(el("span", null, where));
  // The device's own maps app (a geo: link), to the point or, without one, to the address;
  // the web map for a device with no app for geo: links.
  const exact = a.place.lat != null && a.place.lon != null;
  const app = el("a", "map-link", "Apri nella mappa");
  app.href = exact ? mapsLink(a.place.lat, a.place.lon) : mapsSearchLink(where);
  place.append(" ", app);
  if (exact) {
    const web = el("a", "map-link-web", "OpenStreetMap");
    web.href = `https://www.openstreetmap.org/?mlat=${a.place.lat}&mlon=${a.place.lon}#map=17/${a.place.lat}/${a.place.lon}`;
    web.target = "_blank";
    web.rel = "noopener noreferrer";
    place.append(" · ", web);
  }
  renderDestination(a);
  const people = a.people ?? {};
  const parts = [];
  if (people.count != null) parts.push(`${people.count} ${people.count === 1 ? "persona" : "persone"}`);
  if (people.minors) parts.push(`di cui minori: ${people.minors}`);
  if (people.language_label) parts.push(`lingua: ${people.language_label}`);
  $("a-people").textContent = parts.join(" · ") || "—";
  $("a-description").textContent = a.description;
  const callback = $("a-callback");
  callback.replaceChildren(el("span", null, a.callback.name || "—"));
  if (a.callback.phone) {
    const tel = el("a", "tel-link", a.callback.phone);
    tel.href = `tel:${a.callback.phone.replace(/[^+\d]/g, "")}`;
    callback.append(" ", tel);
  }
  $("a-needs").textContent = a.need_labels.length ? a.need_labels.join(", ") : "—";
  $("a-dispatched").textContent = romeTime(a.dispatched_at);
  $("a-check-in").textContent = romeTime(a.last_check_in_at);
  const team = state.team ?? [];
  $("a-team").replaceChildren(...(team.length ? team.map((u, i) => {
    const span = el("span", null, `${i ? " · " : ""}${u.name}: ${UNIT_STATUS_LABELS[u.status] ?? u.status_label}`);
    if (u.phone) span.append(" ", telLink(u.phone));
    return span;
  }) : [document.createTextNode("nessuna")]));
  const resources = state.resources ?? [];
  $("a-resources-none").hidden = resources.length > 0;
  $("a-resources").replaceChildren(...resources.map((r) => {
    const li = el("li");
    li.append(el("strong", null, `${r.resource_name}`), ` — ${r.type_label} × ${r.quantity}`);
    const facts = el("span", "tablet-meta");
    facts.append(r.address ? `${r.address}` : "indirizzo non indicato");
    if (r.contact_hours) facts.append(` · orari: ${r.contact_hours}`);
    if (r.phone) facts.append(" · ", telLink(r.phone));
    li.append(el("br"), facts);
    return li;
  }));
}

// ---- the destination on a small map: no tiles, cached for a reload without signal ----

const destination = { map: null, layer: null, starting: null, failed: false, drawn: "" };

async function renderDestination(a) {
  const box = $("a-map");
  const exact = a.place.lat != null && a.place.lon != null;
  const target = exact ? { lat: a.place.lat, lon: a.place.lon } : a.place.centre ?? null;
  const unit = state?.unit ?? {};
  const own = unit.last_lat != null && unit.last_lon != null ? { lat: unit.last_lat, lon: unit.last_lon } : null;
  const key = JSON.stringify([a.id, target, own, unit.status, a.urgency]);
  if (destination.failed || key === destination.drawn || !target) return;
  destination.drawn = key;
  try {
    destination.starting ??= (async () => {
      destination.map = createMap(box, { ...STILL, zoomControl: true });
      await addBoundaries(destination.map);
      destination.layer = globalThis.L.layerGroup().addTo(destination.map);
    })();
    await destination.starting;
    if (destination.drawn !== key) return; // a newer drawing is on its way
    const { map, layer } = destination;
    map.invalidateSize(); // the panel may have been hidden meanwhile
    layer.clearLayers();
    const centreNote = `${a.place.municipality}: centro del comune (indirizzo senza coordinate)`;
    const goal = quietMarker(target.lat, target.lon, referralIcon(a.urgency), exact ? `Destinazione: ${[a.place.address, a.place.municipality].filter(Boolean).join(", ")}` : centreNote);
    layer.addLayer(goal);
    goal.getElement()?.classList.add("map-the-place", exact ? "is-exact" : "is-centre");
    if (own) {
      const me = quietMarker(own.lat, own.lon, unitIcon(unit.status, false), `${unit.name}: ultima posizione inviata`);
      layer.addLayer(me);
      me.getElement()?.classList.add("map-the-unit");
      map.fitBounds([[target.lat, target.lon], [own.lat, own.lon]], { animate: false, padding: [24, 24], maxZoom: 15 });
    } else {
      map.setView([target.lat, target.lon], exact ? 14 : 12, { animate: false });
    }
    $("a-map-caption").textContent = `${exact ? "Destinazione: coordinate della segnalazione" : `Destinazione: ${centreNote}`}` +
      `${own ? "; il quadrato è l'ultima posizione del mezzo" : ""}.`;
  } catch (error) {
    console.warn("mappa della destinazione:", error);
    destination.failed = true;
    try { destination.map?.remove(); } catch { /* half made */ }
    mapUnavailable(box);
  }
}

function telLink(phone) {
  const tel = el("a", "tel-link", phone);
  tel.href = `tel:${phone.replace(/[^+\d]/g, "")}`;
  return tel;
}

// ---- messages from the room ----

const announced = new Set(); // message ids already rung for on this page

function pendingAck(id) {
  return outbox.some((item) => item.kind === "ack" && item.body.message_id === id);
}

function renderMessages() {
  const all = state?.messages ?? [];
  const open = all.filter((m) => !m.acknowledged_at);
  const read = all.filter((m) => m.acknowledged_at).slice(-3);
  $("messages").hidden = all.length === 0;
  $("messages-list").replaceChildren(...[...open, ...read].map((m) => {
    const li = el("li", m.acknowledged_at ? "tablet-message is-read" : "tablet-message");
    li.dataset.messageId = String(m.id);
    li.append(el("p", "tablet-message-body free-text", m.body));
    if (!m.acknowledged_at) {
      const waiting = pendingAck(m.id);
      const button = el("button", "big-button", waiting ? "Letto (da inviare)" : "Ho letto");
      button.type = "button";
      button.disabled = waiting;
      button.addEventListener("click", () => acknowledge(m));
      li.append(button);
    }
    li.append(el("p", "tablet-meta", `${romeTime(m.sent_at)} · ${m.author_name}${m.case_number ? ` · ${m.case_number}` : ""}`
      + (m.acknowledged_at ? ` · letto alle ${romeTime(m.acknowledged_at)}` : "")));
    return li;
  }));
}

function acknowledge(message) {
  if (pendingAck(message.id)) return;
  enqueue("ack", { message_id: message.id }, `Messaggio letto: ${message.body.slice(0, 40)}`);
  announce("Messaggio segnato come letto");
}

/** Ring once for each message not yet acknowledged that this page has not rung for. */
function ringForNewMessages() {
  const fresh = (state?.messages ?? []).filter((m) => !m.acknowledged_at && !announced.has(m.id));
  for (const m of fresh) announced.add(m.id);
  if (!fresh.length) return;
  sound.play();
  announce(`Messaggio dalla centrale: ${fresh[fresh.length - 1].body}`);
}

function listItem(text, meta, pending) {
  const li = el("li", pending ? "is-pending" : null);
  if (meta) li.append(el("span", "tablet-meta", meta));
  li.append(el("span", "free-text", text));
  return li;
}

function renderLists() {
  const notes = (state?.notes ?? []).map((n) => listItem(n.body, `${romeTime(n.at)} · ${n.author_name}`, false));
  const requests = (state?.requests ?? []).map((r) =>
    listItem(`${r.type_label} × ${r.quantity}${r.note ? ` — ${r.note}` : ""}`, `${r.resource_name} · ${REQUEST_STATUS_LABELS[r.status] ?? r.status}`, false));
  for (const item of outbox) {
    if (item.kind === "note") notes.push(listItem(item.body.body, "da inviare", true));
    if (item.kind === "request") requests.push(listItem(item.label, "da inviare", true));
  }
  $("notes-list").replaceChildren(...notes);
  $("requests-list").replaceChildren(...requests);
  $("outbox-list").replaceChildren(...outbox.map((item) =>
    listItem(item.label, `${romeTime(item.queued_at)}${item.last_error ? ` · ${item.last_error}, nuovo tentativo a breve` : ""}`, true)));
}

// ---- the assignment's clocks ----

const clocks = new ClockSet(() => renderClocks());
let clockOffsetMs = 0; // server time - tablet time

function assignmentClock(milestone) {
  const id = state?.assignment?.id ?? null;
  if (id === null) return null;
  return clocks.list((c) => c.assignment_id === id && c.milestone === milestone)[0] ?? null;
}

function renderClocks() {
  for (const [milestone, line] of Object.entries(CLOCK_LINES)) {
    const node = $(line.id);
    const clock = assignmentClock(milestone);
    node.hidden = clock === null;
    node.querySelector(".tablet-clock-time").replaceChildren(...(clock ? [badge(clock, { withLabel: false })] : []));
  }
  tickClocks();
}

function tickClocks() {
  const now = Date.now() + clockOffsetMs;
  for (const [milestone, line] of Object.entries(CLOCK_LINES)) {
    const node = $(line.id);
    const clock = assignmentClock(milestone);
    if (!clock) continue;
    const { level } = describe(clock, now);
    node.dataset.level = level;
    node.querySelector(".tablet-clock-label").textContent = level === "late" || level === "paused" ? line.behind : line.ahead;
    const unsent = outbox.some((item) => line.meets(item) && item.body.assignment_id === clock.assignment_id);
    node.querySelector(".tablet-clock-note").textContent = unsent ? `(${line.pending})` : "";
  }
  refreshBadges($("a-clocks"), now);
}

function render() {
  const count = $("outbox-count");
  count.dataset.count = String(outbox.length);
  count.textContent = outbox.length ? `Da inviare: ${outbox.length}` : "Tutto inviato";
  count.classList.toggle("has-pending", outbox.length > 0);
  $("outbox-retry").hidden = outbox.length === 0;
  if (state) {
    $("tablet-unit").textContent = state.unit.name;
    $("tablet-base").textContent = [state.unit.vehicle, state.unit.base_label, state.unit.base_note]
      .filter(Boolean).join(" · ");
  }
  renderStatus();
  renderAssignment();
  renderMessages();
  renderClocks();
  renderLists();
  renderSharing();
}

// ---- reading the server ----

let refreshTimer = null;

async function refresh() {
  try {
    const response = await fetch("/api/v1/tablet", { credentials: "same-origin", headers: { Accept: "application/json" } });
    reached();
    if (response.status === 401) {
      location.assign("/tablet/login");
      return;
    }
    if (!response.ok) return;
    const served = Date.parse(response.headers.get("Date") ?? "");
    if (!Number.isNaN(served)) clockOffsetMs = served - Date.now();
    const first = state === null;
    const previous = state?.assignment?.id ?? null;
    state = await response.json();
    keep();
    clocks.load(state.clocks ?? []);
    render();
    ringForNewMessages();
    const current = state.assignment?.id ?? null;
    if (!first && current !== null && current !== previous) newAssignment(state.assignment);
    if (current !== previous) schedulePosition(0);
  } catch {
    unreachable(); // offline: keep what is shown
  }
}

function scheduleRefresh(delay = 150) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, delay);
}

// ---- a new assignment: at once, with a sound ----

const sound = createSound({
  toggle: $("audio-toggle"),
  storageKey: "seus.tablet.muted",
  tones: [[0, 880], [0.35, 880], [0.7, 1175]],
  peak: 0.3,
  attack: 0.02,
  decay: 0.3,
  length: 0.32,
  unlockOn: ["pointerdown"],
});

function newAssignment(assignment) {
  $("tablet-alert").hidden = true; // what was said about an earlier assignment no longer holds
  const panel = $("assignment");
  panel.classList.add("is-new");
  setTimeout(() => panel.classList.remove("is-new"), 8000);
  sound.play();
  announce(`Nuovo intervento ${assignment.case_number}: ${assignment.place?.municipality ?? ""}`);
}

// ---- actions ----

function assignmentId() {
  return state?.assignment?.id ?? null;
}

function withAssignment(body) {
  const id = assignmentId();
  return id === null ? body : { ...body, assignment_id: id };
}

for (const button of root.querySelectorAll(".tablet-actions [data-status]")) {
  button.addEventListener("click", () => {
    const status = button.dataset.status;
    const working = ["assigned", "acknowledged", "en_route", "on_scene"].includes(currentStatus());
    if (status === "available" && working && !window.confirm("Lasciare l'intervento e tornare disponibili?")) return;
    const body = withAssignment({ status, at: new Date().toISOString() });
    if (status === "available" && !working) delete body.assignment_id;
    const name = button.textContent.trim(); // the button's own words (console/templates/tablet.html)
    enqueue("status", body, name);
    announce(`${name}: registrato`);
    sendPosition(); // with the crew's consent: where the unit is at this step
  });
}

root.querySelector('[data-action="check-in"]').addEventListener("click", () => {
  enqueue("check-in", withAssignment({ at: new Date().toISOString() }), "Check-in");
  announce("Check-in: registrato");
});

$("note-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const textarea = $("note-body");
  const text = textarea.value.trim();
  if (!text) return;
  enqueue("note", withAssignment({ body: text }), text.length > 60 ? `Nota: ${text.slice(0, 57)}…` : `Nota: ${text}`);
  textarea.value = "";
});

$("request-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const type = $("request-type");
  const quantity = Number.parseInt($("request-quantity").value, 10);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 100) {
    showAlert("Quantità non valida: da 1 a 100.");
    return;
  }
  const note = $("request-note").value.trim();
  const label = `${type.selectedOptions[0]?.textContent ?? type.value} × ${quantity}`;
  enqueue("request", withAssignment({ type: type.value, quantity, note }), label);
  $("request-note").value = "";
});

$("outbox-retry").addEventListener("click", retryNow);

// ---- live ----

const live = new LiveStream({
  url: "/ws",
  loginUrl: "/tablet/login",
  onSnapshot: () => scheduleRefresh(0),
  onEvent(event, { live: isLive }) {
    // A new assignment is noticed by the refresh (also one assigned while the tablet was off).
    if (event.type === "unit.recalled" && isLive) showAlert(`Intervento ${event.payload.case_number} revocato dalla centrale.`, true);
    if (event.type === "unit.message_sent" && state) { // at once, with its sound; the refresh confirms it
      const m = event.payload;
      state.messages = [...(state.messages ?? []).filter((x) => x.id !== m.id), m];
      renderMessages();
      ringForNewMessages();
      keep();
    }
    clocks.apply(event); // a clock.* event moves its countdown at once; the refresh confirms it
    scheduleRefresh();
  },
  onStatus(status) {
    const el_ = $("live-status");
    el_.dataset.status = status;
    el_.textContent = LIVE_STATUS_LABELS[status] ?? status;
    if (status === "live") {
      reached();
      pump(); // the server is reachable again
    } else if (status === "offline") {
      unreachable();
    }
  },
});

window.addEventListener("online", retryNow);
window.addEventListener("storage", (event) => {
  if (event.key === outboxKey) {
    outbox = loadOutbox();
    render();
  }
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    pump();
    scheduleRefresh();
  }
});

// ---- the position, with the crew's consent ----

let positionTimer = null;
let sharingBusy = false;

function renderSharing() {
  const box = $("share-position");
  box.checked = Boolean(state?.unit?.share_position);
  box.disabled = sharingBusy || !state;
  const status = $("position-status");
  if (!navigator.geolocation) status.textContent = "Questo dispositivo non fornisce la posizione.";
  else if (!state?.unit?.share_position) status.textContent = "Posizione non condivisa: i tempi di arrivo si stimano dalla sede.";
  else status.textContent = state.unit.last_position_at
    ? `Posizione condivisa · ultima inviata alle ${romeTime(state.unit.last_position_at)}` : "Posizione condivisa";
}

$("share-position").addEventListener("change", async (event) => {
  const wanted = event.target.checked;
  sharingBusy = true;
  renderSharing();
  event.target.checked = wanted;
  const result = await api("PUT", "/api/v1/tablet/position-sharing", { share_position: wanted }, { timeoutMs: SEND_TIMEOUT_MS });
  sharingBusy = false;
  if (result.ok && state) {
    state.unit = { ...state.unit, ...result.data };
    keep();
    if (wanted) sendPosition();
  } else {
    showAlert(result.status === 0 ? "Senza rete: la scelta sulla posizione si può cambiare quando torna il segnale." : result.detail);
  }
  renderSharing();
});

/** One position to the server, if the crew shares it (no outbox: the next one replaces it). */
function sendPosition() {
  if (!state?.unit?.share_position || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(async (found) => {
    const body = {
      lat: found.coords.latitude,
      lon: found.coords.longitude,
      accuracy_m: Number.isFinite(found.coords.accuracy) ? Math.min(found.coords.accuracy, 100000) : null,
      at: new Date(found.timestamp || Date.now()).toISOString(),
    };
    const result = await api("POST", "/api/v1/tablet/position", body, { timeoutMs: SEND_TIMEOUT_MS });
    if (result.ok && state && result.data.kept) {
      state.unit = { ...state.unit, last_position_at: result.data.last_position_at, last_lat: body.lat, last_lon: body.lon };
      renderSharing();
      if (state.assignment) renderDestination(state.assignment); // the crew's own square moves
    }
  }, () => { $("position-status").textContent = "Posizione non disponibile (permesso negato o nessun segnale GPS)."; },
  { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 });
}

/** While assigned, a position every POSITION_EVERY_MS. */
function schedulePosition(delay = POSITION_EVERY_MS) {
  clearTimeout(positionTimer);
  if (!state?.assignment) return;
  positionTimer = setTimeout(() => {
    sendPosition();
    schedulePosition();
  }, delay);
}

// ---- start: what was kept first (a reload without signal), then the server ----

state = restore();
if (state) {
  clocks.load(state.clocks ?? []);
  for (const m of state.messages ?? []) if (!m.acknowledged_at) announced.delete(m.id);
}
render();
renderOffline();
refresh().then(pump);
live.start();
setInterval(tickClocks, CLOCK_TICK_MS);
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/tablet-sw.js", { scope: "/tablet", type: "classic" }).catch(() => { /* no offline copy */ });
}
