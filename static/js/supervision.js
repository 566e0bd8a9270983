// The supervisor's room (/supervisione): escalations, clocks at risk, queues, units, staff,
// shift notes, reassigning; live, never reloaded.
// State comes from GET /api/v1/supervision (one read with its `as_of`); the live stream resumes
// after it (lib/follow.js). Any relevant event re-reads the snapshot (debounced); clock.* events
// also move the clock badges at once. Every piece of data is set with textContent.
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { ClockSet, badge, refreshBadges } from "./lib/clocks.js";
import { Follow, resumeAt } from "./lib/follow.js";
import { announce, el, romeTime } from "./lib/format.js";
import {
  CLOCK_KIND_LABELS, LIVE_STATUS_LABELS, NO_URGENCY_LABEL, REFERRAL_STATUS_LABELS, UNIT_STATUS_LABELS,
  URGENCIES, URGENCY_LABELS as CODE_LABELS,
} from "./lib/labels.js";
import { createSound } from "./lib/sound.js";

const REFRESH_DELAY_MS = 300;
const RETRY_MS = 3000;
const ALARM_EVERY_MS = 4000;
const STAFF_EVERY_MS = 30000; // logins are not on the supervisors' stream: re-read for staffing
const RELEVANT = ["referral.", "case.", "unit.", "clock.", "escalation.", "shift_note."];
const URGENCY_LABELS = { ...CODE_LABELS, none: NO_URGENCY_LABEL };
const REFERRAL_STATES = ["received", "in_assessment"].map((state) => [state, REFERRAL_STATUS_LABELS[state]]);

const root = document.getElementById("supervision-page");
const $ = (id) => document.getElementById(id);
const userId = Number(root.dataset.userId);
const seqKey = `seus.supervision.lastSeq:${root.dataset.user || ""}`;
const baseTitle = document.title;

let snapshot = null;
let clockOffsetMs = 0; // server time - browser time
let live = null;
let knownEscalations = null; // ids, to announce the new ones
const clocks = new ClockSet(() => renderClocks());

const serverNow = () => Date.now() + clockOffsetMs;

// ---- durations and small pieces ----

