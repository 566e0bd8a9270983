// The resource basket page (/risorse): each zone's resources with availability, live.
// Numbers come from GET /api/v1/resources (read at log position `as_of`); events after that
// position update them (lib/follow.js). Admins edit a resource in a form of its own (a dialog,
// PATCH), each error next to its field, or add one (POST).
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { Follow } from "./lib/follow.js";
import { announce as say } from "./lib/format.js";
import { LIVE_STATUS_LABELS } from "./lib/labels.js";
const HIGHLIGHT_MS = 3000;
// The fields of the edit form: name, the longest text allowed, whether it may be empty.
const EDITABLE = [
  ["name", 200, false],
  ["provider", 200, false],
  ["capacity", null, false],
  ["conditions", 2000, true],
  ["max_duration", 200, true],
  ["contact_hours", 200, true],
  ["phone", 50, true],
  ["address", 300, true],
  ["lat", null, true],
  ["lon", null, true],
];
// A resource's point on the map (/mappa): both coordinates or neither, within range.
const POINT_RANGE = { lat: [-90, 90, "latitudine"], lon: [-180, 180, "longitudine"] };
const POINT_WHOLE = "Indica sia la latitudine sia la longitudine, oppure nessuna delle due.";

/** A coordinate as typed ("43,7712" or "43.7712"): a number, null when empty, NaN when not one. */
export function coordinate(text) {
  const value = String(text ?? "").trim().replace(",", ".");
  if (!value) return null;
  return /^[-+]?\d{1,3}(\.\d+)?$/.test(value) ? Number(value) : NaN;
}

const root = document.getElementById("basket");
const canEdit = root.dataset.canEdit === "true";
const zoneSelect = document.getElementById("zone-select");
const typeFilter = document.getElementById("type-filter");
const tbody = document.getElementById("basket-rows");
const emptyEl = document.getElementById("basket-empty");
const loadingEl = document.getElementById("basket-loading");
const zoneNameEl = document.getElementById("basket-zone-name");
const errorBox = document.getElementById("basket-error");
const statusEl = document.getElementById("live-status");
const announcer = document.getElementById("live-announcer");
const newForm = document.getElementById("new-resource-form");
const typeOrder = [...typeFilter.options].map((o) => o.value).filter(Boolean);

let zone = root.dataset.zone || zoneSelect.value;
let type = "";
let loading = false;
const resources = new Map(); // id -> resource as the API gives it
let editing = null; // id of the row being edited

// ---- helpers ----

function text(tag, value, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.textContent = value === null || value === undefined ? "" : String(value);
  return el;
}

function showError(message) {
  errorBox.replaceChildren(text("p", message));
  errorBox.hidden = false;
}

function clearError() {
  errorBox.hidden = true;
  errorBox.replaceChildren();
}

function announce(message) {
  say(announcer, message);
}

/** The text of a failed call (api.js's), with the basket's own case of a capacity too low. */
function failure(result) {
  const data = result.data;
  if (data?.error === "capacity_below_counted") {
    return `La capacità non può scendere sotto ${data.counted}: tante unità sono già prenotate o in uso.`;
  }
  return result.detail;
}

function level(resource) {
  if (resource.available <= 0) return "none";
  return resource.available <= Math.max(1, Math.floor(resource.capacity / 5)) ? "low" : "ok";
}

function sortKey(resource) {
  return [typeOrder.indexOf(resource.type), resource.name.toLocaleLowerCase("it"), resource.id];
}

function compare(a, b) {
  const [x, y] = [sortKey(a), sortKey(b)];
  for (let i = 0; i < x.length; i += 1) {
    if (x[i] < y[i]) return -1;
    if (x[i] > y[i]) return 1;
  }
  return 0;
}

function belongs(resource) {
  return resource.zone_id === zone && (!type || resource.type === type);
}

// ---- rendering ----

