// The units' tablets (/unita/tablet): issue a pairing code (code and QR), see each unit's
// paired tablets, revoke one or all, and the pairing audit trail; read again on every
// device.* event of the live stream.
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { announce, el, romeTime } from "./lib/format.js";
import { LIVE_STATUS_LABELS } from "./lib/labels.js";

const REFRESH_DEBOUNCE_MS = 250;

const form = document.getElementById("pair-form");
const select = document.getElementById("pair-unit");
const errorBox = document.getElementById("devices-error");
const card = document.getElementById("pairing-card");
const unitsHost = document.getElementById("devices-units");
const logHost = document.getElementById("devices-log");
const statusEl = document.getElementById("live-status");
const announcer = document.getElementById("live-announcer");

let board = { units: [], log: [] };

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

function fillSelect() {
  const chosen = select.value || new URLSearchParams(location.search).get("unita") || "";
  select.replaceChildren();
  for (const unit of board.units) {
    const option = el("option", null, unit.name);
    option.value = String(unit.id);
    select.append(option);
  }
  if (chosen && board.units.some((u) => String(u.id) === chosen)) select.value = chosen;
}

async function revoke(unit, tablet, button) {
  const what = tablet ? `il tablet «${tablet.label}» di ${unit.name}` : `tutti i tablet di ${unit.name}`;
  if (!confirm(`Revocare ${what}? Smetterà di funzionare subito.`)) return;
  button.disabled = true;
  const result = await api("POST", `/api/v1/units/${unit.id}/tablets/revoke`, { token_id: tablet ? tablet.id : null });
  button.disabled = false;
  if (!result.ok) { showError(`Revoca non riuscita: ${result.detail}`); return; }
  showError("");
  const n = result.data.token_ids.length;
  announce(announcer, n ? `${unit.name}: ${n === 1 ? "un tablet revocato" : `${n} tablet revocati`}.` : `${unit.name}: nessun tablet da revocare.`);
  await refresh();
}

function unitRow(unit) {
  const tr = el("tr", "unit-row");
  tr.dataset.unitId = String(unit.id);
  const name = el("th", "unit-name", unit.name);
  name.scope = "row";
  const tablets = el("td");
  if (!unit.tablets.length) tablets.append(el("span", "muted", "Nessun tablet collegato"));
  const list = el("ul", "devices-tablets");
  for (const tablet of unit.tablets) {
    const item = el("li", "devices-tablet");
    item.dataset.tokenId = String(tablet.id);
    const seen = tablet.last_seen_at ? ` · ultima attività ${romeTime(tablet.last_seen_at, true)}` : "";
    item.append(el("span", null, `${tablet.label}${seen}`), " ");
    const button = el("button", "button button-quiet", "Revoca");
    button.type = "button";
    button.setAttribute("aria-label", `Revoca ${tablet.label} di ${unit.name}`);
    button.addEventListener("click", () => revoke(unit, tablet, button));
    item.append(button);
    list.append(item);
  }
  if (unit.tablets.length) tablets.append(list);
  if (unit.pending_codes) tablets.append(el("span", "unit-sub", `Codici in attesa: ${unit.pending_codes}`));
  const actions = el("td");
  const all = el("button", "button button-quiet revoke-all", "Revoca tutti");
  all.type = "button";
  all.setAttribute("aria-label", `Revoca tutti i tablet di ${unit.name}`);
  all.disabled = !unit.tablets.length && !unit.pending_codes;
  all.addEventListener("click", () => revoke(unit, null, all));
  actions.append(all);
  tr.append(name, tablets, actions);
  return tr;
}

function render() {
  fillSelect();
  const table = el("table", "units-table");
  const head = el("thead");
  const tr = el("tr");
  for (const label of ["Unità", "Tablet collegati", "Azioni"]) {
    const th = el("th", null, label);
    th.scope = "col";
    tr.append(th);
  }
  head.append(tr);
  const body = el("tbody");
  for (const unit of board.units) body.append(unitRow(unit));
  table.append(head, body);
  unitsHost.replaceChildren(table);
  logHost.replaceChildren(...board.log.map((entry) => {
    const item = el("li");
    const time = el("time", null, romeTime(entry.at, true));
    time.dateTime = entry.at;
    item.append(time, " ", entry.text);
    return item;
  }));
  if (!board.log.length) logHost.append(el("li", "muted", "Nessun abbinamento registrato."));
}

let loading = null;
let timer = null;

async function refresh() {
  if (loading) return loading;
  loading = (async () => {
    const result = await api("GET", "/api/v1/units/tablets");
    loading = null;
    if (!result.ok) { showError(`Elenco non aggiornato: ${result.detail}`); return; }
    board = result.data;
    render();
  })();
  return loading;
}

function scheduleRefresh() {
  clearTimeout(timer);
  timer = setTimeout(refresh, REFRESH_DEBOUNCE_MS);
}

form.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const unitId = select.value;
  if (!unitId) return;
  const button = document.getElementById("pair-issue");
  button.disabled = true;
  const result = await api("POST", `/api/v1/units/${unitId}/pairing-codes`);
  button.disabled = false;
  if (!result.ok) { showError(`Codice non generato: ${result.detail}`); return; }
  showError("");
  const code = result.data;
  document.getElementById("pairing-unit").textContent = code.unit_name;
  document.getElementById("pairing-code").textContent = code.code_display;
  document.getElementById("pairing-url").textContent = code.url;
  const expires = document.getElementById("pairing-expires");
  expires.textContent = romeTime(code.expires_at);
  expires.dateTime = code.expires_at;
  document.getElementById("pairing-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(code.qr_svg)}`;
  card.hidden = false;
  announce(announcer, `Codice per ${code.unit_name}: ${code.code_display.split("").join(" ")}`);
  scheduleRefresh();
});

const live = new LiveStream({
  url: "/ws",
  onSnapshot: scheduleRefresh,
  onEvent(event) {
    if (String(event.type ?? "").startsWith("device.")) scheduleRefresh();
  },
  onStatus(status) {
    statusEl.dataset.status = status;
    statusEl.textContent = LIVE_STATUS_LABELS[status] ?? status;
    if (status === "live") scheduleRefresh();
  },
});

refresh();
live.start();