function span(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86400), h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60), s = total % 60;
  if (d) return `${d} g ${h} h`;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m}:${String(s).padStart(2, "0")}`;
}

/** A duration since `iso` that `tick` keeps moving. */
function since(iso, prefix = "") {
  const node = el("span", "sv-since");
  node.dataset.since = iso;
  if (prefix) node.append(el("span", "sv-since-prefix", prefix)); // the wall keeps it for readers only
  node.append(el("span", "sv-since-value"));
  paintSince(node);
  return node;
}

function paintSince(node) {
  const at = Date.parse(node.dataset.since);
  node.lastChild.textContent = Number.isNaN(at) ? "—" : span(serverNow() - at);
}

function urgencyBadge(urgency) {
  return el("span", `urgency-badge urgency-${urgency}`, URGENCY_LABELS[urgency] ?? urgency);
}

function link(href, text) {
  const a = el("a", "", text);
  a.href = href;
  return a;
}

function subjectLink(item) {
  if (item.case_id) return link(`/casi/${item.case_id}`, item.case_number);
  if (item.referral_id) return link(`/coda/${item.referral_id}`, item.case_number);
  return el("span", "", item.case_number);
}

/** Keep `list`'s children in the order of `items`, reusing the node of each key. */
function syncList(list, items, key, create, update) {
  const existing = new Map([...list.children].map((node) => [node.dataset.key, node]));
  const wanted = new Set(items.map((item) => String(key(item))));
  for (const [k, node] of existing) if (!wanted.has(k)) node.remove();
  items.forEach((item, index) => {
    const k = String(key(item));
    let node = existing.get(k);
    if (!node) { node = create(item); node.dataset.key = k; }
    update(node, item);
    if (list.children[index] !== node) list.insertBefore(node, list.children[index] ?? null);
  });
}

// ---- loading ----

async function load() {
  const result = await api("GET", "/api/v1/supervision", undefined, { timeoutMs: 15000 });
  if (result.status === 401) { location.assign(`/login?next=${encodeURIComponent(location.pathname)}`); return null; }
  if (!result.ok) throw new Error(result.detail);
  return result.data;
}

// The snapshot with its as_of; a relevant event after it moves a clock at once and reads the
// snapshot again (once per burst); events that come during a read wait for it.
const follow = new Follow({
  load,
  onRead(data) {
    snapshot = data;
    clockOffsetMs = Date.parse(data.now) - Date.now();
    clocks.load(data.clocks);
  },
  apply(event) {
    const type = String(event.type ?? "");
    if (!RELEVANT.some((prefix) => type.startsWith(prefix))) return;
    if (type.startsWith("clock.")) clocks.apply(event);
    scheduleRefresh();
  },
  afterRead() {
    $("supervision-error").hidden = true;
    render();
    if (!live) startLive();
  },
  onError(error) {
    showError($("supervision-error"), `Impossibile aggiornare la supervisione: ${error.message} Nuovo tentativo tra poco.`);
  },
  retryMs: RETRY_MS,
});

function scheduleRefresh() {
  follow.reread(REFRESH_DELAY_MS);
}

// ---- rendering ----

function render() {
  $("as-of-time").textContent = romeTime(snapshot.now);
  renderEscalations();
  renderQueues();
  renderUnits();
  renderShift();
  renderNotes();
  renderReassign();
  tick();
}

function renderEscalations() {
  const list = $("escalation-list");
  const open = snapshot.escalations;
  syncList(list, open, (e) => e.id, createEscalation, updateEscalation);
  $("escalations-empty").hidden = open.length > 0;
  const alert = $("escalation-alert");
  if (open.length) {
    const first = open[0];
    const text = open.length === 1
      ? `Escalation da confermare: ${first.label}, ${first.case_number} (${URGENCY_LABELS[first.urgency] ?? first.urgency}).`
      : `${open.length} escalation da confermare. La più urgente: ${first.label}, ${first.case_number}.`;
    if (alert.textContent !== text) alert.textContent = text;
    alert.hidden = false;
  } else {
    alert.hidden = true;
    alert.textContent = "";
  }
  document.title = open.length ? `(${open.length}) ${baseTitle}` : baseTitle;
  const ids = new Set(open.map((e) => e.id));
  const arrived = knownEscalations ? open.filter((e) => !knownEscalations.has(e.id)) : [];
  knownEscalations = ids;
  setAlarm(open.length > 0, arrived.length > 0);
}

function createEscalation(escalation) {
  const item = el("li", "sv-item sv-escalation");
  const head = el("p", "sv-item-head");
  const body = el("p", "sv-item-body");
  const form = el("form", "sv-ack");
  const noteId = `esc-note-${escalation.id}`;
  const label = el("label", "", "Nota (facoltativa)");
  label.htmlFor = noteId;
  const note = el("input", "sv-ack-note");
  Object.assign(note, { type: "text", id: noteId, maxLength: 2000, name: "note" });
  const button = el("button", "button button-primary", "Ho visto l'escalation");
  button.type = "submit";
  button.setAttribute("aria-label", `Ho visto l'escalation ${escalation.case_number}`);
  const reassign = el("button", "button button-quiet", "Riassegna");
  reassign.type = "button";
  reassign.setAttribute("aria-label", `Riassegna ${escalation.case_number}`);
  reassign.addEventListener("click", () => pickForReassign(escalation));
  const error = el("p", "sv-ack-error");
  error.setAttribute("role", "status");
  form.append(label, note, button, reassign, error);
  form.addEventListener("submit", (submit) => { submit.preventDefault(); acknowledgeEscalation(escalation.id, form); });
  item.append(head, body, form);
  return item;
}

function updateEscalation(item, escalation) {
  item.dataset.urgency = escalation.urgency;
  const head = item.querySelector(".sv-item-head");
  head.replaceChildren(urgencyBadge(escalation.urgency), " ", el("strong", "", escalation.label), " · ", subjectLink(escalation));
  const late = badge({ label: escalation.label, state: "breached", breached_at: escalation.due_at, deadline: escalation.due_at, warned: 0 }, { withLabel: false });
  const where = [`zona ${escalation.zone_name}`];
  if (escalation.unit_name) where.push(`unità ${escalation.unit_name}`);
  item.querySelector(".sv-item-body").replaceChildren(
    "Termine mancato alle ", el("time", "", romeTime(escalation.due_at, true)), " ", late,
    ` · ${where.join(" · ")}`,
  );
}