function availabilityCell(resource) {
  const cell = document.createElement("td");
  cell.className = "num";
  const badge = text("span", resource.available, "availability");
  badge.dataset.level = level(resource);
  badge.title = `${resource.available} disponibili su ${resource.capacity}`;
  cell.append(badge, text("span", ` su ${resource.capacity}`, "visually-hidden"));
  return cell;
}

function nameCell(resource) {
  const cell = text("td", resource.name);
  if (resource.address) cell.append(text("span", resource.address, "resource-address"));
  return cell;
}

function viewRow(resource) {
  const row = document.createElement("tr");
  row.className = "basket-row";
  row.id = `risorsa-${resource.id}`; // /risorse?zona=…#risorsa-12 (the map's links)
  row.dataset.id = String(resource.id);
  row.dataset.active = String(resource.active);
  const phone = document.createElement("td");
  if (resource.phone) {
    const link = text("a", resource.phone);
    link.href = `tel:${resource.phone.replace(/[^+\d]/g, "")}`;
    phone.append(link);
  }
  row.append(
    text("td", resource.type_label),
    nameCell(resource),
    text("td", resource.provider),
    text("td", resource.capacity, "num"),
    availabilityCell(resource),
    text("td", resource.conditions),
    text("td", resource.max_duration),
    text("td", resource.contact_hours),
    phone,
    text("td", resource.active ? "Attiva" : "Non attiva"),
  );
  if (canEdit) {
    const actions = document.createElement("td");
    const edit = text("button", "Modifica", "button button-quiet");
    edit.type = "button";
    edit.setAttribute("aria-label", `Modifica ${resource.name}`);
    edit.addEventListener("click", () => startEdit(resource.id));
    actions.append(edit);
    row.append(actions);
  }
  return row;
}

function render() {
  const list = [...resources.values()].filter(belongs).sort(compare);
  tbody.replaceChildren(...list.map((r) => viewRow(r)));
  emptyEl.hidden = list.length > 0 || loading;
  zoneNameEl.textContent = zoneSelect.selectedOptions[0]?.textContent ?? "";
}

function rowOf(id) {
  return tbody.querySelector(`tr[data-id="${CSS.escape(String(id))}"]`);
}

function refreshAvailability(resource) {
  const row = rowOf(resource.id);
  if (!row) return;
  const cell = row.children[4];
  const fresh = availabilityCell(resource);
  cell.replaceWith(fresh);
  const badge = fresh.querySelector(".availability");
  badge.classList.add("is-new");
  setTimeout(() => badge.classList.remove("is-new"), HIGHLIGHT_MS);
  row.children[3].textContent = String(resource.capacity);
}

// ---- editing (admins) ----

const dialog = document.getElementById("edit-dialog");
const editForm = document.getElementById("edit-form");

/** What is wrong with a field's value, in Italian, or "" (the API's own rules, checked first). */
function problem(field, value) {
  const [, max, optional] = EDITABLE.find(([name]) => name === field) ?? [];
  if (field in POINT_RANGE) {
    const [low, high, name] = POINT_RANGE[field];
    const number = coordinate(value);
    if (number === null) {
      const other = editForm.elements[field === "lat" ? "lon" : "lat"].value.trim();
      return other ? POINT_WHOLE : "";
    }
    if (Number.isNaN(number)) return `Scrivi la ${name} in gradi decimali (per esempio ${field === "lat" ? "43,7712" : "11,2486"}).`;
    if (number < low || number > high) return `La ${name} va da ${low} a ${high}.`;
    return "";
  }
  if (field === "capacity") {
    if (!/^\d+$/.test(value)) return "Scrivi un numero intero, senza decimali (per esempio 12).";
    if (Number(value) > 100000) return "Al massimo 100000.";
    return "";
  }
  if (!optional && !value) return "Campo obbligatorio.";
  if (max && value.length > max) return `Al massimo ${max} caratteri (ora ${value.length}).`;
  return "";
}

/** The message next to a field the API refused (its errors[] say which). */
function refusal(field, value) {
  return problem(field, value) || "Valore non accettato: controlla che non contenga caratteri speciali.";
}

