// The units board (/unita): every unit by zone and status, its case and time in status, live.
import { LiveStream } from "./lib/live.js";
import { crewText, el, romeTime } from "./lib/format.js";
import { api } from "./lib/api.js";
import { LANGUAGE_LABELS, LIVE_STATUS_LABELS, SKILL_LABELS, URGENCY_LABELS } from "./lib/labels.js";

const REFRESH_DEBOUNCE_MS = 250;
const TICK_MS = 30000;

// Events after which the board is read again.
const RELEVANT = /^(unit\.|case\.unit_|case\.closed|case\.status_changed)/;

const groups = document.getElementById("units-groups");
const empty = document.getElementById("units-empty");
const errorBox = document.getElementById("units-error");
const counts = document.getElementById("units-counts");
const readAt = document.getElementById("units-read-at");
const statusEl = document.getElementById("live-status");
const zoneFilter = document.getElementById("filter-zone");
const statusFilter = document.getElementById("filter-status");
const announcer = document.getElementById("live-announcer");

let board = { units: [], zones: [] };

// ---- small helpers ----

/** "12 min", "3 h 05 min", "2 g 4 h": how long since `iso`. */
export function elapsed(iso, now = Date.now()) {
  const ms = now - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return "—";
  const minutes = Math.max(0, Math.floor(ms / 60000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} g ${hours % 24} h`;
}

// ---- filters (kept in the address, so a reload or a shared link keeps them) ----

function readFilters() {
  const params = new URLSearchParams(location.search);
  zoneFilter.value = params.get("zona") ?? "";
  statusFilter.value = params.get("stato") ?? "";
  if (zoneFilter.selectedIndex < 0) zoneFilter.value = "";
  if (statusFilter.selectedIndex < 0) statusFilter.value = "";
}

function writeFilters() {
  const params = new URLSearchParams();
  if (zoneFilter.value) params.set("zona", zoneFilter.value);
  if (statusFilter.value) params.set("stato", statusFilter.value);
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function matches(unit) {
  const zone = zoneFilter.value;
  const status = statusFilter.value;
  if (zone && unit.zone !== zone && !unit.zones.includes(zone)) return false;
  return !status || unit.status === status;
}

// ---- rendering ----

function caseCell(unit) {
  const cell = el("td", "unit-case");
  const current = unit.current_case;
  if (!current) {
    cell.append(el("span", "muted", "—"));
    return cell;
  }
  const link = el("a", null, current.case_number);
  link.href = `/casi/${encodeURIComponent(current.id)}`;
  const badge = el("span", `urgency-badge urgency-${current.urgency}`, URGENCY_LABELS[current.urgency] ?? current.urgency);
  cell.append(badge, " ", link);
  if (current.municipality) cell.append(el("span", "unit-sub", current.municipality));
  return cell;
}

function baseCell(unit) {
  const cell = el("td", "unit-base");
  cell.append(el("span", null, unit.base_label || "—"));
  if (unit.base_note) cell.append(el("span", "demo-note", unit.base_note));
  return cell;
}

function coverageCell(unit, zoneNames) {
  const cell = el("td", "unit-coverage");
  const zones = unit.zones.map((z) => zoneNames.get(z) ?? z);
  cell.append(el("span", null, zones.length ? `Copre: ${zones.join(", ")}` : "Nessuna zona coperta"));
  const skills = unit.skills.map((s) => SKILL_LABELS[s] ?? s);
  if (skills.length) cell.append(el("span", "unit-sub", `Competenze: ${skills.join(", ")}`));
  const languages = unit.languages.map((l) => LANGUAGE_LABELS[l] ?? l);
  if (languages.length) cell.append(el("span", "unit-sub", `Lingue: ${languages.join(", ")}`));
  return cell;
}

function row(unit, zoneNames) {
  const tr = el("tr", "unit-row");
  tr.dataset.unitId = String(unit.id);
  tr.dataset.status = unit.status;
  const name = el("th", "unit-name");
  name.scope = "row";
  name.append(el("span", null, unit.name));
  if (unit.vehicle) name.append(el("span", "unit-sub", unit.vehicle));
  const crew = crewText(unit.crew, unit.phone);
  if (crew) name.append(el("span", "unit-sub unit-crew", crew));
  if (crewDialog) {
    const edit = el("button", "button button-quiet crew-edit", "Equipaggio");
    edit.type = "button";
    edit.setAttribute("aria-label", `Modifica equipaggio e telefono di ${unit.name}`);
    edit.addEventListener("click", () => startCrewEdit(unit.id));
    name.append(edit);
  }
  const status = el("td");
  status.append(el("span", `unit-status unit-status-${unit.status}`, unit.status_label));
  const since = el("td", "unit-since");
  const time = el("time", null, elapsed(unit.status_since));
  time.dateTime = unit.status_since;
  time.title = `dalle ${romeTime(unit.status_since, true)}`;
  since.append(time);
  tr.append(name, status, since, caseCell(unit), baseCell(unit), coverageCell(unit, zoneNames));
  return tr;
}

const COLUMNS = ["Unità", "Stato", "Nello stato da", "Caso in corso", "Sede", "Copertura"];

function zoneBody(zone, units, zoneNames) {
  const body = el("tbody", "units-zone");
  body.dataset.zone = zone;
  const head = el("tr", "units-zone-head");
  const th = el("th", null, zone ? (zoneNames.get(zone) ?? zone) : "Senza zona");
  th.colSpan = COLUMNS.length;
  th.scope = "colgroup";
  const available = units.filter((u) => u.status === "available").length;
  th.append(el("span", "units-zone-count", ` · ${available} disponibili su ${units.length}`));
  head.append(th);
  body.append(head);
  for (const unit of units) body.append(row(unit, zoneNames));
  return body;
}

function render() {
  const zoneNames = new Map(board.zones.map((z) => [z.id, z.name]));
  const shown = board.units.filter(matches);
  const byZone = new Map();
  for (const unit of shown) {
    const key = unit.zone ?? "";
    if (!byZone.has(key)) byZone.set(key, []);
    byZone.get(key).push(unit);
  }
  const table = el("table", "units-table");
  const caption = el("caption", "visually-hidden", "Unità operative per zona");
  const head = el("thead");
  const tr = el("tr");
  for (const label of COLUMNS) {
    const th = el("th", null, label);
    th.scope = "col";
    tr.append(th);
  }
  head.append(tr);
  table.append(caption, head);
  for (const [zone, units] of byZone) table.append(zoneBody(zone, units, zoneNames));
  groups.replaceChildren(...(shown.length ? [table] : []));
  empty.hidden = shown.length > 0;
  const byStatus = new Map();
  for (const unit of board.units) byStatus.set(unit.status_label, (byStatus.get(unit.status_label) ?? 0) + 1);
  const summary = [...byStatus].map(([label, n]) => `${label}: ${n}`).join(" · ");
  counts.textContent = `${shown.length} di ${board.units.length} unità mostrate — ${summary}`;
}

function tick() {
  for (const time of groups.querySelectorAll(".unit-since time")) {
    time.textContent = elapsed(time.dateTime);
  }
}

// ---- data ----

let refreshTimer = null;
let loading = null;

async function refresh() {
  if (loading) return loading;
  loading = (async () => {
    try {
      const response = await fetch("/api/v1/units", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 401) {
        location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      if (!response.ok) throw new Error(`errore ${response.status}`);
      board = await response.json();
      readAt.textContent = romeTime(board.read_at);
      errorBox.hidden = true;
      render();
    } catch (error) {
      errorBox.textContent = `Elenco delle unità non aggiornato: ${error.message ?? "server non raggiungibile"}.`;
      errorBox.hidden = false;
    } finally {
      loading = null;
    }
  })();
  return loading;
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, REFRESH_DEBOUNCE_MS);
}

function announce(event) {
  const payload = event.payload ?? {};
  if (event.type !== "unit.status_changed") return;
  announcer.textContent = "";
  setTimeout(() => {
    announcer.textContent = `${payload.unit_name ?? "Unità"}: ${payload.status_label ?? payload.status ?? ""}`;
  }, 50);
}

// ---- crew and phone (admins): a dialog, each refusal in Italian next to its field ----

const crewDialog = document.getElementById("crew-dialog");
const crewForm = document.getElementById("crew-form");
const crewMembers = document.getElementById("crew-members");
const crewUsers = document.getElementById("crew-users");
let crewUnit = null;
let candidates = [];

function crewRow(value = "") {
  const index = crewMembers.children.length;
  const row = el("div", "crew-member");
  const id = `crew-${index}`;
  const field = el("div", "field");
  const label = el("label", null, `Persona ${index + 1}`);
  label.htmlFor = id;
  const input = el("input");
  input.id = id;
  input.name = "member";
  input.maxLength = 120;
  input.value = value;
  input.setAttribute("list", "crew-users");
  input.setAttribute("aria-describedby", `${id}-error`);
  field.append(label, input);
  const remove = el("button", "button button-quiet", "Togli");
  remove.type = "button";
  remove.setAttribute("aria-label", `Togli persona ${index + 1}`);
  remove.addEventListener("click", () => { row.remove(); renumber(); });
  const error = el("p", "field-error");
  error.id = `${id}-error`;
  error.hidden = true;
  row.append(field, remove, error);
  crewMembers.append(row);
  return input;
}

function renumber() {
  const values = [...crewMembers.querySelectorAll("input")].map((i) => i.value);
  crewMembers.replaceChildren();
  for (const value of values) crewRow(value);
}

function crewError(id, message) {
  const box = document.getElementById(`${id}-error`);
  const input = document.getElementById(id);
  if (box) { box.textContent = message; box.hidden = !message; }
  input?.setAttribute("aria-invalid", message ? "true" : "false");
}

function clearCrewErrors() {
  for (const input of crewForm.querySelectorAll("input")) crewError(input.id, "");
  const general = document.getElementById("crew-error");
  general.textContent = "";
  general.hidden = true;
}

async function startCrewEdit(id) {
  const unit = board.units.find((u) => u.id === id);
  if (!unit || !crewDialog) return;
  crewUnit = unit;
  if (!candidates.length) {
    const result = await api("GET", "/api/v1/units/crew-candidates");
    candidates = result.ok ? result.data.users : [];
    crewUsers.replaceChildren(...candidates.map((u) => {
      const option = el("option");
      option.value = u.name;
      option.label = u.role_label;
      return option;
    }));
  }
  document.getElementById("crew-title").textContent = `Equipaggio e telefono: ${unit.name}`;
  crewMembers.replaceChildren();
  for (const member of unit.crew ?? []) crewRow(member.name);
  if (!crewMembers.children.length) crewRow();
  crewForm.elements.phone.value = unit.phone ?? "";
  clearCrewErrors();
  crewDialog.showModal();
  crewMembers.querySelector("input")?.focus();
}

/** A typed name that is exactly one user's name is that user; anything else a volunteer. */
function memberOf(text) {
  const same = candidates.filter((u) => u.name === text);
  return same.length === 1 ? { user_id: same[0].id } : { name: text };
}

async function saveCrew() {
  const unit = crewUnit;
  if (!unit) return;
  clearCrewErrors();
  const inputs = [...crewMembers.querySelectorAll("input")];
  const kept = inputs.filter((i) => i.value.trim());
  const body = { crew: kept.map((i) => memberOf(i.value.trim())), phone: crewForm.elements.phone.value.trim() };
  const general = document.getElementById("crew-error");
  const result = await api("PUT", `/api/v1/units/${unit.id}/crew`, body, { fieldErrors: "none" });
  if (result.status === 0) {
    general.textContent = "Server non raggiungibile: modifiche non salvate.";
    general.hidden = false;
    return;
  }
  if (!result.ok) {
    let placed = 0;
    for (const problem of result.errors) {
      const message = problem.type === "crew_rule" ? problem.message : "Valore non accettato.";
      const member = /^crew\.(\d+)/.exec(problem.field);
      if (problem.field === "phone") { crewError("crew-phone", message); placed += 1; }
      else if (member && kept[Number(member[1])]) { crewError(kept[Number(member[1])].id, message); placed += 1; }
      else { general.textContent = message; general.hidden = false; }
    }
    if (!placed && general.hidden) { general.textContent = result.detail; general.hidden = false; }
    crewForm.querySelector('[aria-invalid="true"]')?.focus();
    return;
  }
  Object.assign(unit, { crew: result.data.crew, phone: result.data.phone });
  crewDialog.close();
  render();
}

crewForm?.addEventListener("submit", (submit) => { submit.preventDefault(); saveCrew(); });
document.getElementById("crew-add")?.addEventListener("click", () => crewRow().focus());
document.getElementById("crew-cancel")?.addEventListener("click", () => crewDialog.close());
crewDialog?.addEventListener("close", () => { crewUnit = null; });

// ---- start ----

readFilters();
for (const select of [zoneFilter, statusFilter]) {
  select.addEventListener("change", () => {
    writeFilters();
    render();
  });
}

const live = new LiveStream({
  url: "/ws",
  onSnapshot: scheduleRefresh,
  onEvent(event, { live: isLive }) {
    if (!RELEVANT.test(String(event.type ?? ""))) return;
    scheduleRefresh();
    if (isLive) announce(event);
  },
  onStatus(status) {
    statusEl.dataset.status = status;
    statusEl.textContent = LIVE_STATUS_LABELS[status] ?? status;
    if (status === "live") scheduleRefresh(); // after a reconnection: read the board again
  },
});

refresh();
live.start();
setInterval(tick, TICK_MS);