async function acknowledgeEscalation(id, form) {
  const button = form.querySelector("button[type=submit]");
  const error = form.querySelector(".sv-ack-error");
  const note = form.querySelector(".sv-ack-note").value.trim();
  button.disabled = true;
  error.textContent = "";
  const result = await api("POST", `/api/v1/escalations/${id}/acknowledge`, note ? { note } : {}, {
    fallback: (status) => `Conferma non riuscita (errore ${status}).`,
    fieldErrors: "message",
  });
  button.disabled = false;
  if (result.ok) {
    snapshot.escalations = snapshot.escalations.filter((e) => e.id !== id);
    renderEscalations();
    announce($("live-announcer"), `Escalation ${result.data.case_number} confermata.`);
    const next = $("escalation-list").querySelector(".sv-ack-note");
    if (next) next.focus();
    else $("escalations-title").focus();
    scheduleRefresh();
    return;
  }
  error.textContent = result.detail;
  if (result.status === 409 || result.status === 404) scheduleRefresh();
}

// the clocks at risk: the ClockSet's breached ones and running ones with a warning fired
function renderClocks() {
  const list = $("clock-list");
  const risky = clocks.list((c) => c.state === "breached" || (c.state === "running" && c.warned > 0));
  syncList(list, risky, (c) => c.clock_id, createClock, updateClock);
  $("clocks-empty").hidden = risky.length > 0;
  refreshBadges(list, serverNow());
}

function createClock() {
  const item = el("li", "sv-item sv-clock");
  const reassign = el("button", "button button-quiet sv-clock-reassign", "Riassegna");
  reassign.type = "button";
  reassign.addEventListener("click", () => pickForReassign(JSON.parse(item.dataset.subject)));
  item.append(el("p", "sv-item-head"), el("p", "sv-item-body"), reassign);
  return item;
}

function updateClock(item, clock) {
  item.dataset.state = clock.state;
  item.dataset.subject = JSON.stringify({ referral_id: clock.referral_id, case_id: clock.case_id, case_number: clock.case_number });
  item.querySelector(".sv-item-head").replaceChildren(
    badge(clock), " ", urgencyBadge(clock.urgency), " ", subjectLink(clock),
  );
  const what = [CLOCK_KIND_LABELS[clock.kind] ?? clock.kind, `zona ${clock.zone_id}`];
  what.push(clock.state === "breached" ? "scaduto" : "in scadenza");
  item.querySelector(".sv-item-body").textContent = what.join(" · ");
  item.querySelector(".sv-clock-reassign").setAttribute("aria-label", `Riassegna ${clock.case_number}`);
}

function queueCell(cell, prefix) {
  const td = el("td", "sv-cell");
  if (!cell) { td.append(el("span", "sv-zero", "0")); return td; }
  td.dataset.count = String(cell.count);
  td.append(el("strong", "sv-count", String(cell.count)), el("br"), " ", since(cell.oldest, prefix));
  return td;
}

function queueRows(tbody, rows, urgencies, prefix) {
  tbody.replaceChildren(...rows.map(([key, label, cells]) => {
    const tr = el("tr");
    tr.dataset.state = key;
    const th = el("th", "", label);
    th.scope = "row";
    tr.append(th, ...urgencies.map((u) => queueCell(cells.get(u), prefix)));
    return tr;
  }));
}

function renderQueues() {
  const byReferral = new Map();
  for (const q of snapshot.referral_queues) {
    if (!byReferral.has(q.state)) byReferral.set(q.state, new Map());
    byReferral.get(q.state).set(q.urgency, { count: q.count, oldest: q.oldest_received_at });
  }
  queueRows($("referral-queues").tBodies[0],
    REFERRAL_STATES.map(([state, label]) => [state, label, byReferral.get(state) ?? new Map()]),
    [...URGENCIES, "none"], "attende da ");
  const byCase = new Map();
  const labels = new Map();
  for (const q of snapshot.case_queues) {
    if (!byCase.has(q.status)) byCase.set(q.status, new Map());
    byCase.get(q.status).set(q.urgency, { count: q.count, oldest: q.oldest_updated_at });
    labels.set(q.status, q.status_label);
  }
  const rows = [...byCase.keys()].map((status) => [status, labels.get(status), byCase.get(status)]);
  if (!rows.length) rows.push(["none", "Nessun caso aperto", new Map()]);
  queueRows($("case-queues").tBodies[0], rows, URGENCIES, "fermo da ");
}

// the units board: per zone, how many units in each status (a <details> that opens on its units)
const UNIT_STATUSES = ["available", "assigned", "acknowledged", "en_route", "on_scene", "returning", "off_duty"];
const openZones = new Set(); // the zones a supervisor opened: a re-render keeps them open