function showFieldError(field, message) {
  const el = document.getElementById(`edit-${field}-error`);
  const input = editForm.elements[field];
  el.textContent = message;
  el.hidden = !message;
  input.setAttribute("aria-invalid", message ? "true" : "false");
}

function clearEditErrors() {
  for (const [field] of EDITABLE) showFieldError(field, "");
  const general = document.getElementById("edit-error");
  general.textContent = "";
  general.hidden = true;
}

function startEdit(id) {
  const resource = resources.get(id);
  if (!resource || !dialog) return;
  editing = id;
  clearEditErrors();
  document.getElementById("edit-title").textContent = `Modifica: ${resource.name}`;
  document.getElementById("edit-type").textContent = `${resource.type_label} · disponibili ${resource.available} su ${resource.capacity}`;
  for (const [field] of EDITABLE) {
    const value = resource[field] ?? "";
    editForm.elements[field].value = field in POINT_RANGE && value !== "" ? String(value).replace(".", ",") : String(value);
  }
  editForm.elements.active.checked = resource.active;
  dialog.showModal();
  editForm.elements.name.focus();
}

function stopEdit() {
  const id = editing;
  editing = null;
  if (dialog?.open) dialog.close();
  rowOf(id)?.querySelector("button")?.focus();
}

async function saveEdit() {
  const id = editing;
  const current = resources.get(id);
  if (!current) { stopEdit(); return; }
  clearEditErrors();
  const changes = {};
  let first = null;
  for (const [field] of EDITABLE) {
    const raw = editForm.elements[field].value.trim();
    const wrong = problem(field, raw);
    if (wrong) {
      showFieldError(field, wrong);
      first ??= field;
      continue;
    }
    if (field in POINT_RANGE) continue;
    const value = field === "capacity" ? Number(raw) : raw;
    if (value !== current[field]) changes[field] = value;
  }
  if (first) { editForm.elements[first].focus(); return; }
  const lat = coordinate(editForm.elements.lat.value);
  const lon = coordinate(editForm.elements.lon.value);
  if (lat !== (current.lat ?? null) || lon !== (current.lon ?? null)) Object.assign(changes, { lat, lon });
  const active = editForm.elements.active.checked;
  if (active !== current.active) changes.active = active;
  if (!Object.keys(changes).length) { stopEdit(); return; }
  const general = document.getElementById("edit-error");
  try {
    const result = await api("PATCH", `/api/v1/resources/${id}`, changes, { fieldErrors: "none" });
    if (result.status === 0) throw new Error("unreachable");
    if (!result.ok) {
      // each field the API refused gets its message next to it; the rest above the buttons
      const fieldOf = (e) => String(e.field).replace(/^body\./, "");
      const placed = result.errors.filter((e) => EDITABLE.some(([f]) => fieldOf(e) === f));
      for (const e of placed) {
        const field = fieldOf(e);
        showFieldError(field, e.type === "point_incomplete" ? e.message : refusal(field, editForm.elements[field].value.trim()));
      }
      if (result.data?.error === "capacity_below_counted") {
        showFieldError("capacity", failure(result));
      } else if (!placed.length) {
        general.textContent = failure(result);
        general.hidden = false;
      }
      return;
    }
    resources.set(id, result.data);
    announce(`${current.name}: modifiche salvate.`);
    stopEdit();
    render();
  } catch {
    general.textContent = "Server non raggiungibile: modifiche non salvate.";
    general.hidden = false;
  }
}

editForm?.addEventListener("submit", (submit) => { submit.preventDefault(); saveEdit(); });
document.getElementById("edit-cancel")?.addEventListener("click", () => stopEdit());
dialog?.addEventListener("cancel", (event) => { event.preventDefault(); stopEdit(); }); // Esc
dialog?.addEventListener("close", () => { editing = null; });

