// The units board (/unita): every unit by zone and status, its case and time in status, live.
import { LiveStream } from "./lib/live.js";
import { el, romeTime } from "./lib/format.js";
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