function unitCounts(units) {
  const counts = new Map();
  for (const unit of units) counts.set(unit.status, (counts.get(unit.status) ?? 0) + 1);
  const order = (status) => (UNIT_STATUSES.includes(status) ? UNIT_STATUSES.indexOf(status) : UNIT_STATUSES.length);
  return [...counts].sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b));
}

function statusLabel(status, units) {
  return units.find((u) => u.status === status)?.status_label ?? UNIT_STATUS_LABELS[status] ?? status;
}

function countChip(status, count, label) {
  const chip = el("span", "sv-chip");
  chip.dataset.status = status;
  chip.dataset.count = String(count);
  chip.append(el("strong", "sv-chip-count", String(count)), " ", el("span", "sv-chip-label", label.toLowerCase()));
  return chip;
}

function unitTable(zone, headingId) {
  const table = el("table", "sv-table sv-unit-table");
  table.setAttribute("aria-labelledby", headingId);
  const head = el("tr");
  for (const title of ["Unità", "Stato", "Da", "Caso"]) {
    const th = el("th", "", title);
    th.scope = "col";
    head.append(th);
  }
  const tbody = el("tbody");
  for (const unit of zone.units) {
    const tr = el("tr");
    tr.dataset.unitId = String(unit.id);
    tr.dataset.status = unit.status;
    const name = el("th", "", unit.name);
    name.scope = "row";
    const caseCell = el("td");
    if (unit.current_case_id) caseCell.append(link(`/casi/${unit.current_case_id}`, unit.current_case_number ?? `caso ${unit.current_case_id}`));
    else caseCell.textContent = "—";
    const inStatus = el("td");
    inStatus.append(since(unit.status_since));
    tr.append(name, el("td", "sv-unit-status", unit.status_label), inStatus, caseCell);
    tbody.append(tr);
  }
  table.append(el("thead"), tbody);
  table.tHead.append(head);
  return table;
}

function renderUnits() {
  const board = $("unit-board");
  const zones = snapshot.zones;
  $("units-empty").hidden = zones.length > 0;
  const all = zones.flatMap((zone) => zone.units);
  const totals = $("unit-totals");
  totals.hidden = all.length === 0;
  totals.replaceChildren(
    el("span", "sv-unit-total", `${all.length} unità in ${zones.length} ${zones.length === 1 ? "zona" : "zone"}:`), " ",
    ...unitCounts(all).flatMap(([status, count]) => [countChip(status, count, statusLabel(status, all)), " "]),
  );
  board.replaceChildren(...zones.map((zone) => {
    const key = zone.zone_id ?? "none";
    const block = el("details", "sv-zone");
    block.dataset.zone = key;
    block.open = openZones.has(key);
    block.addEventListener("toggle", () => { if (block.open) openZones.add(key); else openZones.delete(key); });
    const summary = el("summary", "sv-zone-summary");
    const headingId = `zone-${key}`;
    const name = el("span", "sv-zone-name", zone.zone_name);
    name.id = headingId;
    const counts = el("span", "sv-zone-counts");
    counts.append(...unitCounts(zone.units).flatMap(([status, count]) => [countChip(status, count, statusLabel(status, zone.units)), " "]));
    summary.append(name, " ", counts);
    block.append(summary, unitTable(zone, headingId));
    return block;
  }));
}

function renderShift() {
  const list = $("shift-list");
  $("shift-empty").hidden = snapshot.on_shift.length > 0;
  list.replaceChildren(...snapshot.on_shift.map((person) => {
    const item = el("li", "sv-person");
    item.dataset.userId = String(person.user_id);
    item.append(
      el("strong", "sv-person-name", person.name), " ",
      el("span", "sv-person-role", person.role_label), " ",
      el("span", "sv-person-since", `collegato dalle ${romeTime(person.since)}`),
    );
    return item;
  }));
}

function renderNotes() {
  const list = $("note-list");
  $("notes-empty").hidden = snapshot.shift_notes.length > 0;
  syncList(list, snapshot.shift_notes, (n) => n.id, createNote, updateNote);
}

function createNote(note) {
  const item = el("li", "sv-item sv-note");
  const head = el("p", "sv-item-head");
  const body = el("p", "sv-note-body");
  const foot = el("div", "sv-note-foot");
  item.append(head, body, foot);
  item.dataset.noteId = String(note.id);
  return item;
}

