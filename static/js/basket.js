// The resource basket page (/risorse): each zone's resources with availability, live.
// Numbers come from GET /api/v1/resources (read at log position `as_of`); events after that
// position update them (lib/follow.js). Admins edit a row in place (PATCH) or add a resource
// (POST).
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { Follow } from "./lib/follow.js";
import { announce as say } from "./lib/format.js";
import { LIVE_STATUS_LABELS } from "./lib/labels.js";
const HIGHLIGHT_MS = 3000;
const EDITABLE = [
  ["name", "Nome", "text", 200],
  ["provider", "Ente gestore", "text", 200],
  ["capacity", "Capacità", "number", null],
  ["conditions", "Condizioni di accesso", "text", 2000],
  ["max_duration", "Durata massima", "text", 200],
  ["contact_hours", "Orari di contatto", "text", 200],
  ["phone", "Telefono", "text", 50],
];

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

function viewRow(resource) {
  const row = document.createElement("tr");
  row.className = "basket-row";
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
    text("td", resource.name),
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

function input(resource, [field, label, kind, max]) {
  const cell = document.createElement("td");
  if (field === "capacity") cell.className = "num";
  const el = document.createElement("input");
  el.type = kind;
  el.name = field;
  el.value = String(resource[field] ?? "");
  el.setAttribute("aria-label", `${label} di ${resource.name}`);
  if (kind === "number") { el.min = "0"; el.max = "100000"; el.required = true; }
  if (max) el.maxLength = max;
  cell.append(el);
  return cell;
}

function editRow(resource) {
  const row = document.createElement("tr");
  row.className = "basket-row is-editing";
  row.dataset.id = String(resource.id);
  const cells = Object.fromEntries(EDITABLE.map((spec) => [spec[0], input(resource, spec)]));
  const active = document.createElement("td");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.name = "active";
  box.checked = resource.active;
  box.id = `active-${resource.id}`;
  const boxLabel = text("label", "Attiva");
  boxLabel.htmlFor = box.id;
  active.append(box, " ", boxLabel);
  const actions = document.createElement("td");
  const wrap = document.createElement("div");
  wrap.className = "row-actions";
  const save = text("button", "Salva", "button button-primary");
  save.type = "button";
  save.addEventListener("click", () => saveEdit(resource.id, row));
  const cancel = text("button", "Annulla", "button button-quiet");
  cancel.type = "button";
  cancel.addEventListener("click", () => stopEdit());
  wrap.append(save, cancel);
  actions.append(wrap);
  row.append(
    text("td", resource.type_label), cells.name, cells.provider, cells.capacity,
    availabilityCell(resource), cells.conditions, cells.max_duration, cells.contact_hours,
    cells.phone, active, actions,
  );
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "INPUT") {
      event.preventDefault();
      saveEdit(resource.id, row);
    }
  });
  // errors of the edit get a line of their own, under the row
  const errorRow = document.createElement("tr");
  errorRow.className = "row-error-line";
  const errorCell = document.createElement("td");
  errorCell.colSpan = row.children.length;
  const message = text("p", "", "row-error");
  message.id = `row-error-${resource.id}`;
  message.setAttribute("role", "alert");
  errorCell.append(message);
  errorRow.append(errorCell);
  return [row, errorRow];
}

function render() {
  const list = [...resources.values()].filter(belongs).sort(compare);
  tbody.replaceChildren(...list.flatMap((r) => (r.id === editing ? editRow(r) : [viewRow(r)])));
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
  if (row.classList.contains("is-editing")) return;
  row.children[3].textContent = String(resource.capacity);
}

// ---- editing (admins) ----

function startEdit(id) {
  editing = id;
  render();
  rowOf(id)?.querySelector("input")?.focus();
}

function stopEdit() {
  const id = editing;
  editing = null;
  render();
  rowOf(id)?.querySelector("button")?.focus();
}

async function saveEdit(id, row) {
  const current = resources.get(id);
  const errorEl = document.getElementById(`row-error-${id}`);
  const changes = {};
  for (const [field] of EDITABLE) {
    const el = row.querySelector(`input[name="${field}"]`);
    let value = el.value.trim();
    if (field === "capacity") {
      if (!/^\d+$/.test(value)) { errorEl.textContent = "Capacità: un numero intero."; el.focus(); return; }
      value = Number(value);
    }
    if (value !== current[field]) changes[field] = value;
  }
  const active = row.querySelector('input[name="active"]').checked;
  if (active !== current.active) changes.active = active;
  if (!Object.keys(changes).length) { stopEdit(); return; }
  errorEl.textContent = "";
  try {
    const result = await api("PATCH", `/api/v1/resources/${id}`, changes);
    if (result.status === 0) throw new Error("unreachable");
    if (!result.ok) { errorEl.textContent = failure(result); return; }
    resources.set(id, result.data);
    announce(`${current.name}: modifiche salvate.`);
    stopEdit();
  } catch {
    errorEl.textContent = "Server non raggiungibile: modifiche non salvate.";
  }
}

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
    if (editing !== null && !resources.has(editing)) editing = null;
    loaded();
    render();
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
      if (resource.id !== editing) render();
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
  editing = null;
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
  if (event.key === "Escape" && editing !== null) { event.preventDefault(); stopEdit(); return; }
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