newForm?.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  clearError();
  const data = Object.fromEntries(new FormData(newForm).entries());
  const body = { ...data, zone_id: zone, capacity: Number(data.capacity) };
  try {
    const result = await api("POST", "/api/v1/resources", body);
    if (result.status === 0) throw new Error("unreachable");
    if (result.status !== 201) { showError(failure(result)); return; }
    const created = result.data;
    resources.set(created.id, created);
    newForm.reset();
    render();
    announce(`Risorsa aggiunta: ${created.name}.`);
  } catch {
    showError("Server non raggiungibile: risorsa non aggiunta.");
  }
});

// ---- loading and live events ----

let anchored = false;

/** Once, after the first read: the row the address names (#risorsa-12, from the map) is shown. */
function showAnchored() {
  if (anchored || !location.hash.startsWith("#risorsa-")) return;
  anchored = true;
  const row = document.getElementById(location.hash.slice(1));
  if (!row) return;
  row.classList.add("is-anchored");
  row.tabIndex = -1;
  row.scrollIntoView({ block: "center" });
  row.focus();
}

async function load() {
  loading = true;
  loadingEl.hidden = false;
  const params = new URLSearchParams({ zone });
  if (type) params.set("type", type);
  const result = await api("GET", `/api/v1/resources?${params}`);
  if (result.status === 0) throw new Error("Server non raggiungibile: risorse non caricate.");
  if (!result.ok) throw new Error(failure(result));
  return result.data;
}

function loaded() {
  loading = false;
  loadingEl.hidden = true;
}

/** The zone's resources with their as_of; the events after it (a zone or filter change reads again). */
const follow = new Follow({
  load,
  onRead(data) {
    clearError();
    resources.clear();
    for (const resource of data.resources) resources.set(resource.id, resource);
    if (editing !== null && !resources.has(editing)) stopEdit();
    loaded();
    render();
    showAnchored();
  },
  apply(event, { live: isLive, buffered } = {}) {
    const payload = event.payload ?? {};
    if (event.type === "resource.availability_changed") {
      const resource = resources.get(payload.resource_id);
      if (!resource) return;
      resource.available = payload.available;
      resource.capacity = payload.capacity;
      refreshAvailability(resource);
      if (isLive && !buffered) announce(`${resource.name}: ${resource.available} disponibili su ${resource.capacity}.`);
    } else if (event.type === "resource.changed" && payload.resource) {
      const resource = payload.resource;
      const known = resources.get(resource.id);
      // availability has its own event: keep the newest number we have
      if (known) resource.available = known.available;
      resources.set(resource.id, resource);
      render(); // the open form keeps what its user typed
    }
  },
  onError(error) {
    loaded();
    showError(error.message);
  },
});

const user = root.dataset.user || "";
const seqKey = `seus.basket.lastSeq:${user}`;
try { sessionStorage.removeItem(seqKey); } catch { /* storage unavailable */ }

const live = new LiveStream({
  url: "/ws",
  storageKey: seqKey,
  onSnapshot: (snapshot) => follow.resync(snapshot), // read again unless the numbers include it
  onEvent: (event, meta) => follow.receive(event, meta),
  onStatus(status) {
    statusEl.dataset.status = status;
    statusEl.textContent = LIVE_STATUS_LABELS[status] ?? status;
  },
});

// ---- filters, keyboard ----

zoneSelect.addEventListener("change", () => {
  zone = zoneSelect.value;
  if (editing !== null) stopEdit();
  const url = new URL(location.href);
  url.searchParams.set("zona", zone);
  history.replaceState(null, "", url);
  follow.reset();
});

typeFilter.addEventListener("change", () => {
  type = typeFilter.value;
  follow.reset();
});

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const tag = event.target?.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || event.target?.isContentEditable) return;
  if (event.key === "z") { event.preventDefault(); zoneSelect.focus(); }
  else if (event.key === "t") { event.preventDefault(); typeFilter.focus(); }
  else if (event.key === "n" && newForm) {
    event.preventDefault();
    newForm.scrollIntoView({ block: "center" });
    newForm.querySelector("select, input")?.focus();
  }
});

document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());

follow.read();
live.start();