function updateNote(item, note) {
  item.querySelector(".sv-item-head").replaceChildren(
    el("strong", "", note.author_name), " · ", el("time", "", romeTime(note.written_at, true)),
  );
  const body = item.querySelector(".sv-note-body");
  if (body.textContent !== note.body) body.textContent = note.body;
  const foot = item.querySelector(".sv-note-foot");
  const state = note.acknowledged_at ? "done" : note.author_id === userId ? "own" : "open";
  if (foot.dataset.state === state && state !== "done") return; // keep a focused button
  foot.dataset.state = state;
  item.dataset.acknowledged = String(Boolean(note.acknowledged_at));
  if (state === "done") {
    foot.replaceChildren(el("p", "sv-note-ack", `Letta da ${note.acknowledged_by_name ?? "—"} alle ${romeTime(note.acknowledged_at, true)}`));
  } else if (state === "own") {
    foot.replaceChildren(el("p", "hint", "In attesa della conferma di chi prende il turno."));
  } else {
    const button = el("button", "button button-quiet", "Confermo la lettura");
    button.type = "button";
    button.setAttribute("aria-label", `Confermo la lettura della consegna di ${note.author_name}`);
    const error = el("p", "sv-ack-error");
    error.setAttribute("role", "status");
    button.addEventListener("click", () => acknowledgeNote(note.id, button, error));
    foot.replaceChildren(button, error);
  }
}

async function acknowledgeNote(id, button, error) {
  button.disabled = true;
  error.textContent = "";
  const result = await api("POST", `/api/v1/shift-notes/${id}/acknowledge`, undefined, {
    fallback: (status) => `Conferma non riuscita (errore ${status}).`,
  });
  button.disabled = false;
  if (result.ok) {
    snapshot.shift_notes = snapshot.shift_notes.map((n) => (n.id === id ? { ...n, ...result.data } : n));
    renderNotes();
    announce($("live-announcer"), "Consegna confermata.");
  } else {
    error.textContent = result.detail;
  }
  scheduleRefresh();
}

$("note-form").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const textarea = $("note-body");
  const error = $("note-error");
  const body = textarea.value;
  if (!body.trim()) {
    showError(error, "Scrivi il testo della consegna.");
    textarea.setAttribute("aria-invalid", "true");
    textarea.focus();
    return;
  }
  const button = submit.target.querySelector("button[type=submit]");
  button.disabled = true;
  const result = await api("POST", "/api/v1/shift-notes", { body }, {
    fallback: (status) => `Consegna non registrata (errore ${status}).`,
    fieldErrors: "message",
  });
  button.disabled = false;
  if (!result.ok) { showError(error, result.detail); textarea.setAttribute("aria-invalid", "true"); return; }
  error.hidden = true;
  textarea.removeAttribute("aria-invalid");
  textarea.value = "";
  announce($("live-announcer"), "Consegna registrata.");
  if (snapshot) { snapshot.shift_notes = [result.data, ...snapshot.shift_notes]; renderNotes(); }
  scheduleRefresh();
});

// ---- reassigning ----

let operators = []; // every active operator and supervisor (GET /api/v1/operators)

async function loadOperators() {
  const result = await api("GET", "/api/v1/operators");
  if (result.ok) { operators = result.data.operators; renderReassign(); }
}

/** Replace a select's options only when they changed (an open select stays open). */
function fillSelect(select, groups, placeholder) {
  const signature = JSON.stringify(groups);
  if (select.dataset.signature === signature) return;
  const chosen = select.value;
  select.dataset.signature = signature;
  const first = el("option", "", placeholder);
  first.value = "";
  const nodes = [first];
  for (const [label, options] of groups) {
    if (!options.length) continue;
    const group = el("optgroup");
    group.label = label;
    for (const [value, text] of options) {
      const option = el("option", "", text);
      option.value = value;
      group.append(option);
    }
    nodes.push(group);
  }
  select.replaceChildren(...nodes);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

function workText(item) {
  const who = item.holder_name ? `in carico a ${item.holder_name}` : "non assegnata";
  return `${item.case_number} · ${URGENCY_LABELS[item.urgency] ?? item.urgency} · ${item.status_label} · ${who}`;
}

function renderReassign() {
  if (!snapshot) return;
  const referrals = snapshot.work.filter((w) => w.kind === "referral").map((w) => [`referral:${w.id}`, workText(w)]);
  const cases = snapshot.work.filter((w) => w.kind === "case").map((w) => [`case:${w.id}`, workText(w)]);
  fillSelect($("reassign-item"), [["Segnalazioni aperte", referrals], ["Casi aperti", cases]], "Scegli…");
  const onShift = new Set(snapshot.on_shift.map((p) => p.user_id));
  const present = snapshot.on_shift.map((p) => [String(p.user_id), `${p.name} (${p.role_label})`]);
  const others = operators.filter((o) => !onShift.has(o.id)).map((o) => [String(o.id), o.name]);
  fillSelect($("reassign-operator"), [["In turno ora", present], ["Altri operatori attivi", others]], "Scegli…");
}

function pickForReassign(subject) {
  const select = $("reassign-item");
  const value = subject.case_id ? `case:${subject.case_id}` : `referral:${subject.referral_id}`;
  if ([...select.options].some((o) => o.value === value)) select.value = value;
  else $("reassign-result").textContent = `${subject.case_number} non è più aperta: nulla da riassegnare.`;
  select.focus();
}

$("reassign-form").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const result = $("reassign-result");
  const [kind, id] = $("reassign-item").value.split(":");
  const operatorId = Number($("reassign-operator").value);
  if (!id) { result.textContent = "Scegli la segnalazione o il caso da riassegnare."; $("reassign-item").focus(); return; }
  if (!operatorId) { result.textContent = "Scegli a chi riassegnare."; $("reassign-operator").focus(); return; }
  const reason = $("reassign-reason").value.trim();
  const url = kind === "case" ? `/api/v1/cases/${id}/reassign` : `/api/v1/referrals/${id}/reassign`;
  const button = submit.target.querySelector("button[type=submit]");
  button.disabled = true;
  const answer = await api("POST", url, { operator_id: operatorId, ...(reason ? { reason } : {}) }, {
    fallback: (status) => `Riassegnazione non riuscita (errore ${status}).`,
    fieldErrors: "message",
  });
  button.disabled = false;
  if (answer.ok) {
    const name = answer.data.owner_name ?? answer.data.holder_name ?? "";
    result.textContent = `${answer.data.case_number} riassegnata a ${name}.`;
    $("reassign-reason").value = "";
    scheduleRefresh();
  } else {
    result.textContent = answer.detail;
  }
});

// ---- the escalation alarm: it sounds every few seconds while any is open ----

const sound = createSound({
  toggle: $("audio-toggle"),
  prompt: $("audio-prompt"),
  storageKey: "seus.supervision.muted",
  tones: [[0, 988], [0.22, 740], [0.44, 988]],
  decay: 0.18,
  length: 0.2,
  gapMs: 1000,
});
let alarmTimer = null;

function setAlarm(on, fresh) {
  root.dataset.alarm = on ? "on" : "off";
  if (on && fresh) {
    const first = snapshot.escalations[0];
    announce($("live-announcer"), `Nuova escalation: ${first.label}, ${first.case_number}.`);
  }
  if (on && (fresh || !alarmTimer)) sound.play();
  if (on && !alarmTimer) {
    alarmTimer = setInterval(() => sound.play(), ALARM_EVERY_MS);
  } else if (!on && alarmTimer) {
    clearInterval(alarmTimer);
    alarmTimer = null;
  }
}

// ---- every second: badges and durations ----

function tick() {
  const now = serverNow();
  refreshBadges(root, now);
  for (const node of root.querySelectorAll("[data-since]")) paintSince(node);
}

function showError(node, text) {
  node.textContent = text;
  node.hidden = false;
}

// ---- keyboard ----

document.addEventListener("keydown", (key) => {
  if (key.ctrlKey || key.metaKey || key.altKey) return;
  if (key.target.closest?.("input, textarea, select, [contenteditable]")) return;
  switch (key.key) {
    case "e": $("escalation-list").querySelector(".sv-ack-note")?.focus(); break;
    case "n": key.preventDefault(); $("note-body").focus(); break;
    case "r": key.preventDefault(); $("reassign-item").focus(); break;
    case "m": $("audio-toggle").click(); break;
  }
});

// ---- start: read the snapshot, then follow the log from its as_of ----

/** Once the snapshot is read: the stream resumes after its as_of. */
function startLive() {
  resumeAt(seqKey, follow.seq);
  live = new LiveStream({
    storageKey: seqKey,
    onSnapshot: (snapshot) => follow.resync(snapshot),
    onEvent: (event) => follow.receive(event),
    onStatus(status) {
      const node = $("live-status");
      node.dataset.status = status;
      node.textContent = LIVE_STATUS_LABELS[status] ?? status;
      if (status === "live") scheduleRefresh(); // after a reconnection: read what we missed
    },
  });
  document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());
  live.start();
  loadOperators();
  setInterval(tick, 1000);
  setInterval(scheduleRefresh, STAFF_EVERY_MS);
}

follow.read();
