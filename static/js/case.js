// The case page (/casi/{id}): the whole file, live. Every action calls the JSON API; every
// change arrives as an event on the live stream, and the page re-reads what it changed: the
// file is read with its `as_of` and an event about the case after it reads it again
// (lib/follow.js), then the timeline from its last entry.
// "Tempi": the open SLA clocks of the case, its units and its referral, read once from
// GET /api/v1/clocks and kept by the clock.* events; countdowns computed here, once a second.
import { LiveStream } from "./lib/live.js";
import { api as callApi } from "./lib/api.js";
import { ClockFeed, ClockSet, badge, refreshBadges } from "./lib/clocks.js";
import { Follow, resumeAt } from "./lib/follow.js";
import { TIME_ZONE, announce as say, crewText, el } from "./lib/format.js";
import { LIVE_STATUS_LABELS } from "./lib/labels.js";
import { unitMessages } from "./case-messages.js";
import { caseMap } from "./case-map.js";
import { placePicker } from "./lib/mappick.js";

const REFRESH_DELAY_MS = 120;
const RETRY_MS = 3000;
const HIGHLIGHT_MS = 4000;
const CLOCK_TICK_MS = 1000;
// Clock events the case timeline leaves out (dispatch/cases.py QUIET_CLOCK_EVENTS): starts and
// stops are bookkeeping, shown on the clocks themselves; they do not make the page re-read it.
const QUIET_CLOCK_EVENTS = new Set(["clock.started", "clock.met", "clock.cancelled", "clock.paused", "clock.resumed"]);

const $ = (id) => document.getElementById(id);
const page = $("case-page");
const caseId = Number(page.dataset.caseId);
const canManage = page.dataset.canManage === "true";
const messages = unitMessages({ caseId, canManage }); // the room's messages to the units (case-messages.js)
const user = page.dataset.user || "";
const labels = JSON.parse($("case-labels")?.textContent || "{}");
// The small map of the place and the units offered (case-map.js); the municipality's point
// for a referral without coordinates comes with the page.
const placeMap = caseMap({
  element: $("case-map"),
  caption: $("case-map-caption"),
  centre: page.dataset.centreLat ? { lat: Number(page.dataset.centreLat), lon: Number(page.dataset.centreLon) } : null,
});
const seqKey = `seus.case.lastSeq:${caseId}:${user}`;

let detail = null; // the last GET /api/v1/cases/{id}
let closedBy = null; // the timeline's closing entry: who closed the case, and why
let lastTimelineSeq = 0;
let initialised = false;

// ---- small helpers ----

function label(table, code) {
  if (code === null || code === undefined || code === "") return "";
  return labels[table]?.[code] ?? String(code);
}

function time(iso, { withDate = true } = {}) {
  const node = el("time", "when");
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) {
    node.textContent = "—";
    return node;
  }
  node.dateTime = date.toISOString();
  const clock = date.toLocaleTimeString("it-IT", { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
  const day = date.toLocaleDateString("it-IT", { timeZone: TIME_ZONE, day: "2-digit", month: "2-digit" });
  const today = new Date().toLocaleDateString("it-IT", { timeZone: TIME_ZONE, day: "2-digit", month: "2-digit" });
  node.textContent = withDate && day !== today ? `${day} ${clock}` : clock;
  node.title = date.toLocaleString("it-IT", { timeZone: TIME_ZONE, dateStyle: "full", timeStyle: "short" });
  return node;
}

function textTime(iso) {
  return time(iso).textContent;
}

function button(text, className, onClick) {
  const node = el("button", `button ${className}`, text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

async function api(method, url, body) {
  const result = await callApi(method, url, body);
  if (result.status === 401) result.detail = "Sessione scaduta: accedi di nuovo.";
  return result;
}

function showError(message) {
  const box = $("case-error");
  box.textContent = message;
  box.hidden = !message;
}

function announce(text) {
  say($("live-announcer"), text);
}

function fact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(el("dt", "", term));
  const dd = el("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = String(value);
  list.append(dd);
}

function persons(count) {
  if (count === 1) return "1 persona";
  return `${count ?? "?"} persone`;
}

// ---- the file ----

function renderHeader(c) {
  const status = $("case-status");
  status.textContent = c.status_label;
  status.dataset.status = c.status;
  const urgency = $("case-urgency");
  urgency.hidden = !c.urgency;
  urgency.textContent = `Codice ${label("urgency", c.urgency).toLowerCase()}`;
  urgency.dataset.urgency = c.urgency;
  const r = c.referral;
  const owner = c.owner ? `responsabile ${c.owner.name}` : "nessun responsabile";
  $("case-summary").textContent =
    `${r.trigger_label} · ${r.municipality.name} (zona ${c.zone_name}) · aperto ${textTime(c.opened_at)} · ${owner}`;
  document.title = `Caso ${c.case_number} · ${c.status_label} · SEUS`;

  // A closed case is read-only: it says so, when and by whom, and offers no action.
  const closed = c.status === "closed";
  page.classList.toggle("is-closed", closed);
  $("case-closed").hidden = !closed;
  if (closed) {
    $("case-closed-when").textContent = c.closed_at ? textTime(c.closed_at) : "—";
    $("case-closed-who").textContent = closedBy ? ` da ${closedBy.who}` : "";
    $("case-closed-why").textContent = closedBy?.why ? `Motivo: ${closedBy.why}` : "";
  }

  const rejected = c.handovers.find((h) => h.status === "rejected");
  $("case-flag").hidden = !c.flagged;
  $("case-flag-reason").textContent = c.flagged && rejected ? rejected.reason ?? "" : "";
  $("case-flag-zone").textContent = c.flagged && rejected ? ` dalla zona ${rejected.zone_name}` : "";
  page.classList.toggle("is-flagged", Boolean(c.flagged));
}

function renderReferral(r) {
  const list = $("referral-facts");
  list.replaceChildren();
  const kind = label("referrer_kind", r.referrer.kind);
  fact(list, "Ente segnalante", kind ? `${r.referrer.name} (${kind})` : r.referrer.name);
  fact(list, "Riferimento dell'ente", r.referrer_reference);
  fact(list, "Ricevuta", time(r.received_at));
  fact(list, "Categoria", r.trigger_label);
  fact(list, "Urgenza proposta", label("urgency", r.urgency_proposed));
  fact(list, "Luogo", `${r.municipality.name} (${r.municipality.code}), zona ${r.zone.name}`);
  fact(list, "Indirizzo", r.address);
  if (r.lat !== null && r.lon !== null) fact(list, "Coordinate", `${r.lat}, ${r.lon}`);
  for (const warning of r.place_warnings ?? []) {
    fact(list, "Attenzione", el("span", "place-warning", String(warning.message_it ?? warning.message)));
  }
  if (r.residence_municipality) {
    fact(list, "Residenza", `${r.residence_municipality.name} (${r.residence_municipality.code})`);
  }
  const p = r.people ?? {};
  const people = [persons(p.count)];
  if (p.minors) people.push(`di cui ${p.minors} ${p.minors === 1 ? "minore" : "minori"}`);
  if (p.age_band) people.push(label("age_band", p.age_band));
  if (p.sex) people.push(label("sex", p.sex));
  if (p.language) people.push(`lingua: ${label("language", p.language)}`);
  if (p.needs_mediator) people.push("serve un mediatore culturale");
  fact(list, "Persone", people.filter(Boolean).join(", "));
  const cb = r.callback ?? {};
  fact(list, "Da richiamare", [cb.name, cb.role, cb.phone].filter(Boolean).join(" · "));
  fact(list, "Stato della segnalazione", label("referral_status", r.status));
  if (r.holder) fact(list, "In valutazione da", r.holder.name);
  if (r.entered_by) fact(list, "Inserita da", r.entered_by.name);
  fact(list, "Motivo della decisione", r.decision_reason);
  $("referral-description").textContent = r.description;
}

const ASSESSMENT_FIELDS = {
  trigger: ["Categoria confermata", (v) => label("trigger", v)],
  urgency: ["Codice di urgenza", (v) => label("urgency", v)],
  risk_factors: ["Fattori di rischio", (v) => v.map((x) => label("risk", x)).join(", ")],
  people: ["Persone", (v) => `${persons(v.count)}${v.minors ? `, di cui ${v.minors} ${v.minors === 1 ? "minore" : "minori"}` : ""}`],
  needs: ["Bisogni", (v) => v.map((x) => label("resource", x)).join(", ")],
  skills: ["Competenze richieste all'unità", (v) => v.map((x) => label("skill", x)).join(", ")],
  language: ["Lingua per la mediazione", (v) => label("language", v)],
  notes: ["Note della valutazione", (v) => v],
  decision: ["Decisione", (v) => labels.decision?.[v] ?? label("referral_status", v)],
  decided_at: ["Decisa il", (v) => time(v)],
  decided_by_name: ["Decisa da", (v) => v],
};
const ASSESSMENT_HIDDEN = new Set(["decided_by"]);

function renderAssessment(a) {
  const list = $("assessment-facts");
  list.replaceChildren();
  $("assessment-empty").hidden = Boolean(a && Object.keys(a).length);
  if (!a) return;
  for (const [key, value] of Object.entries(a)) {
    if (value === null || value === "" || (Array.isArray(value) && !value.length)) continue;
    if (ASSESSMENT_HIDDEN.has(key)) continue;
    const [term, show] = ASSESSMENT_FIELDS[key] ?? [key, (v) => (typeof v === "object" ? JSON.stringify(v) : v)];
    fact(list, term, show(value));
  }
}

function renderAssignments(list) {
  const host = $("assignments");
  host.replaceChildren();
  $("assignments-empty").hidden = list.length > 0;
  for (const a of list) {
    const item = el("li", `item${a.active ? "" : " is-past"}`);
    item.dataset.assignmentId = String(a.id);
    const head = el("p", "item-head");
    head.append(el("strong", "", a.unit_name), " ");
    head.append(el("span", "status-badge", a.active ? a.unit_status_label : a.cancelled_at ? "Richiamata" : "Conclusa"));
    item.append(head);
    const steps = [
      ["inviata", a.dispatched_at], ["presa visione", a.acknowledged_at], ["in viaggio", a.en_route_at],
      ["sul posto", a.on_scene_at], ["ultimo check-in", a.last_check_in_at], ["conclusa", a.done_at],
      ["richiamata", a.cancelled_at],
    ];
    const line = el("p", "item-meta");
    for (const [name, at] of steps) {
      if (!at) continue;
      line.append(`${name} `, time(at), "  ");
    }
    if (a.dispatched_by) line.append(`· da ${a.dispatched_by.name}`);
    item.append(line);
    const crew = crewText(a.unit_crew, a.unit_phone);
    if (crew) item.append(el("p", "item-meta unit-crew", crew));
    if (canManage && a.active) {
      item.append(button("Richiama", "button-quiet", () => recall(a)));
    }
    host.append(item);
  }
}

const LAPSING_MINUTES = 10; // a hold this close to lapsing is flagged

// What can be done to a booking in each status, with buttons that say what they do.
const BOOKING_STEPS = {
  requested: [["hold", "Blocca il posto"], ["cancel", "Annulla la richiesta"]],
  held: [["confirm", "Conferma la prenotazione"], ["cancel", "Annulla e libera"]],
  confirmed: [["start", "Segna in uso"], ["cancel", "Annulla e libera"]],
  in_use: [["release", "Libera la risorsa"]],
};

function renderBookings(c) {
  const host = $("bookings");
  host.replaceChildren();
  $("bookings-empty").hidden = c.bookings.length > 0;
  for (const b of c.bookings) {
    const item = el("li", `item${b.active ? "" : " is-past"}`);
    item.dataset.bookingId = String(b.id);
    const head = el("p", "item-head");
    head.append(el("strong", "", `${b.type_label}: ${b.resource_name}`), " ");
    head.append(el("span", "status-badge", label("booking", b.status)));
    item.append(head);
    const meta = el("p", "item-meta", `${b.provider} · quantità ${b.quantity}`);
    if (b.status === "held" && b.held_until) {
      meta.append(" · bloccata fino alle ", time(b.held_until));
      const left = Math.ceil((new Date(b.held_until) - Date.now()) / 60_000);
      if (left <= LAPSING_MINUTES) {  // flagged in time: a hold lapses by itself
        item.classList.add("is-lapsing");
        meta.append(el("strong", "lapsing", left > 0
          ? ` · scade tra ${left} min: confermala o liberala`
          : " · sta scadendo"));
      }
    }
    item.append(meta);
    if (b.note) item.append(el("p", "item-text", b.note));
    if (canManage && c.status !== "closed") {
      const row = el("div", "button-row");
      for (const [verb, text] of BOOKING_STEPS[b.status] ?? []) {
        row.append(button(text, verb === "cancel" ? "button-quiet" : "", () => bookingStep(b, verb)));
      }
      if (row.childElementCount) item.append(row);
    }
    host.append(item);
  }
  const booked = new Set(c.bookings.filter((b) => b.active).map((b) => b.resource_type));
  const open = c.needs.filter((n) => !booked.has(n));
  const needs = $("needs-line");
  needs.textContent = c.needs.length
    ? `Bisogni: ${c.need_labels.join(", ")}. ${open.length ? `Ancora da coprire: ${open.map((n) => label("resource", n)).join(", ")}.` : "Tutti coperti."}`
    : "Nessun bisogno di risorse indicato dalla valutazione.";
}

function renderNotes(notes) {
  const host = $("notes");
  host.replaceChildren();
  $("notes-empty").hidden = notes.length > 0;
  const closed = detail?.status === "closed";
  for (const note of [...notes].reverse()) {
    const item = el("li", `item note${note.for_handover ? " is-for-handover" : ""}`);
    item.dataset.noteId = String(note.id);
    const head = el("p", "item-meta");
    head.append(time(note.at), " ", el("strong", "", note.author_name));
    if (note.for_handover) head.append(" ", el("span", "status-badge note-mark", "per il passaggio"));
    item.append(head, el("p", "item-text", note.body));
    if (canManage && !closed) {
      // A note goes in the handover's dossier only when marked: the mark says so, and is undone.
      const mark = button(note.for_handover ? "Togli dal passaggio" : "Segna per il passaggio",
        "button-quiet button-small", () => markNote(note, !note.for_handover, mark));
      mark.setAttribute("aria-pressed", String(Boolean(note.for_handover)));
      item.append(mark);
    }
    host.append(item);
  }
}

async function markNote(note, forHandover, control) {
  control.disabled = true;
  const done = await act("POST", `/api/v1/cases/${caseId}/handover-notes`,
    { note_id: note.id, for_handover: forHandover },
    forHandover ? "Nota segnata per il passaggio" : "Nota tolta dal passaggio");
  if (!done) control.disabled = false;
}

function renderHandovers(c) {
  const host = $("handovers");
  host.replaceChildren();
  $("handovers-empty").hidden = c.handovers.length > 0;
  for (const h of c.handovers) {
    const item = el("li", `item handover is-${h.status}`);
    item.dataset.handoverId = String(h.id);
    const head = el("p", "item-head");
    head.append(el("strong", "", `Zona ${h.zone_name}`), " ", el("span", "status-badge", label("handover", h.status)));
    item.append(head);
    const meta = el("p", "item-meta");
    meta.append("inviato ", time(h.sent_at));
    if (h.sent_by) meta.append(` da ${h.sent_by.name}`);
    if (h.decided_at) {
      meta.append(` · ${h.status === "accepted" ? "accettato" : "respinto"} `, time(h.decided_at));
      if (h.decided_by) meta.append(` da ${h.decided_by.name}`);
    }
    item.append(meta);
    if (h.reason) item.append(el("p", "item-text", `Motivo: ${h.reason}`));
    if (h.reply) {
      const reply = el("p", "item-text handover-reply", `Risposta della sala: ${h.reply}`);
      if (h.replied_by) reply.append(` (${h.replied_by.name}, `, time(h.replied_at), ")");
      item.append(reply);
    }
    host.append(item);
  }
  $("handover-target").textContent = `Servizio competente: ${competenceText(c)}`;
  if (!canManage) return;
  renderRework(c);
  const canSend = c.allowed.includes("handover_sent");
  $("handover-open").disabled = !canSend;
  $("handover-open").title = canSend ? "" : `Non possibile nello stato "${c.status_label}"`;
  if (!canSend) closeHandoverConfirm();
  $("close-form").hidden = !c.allowed.includes("closed");
  showPending($("close-pending"), c, "Prima di chiudere, ancora in sospeso:");
}

/** Where a handover would go, and why: corrected by the room, the residence, or where found. */
function competenceText(c) {
  const residence = c.referral.residence_municipality;
  const why = c.competent_zone.source === "corrected"
    ? "corretta dalla sala"
    : residence ? `residenza a ${residence.name}` : "luogo del ritrovamento: residenza non nota";
  return `zona ${c.competent_zone.name} (${why})`;
}

// ---- after a rejection: correct the competence, reply, send again ----

/** The correction and reply forms: only while the last handover stands rejected. */
function renderRework(c) {
  const last = c.handovers[0];
  const rejected = c.status === "handover_rejected" && last?.status === "rejected";
  const box = $("rework");
  box.hidden = !rejected;
  if (!rejected) return;
  box.dataset.handoverId = String(last.id);
  $("rework-target").textContent = `andrà alla ${competenceText(c)}.`;
  $("reply-label").textContent = `Risposta al servizio della zona ${last.zone_name}`;
  const replied = Boolean(last.reply);
  const form = $("reply-form");
  for (const control of form.elements) control.hidden = replied;
  form.querySelector(".field").hidden = replied;
  $("reply-sent").hidden = !replied;
  $("reply-sent").textContent = replied ? `Risposta inviata: ${last.reply}` : "";
}

function competenceField() {
  return document.querySelector('input[name="competence-field"]:checked')?.value ?? "residence";
}

function showCompetenceField() {
  const byZone = competenceField() === "zone";
  $("competence-residence-field").hidden = byZone;
  $("competence-zone-field").hidden = !byZone;
}

const FIELD_SLOTS = {
  residence_municipality: "competence-residence",
  zone: "competence-zone",
  reason: "competence-reason",
  message: "reply-message",
};

/** An Italian message next to its field (and the field marked invalid); "" clears it. */
function fieldError(inputId, message) {
  const input = $(inputId);
  const slot = $(`${inputId}-error`);
  slot.textContent = message;
  slot.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/** The API's field errors next to their fields; true when any was placed. */
function placeErrors(result, fields) {
  let placed = false;
  for (const problem of result.errors ?? []) {
    const name = String(problem.field ?? "").split(".").pop();
    const id = FIELD_SLOTS[name];
    if (!id || !fields.includes(name)) continue;
    fieldError(id, problem.message);
    placed = true;
  }
  return placed;
}

async function correctCompetence(event) {
  event.preventDefault();
  const byZone = competenceField() === "zone";
  const place = byZone ? $("competence-zone").value : $("competence-residence").value.trim();
  const reason = $("competence-reason").value.trim();
  for (const id of ["competence-residence", "competence-zone", "competence-reason"]) fieldError(id, "");
  $("competence-status").textContent = "";
  const placeId = byZone ? "competence-zone" : "competence-residence";
  const missing = [];
  if (!place) {
    fieldError(placeId, byZone ? "Scegli la zona competente." : "Scrivi il comune di residenza.");
    missing.push(placeId);
  }
  if (!reason) {
    fieldError("competence-reason", "Scrivi il motivo della correzione.");
    missing.push("competence-reason");
  }
  if (missing.length) {
    $(missing[0]).focus();
    return;
  }
  const body = byZone ? { zone: place, reason } : { residence_municipality: place, reason };
  const submit = $("competence-form").querySelector('button[type="submit"]');
  submit.disabled = true;
  showError("");
  const result = await api("POST", `/api/v1/cases/${caseId}/competence`, body);
  submit.disabled = false;
  if (!result.ok) {
    if (!placeErrors(result, ["residence_municipality", "zone", "reason"])) {
      $("competence-status").textContent = result.detail;
    }
    return;
  }
  $("competence-reason").value = "";
  $("competence-residence").value = "";
  const text = `Competenza corretta: il passaggio andrà alla zona ${result.data.competent_zone.name}.`;
  $("competence-status").textContent = text;
  announce(text);
  scheduleRefresh();
}

async function sendReply(event) {
  event.preventDefault();
  const handoverId = $("rework").dataset.handoverId;
  const message = $("reply-message").value.trim();
  fieldError("reply-message", "");
  $("reply-status").textContent = "";
  if (!message) {
    fieldError("reply-message", "Scrivi la risposta al servizio.");
    $("reply-message").focus();
    return;
  }
  const submit = $("reply-form").querySelector('button[type="submit"]');
  submit.disabled = true;
  showError("");
  const result = await api("POST", `/api/v1/handovers/${handoverId}/reply`, { message });
  submit.disabled = false;
  if (!result.ok) {
    if (!placeErrors(result, ["message"])) $("reply-status").textContent = result.detail;
    return;
  }
  $("reply-message").value = "";
  $("reply-status").textContent = "Risposta inviata al servizio.";
  announce("Risposta inviata al servizio");
  scheduleRefresh();
}

function render(c) {
  renderHeader(c);
  renderReferral(c.referral);
  renderAssessment(c.assessment);
  renderAssignments(c.assignments);
  messages.units(c.assignments);
  renderBookings(c);
  renderNotes(c.notes);
  renderHandovers(c);
  renderClocks();
  if (canManage) renderUrgencyForm(c);
  if (canManage) {
    const closed = c.status === "closed";
    $("dispatch-open").disabled = !c.allowed.includes("unit_dispatched") && c.status !== "unit_dispatched";
    $("book-open").disabled = closed;
    for (const control of $("note-form").elements) control.disabled = closed;
    if (closed) closePanels();
  }
  $("case-loading").hidden = true;
  $("case-body").hidden = false;
  placeMap.show(c); // once laid out: Leaflet measures its box
}

async function loadCase() {
  const result = await api("GET", `/api/v1/cases/${caseId}`);
  if (!result.ok) throw new Error(result.detail);
  return result.data;
}

// ---- clocks (Tempi) ----

const clocks = new ClockSet((clock, event) => {
  renderClocks();
  if (event?.type === "clock.retargeted") retargeted(clock);
});
const retargetedAt = new Map(); // clock_id -> when it was re-targeted (highlighted a while)

/** The case's own clocks, its units' and its referral's (the one referral of the case). */
function ofThisCase(clock) {
  if (Number(clock.case_id) === caseId) return true;
  return Boolean(detail && clock.kind === "referral" && Number(clock.referral_id) === detail.referral.id);
}

// One read by referral names the case's clocks, its units' and its referral's.
const feed = new ClockFeed(clocks, {
  url: () => (detail ? `/api/v1/clocks?referral_id=${detail.referral.id}&limit=5000` : null),
  keep: ofThisCase,
});

function clockOwner(clock) {
  if (clock.kind === "referral") return "segnalazione";
  if (clock.kind === "assignment") {
    const a = detail?.assignments.find((x) => x.id === clock.assignment_id);
    return a ? a.unit_name : "unità";
  }
  return "caso";
}

function renderClocks() {
  const host = $("clocks");
  const open = clocks.list();
  $("clocks-empty").hidden = open.length > 0;
  host.replaceChildren();
  for (const clock of open) {
    const item = el("li", "item case-clock");
    item.dataset.clockId = String(clock.clock_id);
    item.dataset.milestone = clock.milestone;
    if (retargetedAt.has(clock.clock_id)) item.classList.add("is-new");
    const head = el("p", "item-head");
    head.append(el("strong", "", clock.label), ` · ${clockOwner(clock)} `, badge(clock, { withLabel: false }));
    item.append(head);
    const meta = el("p", "item-meta case-clock-meta");
    meta.append(`codice ${label("urgency", clock.urgency).toLowerCase() || clock.urgency}`);
    if (clock.state === "breached" && clock.breached_at) meta.append(" · scaduto alle ", time(clock.breached_at));
    else if (clock.state === "paused") meta.append(" · in pausa");
    else if (clock.deadline) meta.append(" · entro le ", time(clock.deadline));
    item.append(meta);
    host.append(item);
  }
  refreshBadges(host);
}

let retargetTimer = null;

/** A re-targeted clock: highlighted, and said once for the burst (one per open clock). */
function retargeted(clock) {
  const at = Date.now();
  retargetedAt.set(clock.clock_id, at);
  setTimeout(() => {
    if (retargetedAt.get(clock.clock_id) !== at) return;
    retargetedAt.delete(clock.clock_id);
    $("clocks").querySelector(`[data-clock-id="${clock.clock_id}"]`)?.classList.remove("is-new");
  }, HIGHLIGHT_MS);
  clearTimeout(retargetTimer);
  retargetTimer = setTimeout(() => {
    const text = `Tempi ricalcolati per il codice ${label("urgency", clock.urgency).toLowerCase() || clock.urgency}.`;
    const status = $("urgency-status");
    if (status) status.textContent = text;
    announce(text);
  }, REFRESH_DELAY_MS);
}

// ---- the urgency code ----

function renderUrgencyForm(c) {
  const box = $("urgency-change");
  box.hidden = c.status === "closed";
  const form = $("urgency-form");
  if (form.dataset.current === c.urgency) return; // keep what the operator is choosing
  form.dataset.current = c.urgency ?? "";
  const select = $("urgency-new");
  for (const option of select.options) {
    const name = label("urgency", option.value) || option.value;
    option.textContent = option.value === c.urgency ? `${name} (attuale)` : name;
  }
  select.value = c.urgency ?? select.value; // the current code: a change is a choice
}

async function changeUrgency(event) {
  event.preventDefault();
  const urgency = $("urgency-new").value;
  const reason = $("urgency-reason").value.trim();
  if (urgency === $("urgency-form").dataset.current) {
    $("urgency-status").textContent = "Scegli un codice diverso da quello attuale.";
    return;
  }
  if (!urgency || !reason) return;
  const submit = $("urgency-form").querySelector('button[type="submit"]');
  submit.disabled = true;
  const done = await act("POST", `/api/v1/cases/${caseId}/urgency`, { urgency, reason }, null);
  submit.disabled = false;
  if (!done) return;
  $("urgency-reason").value = "";
  const text = `Codice cambiato in ${label("urgency", urgency).toLowerCase() || urgency}.`;
  $("urgency-status").textContent = text;
  announce(text);
}

// ---- timeline ----

function renderEntry(entry, fresh) {
  const item = el("li", "timeline-entry");
  item.dataset.seq = String(entry.seq);
  item.dataset.type = entry.type;
  const head = el("p", "item-meta");
  head.append(time(entry.at), " ", el("strong", "", entry.what));
  item.append(head);
  item.append(el("p", "timeline-who", entry.who));
  if (entry.detail) item.append(el("p", "item-text", entry.detail));
  if (entry.why) item.append(el("p", "timeline-why", `Perché: ${entry.why}`));
  if (fresh) {
    item.classList.add("is-new");
    setTimeout(() => item.classList.remove("is-new"), HIGHLIGHT_MS);
  }
  return item;
}

async function loadTimeline(reset = false) {
  if (reset) {
    $("timeline").replaceChildren();
    lastTimelineSeq = 0;
  }
  const result = await api("GET", `/api/v1/cases/${caseId}/timeline?after=${lastTimelineSeq}`);
  if (!result.ok) return;
  const host = $("timeline");
  for (const entry of result.data.entries) {
    if (entry.seq <= lastTimelineSeq) continue;
    if (QUIET_CLOCK_EVENTS.has(entry.type)) { lastTimelineSeq = entry.seq; continue; }
    host.prepend(renderEntry(entry, initialised && !reset));
    lastTimelineSeq = entry.seq;
    if (entry.type === "case.closed") {
      closedBy = entry;
      if (detail) renderHeader(detail);
    }
    if (initialised && !reset) announce(`${entry.what}: ${entry.who}`);
  }
}

// ---- refresh on events: the file with its as_of, then what goes with it ----

let resetTimeline = false; // the next refresh reads the timeline from its start

const file = new Follow({
  load: loadCase,
  onRead(data) {
    detail = data;
    render(detail);
    showUpdated();
  },
  apply(event) {
    // A clock's warning, breach or re-target is on the timeline; its starts and stops are not.
    const quiet = QUIET_CLOCK_EVENTS.has(event.type);
    if (aboutThisCase(event) && !quiet) scheduleRefresh();
    else if (event.type === "unit.status_changed" && dispatchOpen()) scheduleRefresh();
  },
  afterRead() {
    if (initialised) refreshRest();
  },
  onError(error) {
    showError(`Impossibile leggere il caso: ${error.message}`);
  },
  retryMs: RETRY_MS,
});

/** The header's "aggiornato alle …": the last read of the case or the last event heard. */
function showUpdated() {
  $("live-position").textContent = new Date().toLocaleTimeString("it-IT", { timeZone: TIME_ZONE });
}

function scheduleRefresh() {
  file.reread(REFRESH_DELAY_MS);
}

let resting = null;
let restAgain = false;

/** After the file: its clocks (when not read yet), the new timeline entries, the units offered. */
async function refreshRest() {
  if (resting) {
    restAgain = true;
    return;
  }
  resting = (async () => {
    do {
      restAgain = false;
      const reset = resetTimeline;
      resetTimeline = false;
      if (feed.stale) await feed.read();
      await loadTimeline(reset);
      if (dispatchOpen()) await loadRecommendations();
    } while (restAgain);
  })();
  try {
    await resting;
  } finally {
    resting = null;
  }
}

function aboutThisCase(event) {
  const payload = event.payload ?? {};
  if (Number(payload.case_id) === caseId) return true;
  if (event.subject === `case:${caseId}`) return true;
  return Boolean(detail && event.subject === `referral:${detail.referral.id}`);
}

// ---- actions ----

async function act(method, url, body, success) {
  showError("");
  const result = await api(method, url, body);
  if (!result.ok) {
    showError(result.detail);
    return null;
  }
  if (success) announce(success);
  scheduleRefresh();
  return result.data;
}

async function recall(assignment) {
  await act("POST", `/api/v1/assignments/${assignment.id}/cancel`, {}, `${assignment.unit_name} richiamata`);
}

async function bookingStep(booking, verb) {
  await act("POST", `/api/v1/bookings/${booking.id}/${verb}`, {}, "Prenotazione aggiornata");
}

// dispatch panel

function dispatchOpen() {
  return canManage && !$("dispatch-panel").hidden;
}

function toggleDispatch(open = $("dispatch-panel").hidden) {
  $("dispatch-panel").hidden = !open;
  $("dispatch-open").setAttribute("aria-expanded", String(open));
  if (open) loadRecommendations(true);
}

// The most suitable first: the top few eligible units, the rest on request (32 units is a long page).
const TOP_UNITS = 5;
let showAllUnits = false;

function topUnits(list) {
  const eligible = list.filter((unit) => unit.eligible).length;
  return list.slice(0, Math.max(1, Math.min(TOP_UNITS, eligible)));
}

/** The units offered, for the map only, while "Invia unità" is closed (it reads them itself). */
async function loadMapUnits() {
  if (!canManage || dispatchOpen()) return;
  const result = await api("GET", `/api/v1/cases/${caseId}/recommendations`);
  if (result.ok) placeMap.units(topUnits(result.data.units ?? []));
}

async function loadRecommendations(focus = false) {
  const status = $("dispatch-status");
  const host = $("recommendations");
  const result = await api("GET", `/api/v1/cases/${caseId}/recommendations`);
  if (!result.ok) {
    status.textContent = result.status === 404 || result.status === 405
      ? "Le unità consigliate non sono disponibili."
      : result.detail;
    host.replaceChildren();
    return;
  }
  const list = result.data.units ?? [];
  const eligible = list.filter((unit) => unit.eligible).length;
  const shown = showAllUnits ? list : topUnits(list);
  placeMap.units(shown);
  status.textContent = list.length
    ? (shown.length < list.length
      ? `Le ${shown.length} più adatte tra le ${eligible} disponibili.`
      : "Le unità disponibili per prime, dalla più adatta.")
    : "Nessuna unità.";
  host.replaceChildren();
  for (const unit of shown) {
    const item = el("li", `item recommendation${unit.eligible ? "" : " is-past"}`);
    item.dataset.unitId = String(unit.unit_id);
    const head = el("p", "item-head");
    head.append(el("strong", "", unit.name), " ", el("span", "status-badge", unit.status_label));
    if (unit.eta_minutes !== null && unit.eta_minutes !== undefined) {
      head.append(" ", el("span", "eta", `arrivo stimato ~${unit.eta_minutes} min`));
    }
    item.append(head);
    const reasons = el("ul", "reasons");
    for (const reason of unit.reasons ?? []) reasons.append(el("li", "", reason));
    item.append(reasons);
    if (unit.base_label) item.append(el("p", "item-meta", `Sede: ${unit.base_label}${unit.base_note ? ` (${unit.base_note})` : ""}`));
    const crew = crewText(unit.crew, unit.phone);
    if (crew) item.append(el("p", "item-meta unit-crew", crew));
    const send = button(`Invia ${unit.name}`, "button-primary", () => dispatchUnit(unit, send));
    send.disabled = !unit.eligible;
    item.append(send);
    host.append(item);
  }
  const more = $("recommendations-all");
  more.hidden = shown.length >= list.length;
  more.textContent = `Mostra tutte (${list.length})`;
  if (focus) host.querySelector("button:not(:disabled)")?.focus();
}

async function dispatchUnit(unit, control) {
  control.disabled = true;
  const done = await act("POST", `/api/v1/cases/${caseId}/dispatch`, { unit_id: unit.unit_id }, `${unit.name} inviata`);
  if (done) $("dispatch-status").textContent = `${unit.name} inviata.`;
  else await loadRecommendations();
}

// booking panel

let resources = [];

function bookOpen() {
  return canManage && !$("book-panel").hidden;
}

function toggleBook(open = $("book-panel").hidden) {
  $("book-panel").hidden = !open;
  $("book-open").setAttribute("aria-expanded", String(open));
  if (open) loadResources(true);
}

function quantity() {
  const value = Number($("book-quantity").value);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

async function loadResources(focus = false) {
  const zone = $("book-zone").value;
  const result = await api("GET", `/api/v1/resources?zone=${encodeURIComponent(zone)}`);
  if (!result.ok) {
    $("book-status").textContent = result.status === 404 || result.status === 405
      ? "Il paniere non è disponibile."
      : result.detail;
    resources = [];
  } else {
    resources = (result.data.resources ?? []).filter((r) => r.active !== false);
    const needs = new Set(detail?.needs ?? []);
    resources.sort((a, b) => Number(needs.has(b.type)) - Number(needs.has(a.type)) || a.type.localeCompare(b.type));
    $("book-status").textContent = resources.length ? "" : "Nessuna risorsa nel paniere di questa zona.";
  }
  renderResources();
  if (focus) $("resources").querySelector("button:not(:disabled)")?.focus();
}

function renderResources() {
  const host = $("resources");
  host.replaceChildren();
  const needs = new Set(detail?.needs ?? []);
  for (const r of resources) {
    const item = el("li", `item resource${needs.has(r.type) ? " is-needed" : ""}`);
    item.dataset.resourceId = String(r.id);
    const head = el("p", "item-head");
    head.append(el("strong", "", `${r.type_label}: ${r.name}`));
    if (needs.has(r.type)) head.append(" ", el("span", "status-badge", "richiesto"));
    item.append(head);
    const free = el("p", "availability", `Disponibili ${r.available} su ${r.capacity}`);
    free.dataset.available = String(r.available);
    item.append(free);
    item.append(el("p", "item-meta", [r.provider, r.contact_hours && `orari: ${r.contact_hours}`, r.phone].filter(Boolean).join(" · ")));
    if (r.conditions) item.append(el("p", "item-text", `Condizioni: ${r.conditions}`));
    const book = button(`Prenota ${r.name}`, "button-primary", () => bookResource(r, book));
    book.disabled = r.available < quantity();
    item.append(book);
    host.append(item);
  }
}

function updateAvailability(payload) {
  const r = resources.find((x) => x.id === Number(payload.resource_id));
  if (!r) return;
  r.available = Number(payload.available);
  if (payload.capacity !== undefined) r.capacity = Number(payload.capacity);
  renderResources();
}

async function bookResource(resource, control) {
  control.disabled = true;
  showError("");
  const body = { resource_id: resource.id, quantity: quantity(), note: $("book-note").value.trim() };
  const result = await api("POST", `/api/v1/cases/${caseId}/bookings`, body);
  if (result.ok) {
    $("book-status").textContent = `${resource.name}: prenotazione trattenuta.`;
    $("book-note").value = "";
    announce(`${resource.name} prenotata`);
    scheduleRefresh();
  } else if (result.data?.error === "capacity_full") {
    $("book-status").textContent = `${resource.name}: capacità esaurita (disponibili ${result.data.available}).`;
  } else {
    $("book-status").textContent = result.detail;
  }
  await loadResources();
}

// handover and closing

/** What is still pending on the case: bookings requested (by the room or a unit) and not yet
 * answered, and holds not confirmed, each in words. */
function pendingWork(c) {
  return c.bookings.filter((b) => b.status === "requested" || b.status === "held").map((b) => {
    const what = `${b.type_label}: ${b.resource_name}`;
    if (b.status === "requested") return `${what}: richiesta senza risposta`;
    const until = b.held_until ? ` fino alle ${textTime(b.held_until)}` : "";
    return `${what}: bloccata${until}, non confermata`;
  });
}

/** Show the pending work in `host` (a list), hidden when there is none. */
function showPending(host, c, lead) {
  const items = pendingWork(c);
  host.hidden = items.length === 0;
  host.replaceChildren();
  if (!items.length) return;
  host.append(el("p", "", lead));
  const list = el("ul");
  for (const text of items) list.append(el("li", "", text));
  host.append(list);
}

function openHandoverConfirm() {
  if (!detail || $("handover-open").disabled) return;
  $("handover-confirm-text").textContent =
    `Inviare il caso al servizio territoriale della zona ${detail.competent_zone.name}? ` +
    "Riceverà solo il fascicolo sintetico: chi è la persona, i fatti, i fattori di rischio, le note " +
    "segnate per il passaggio, gli interventi, le risorse confermate e i bisogni ancora aperti.";
  showPending($("handover-pending"), detail, "Prima di inviare, ancora in sospeso:");
  $("handover-confirm").hidden = false;
  $("handover-open").setAttribute("aria-expanded", "true");
  $("handover-send").focus();
}

function closeHandoverConfirm() {
  $("handover-confirm").hidden = true;
  $("handover-open").setAttribute("aria-expanded", "false");
}

async function sendHandover() {
  $("handover-send").disabled = true;
  const done = await act("POST", `/api/v1/cases/${caseId}/handover`, undefined, "Passaggio inviato");
  $("handover-send").disabled = false;
  if (done) closeHandoverConfirm();
}

// ---- wiring ----

function isTyping(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function closePanels() {
  if (!canManage) return;
  if (!$("dispatch-panel").hidden) toggleDispatch(false);
  if (!$("book-panel").hidden) toggleBook(false);
  closeHandoverConfirm();
}

// A hold's lapse warning moves with time, not only with events.
setInterval(() => { if (detail) renderBookings(detail); }, 30_000);

if (canManage) {
  $("dispatch-open").addEventListener("click", () => toggleDispatch());
  $("book-open").addEventListener("click", () => toggleBook());
  $("book-zone").addEventListener("change", () => loadResources());
  $("book-quantity").addEventListener("input", renderResources);
  $("handover-open").addEventListener("click", openHandoverConfirm);
  $("handover-cancel").addEventListener("click", closeHandoverConfirm);
  $("handover-send").addEventListener("click", sendHandover);
  $("competence-form").addEventListener("submit", correctCompetence);
  $("reply-form").addEventListener("submit", sendReply);
  for (const radio of document.querySelectorAll('input[name="competence-field"]')) {
    radio.addEventListener("change", showCompetenceField);
  }
  // The residence picked on the map (lib/mappick.js): the municipality, and its zone shown.
  placePicker({ root: $("residence-pick"), municipality: $("competence-residence") });
  $("case-flag-go").addEventListener("click", (event) => {
    event.preventDefault();
    $("rework").scrollIntoView({ block: "center" });
    (competenceField() === "zone" ? $("competence-zone") : $("competence-residence")).focus();
  });
  $("urgency-form").addEventListener("submit", changeUrgency);
  $("recommendations-all").addEventListener("click", () => {
    showAllUnits = true;
    loadRecommendations();
  });

  const noteForm = $("note-form");
  const noteBody = $("note-body");
  noteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = noteBody.value.trim();
    if (!text) return;
    const done = await act("POST", `/api/v1/cases/${caseId}/notes`, { body: text }, "Nota aggiunta");
    if (done) noteBody.value = "";
  });
  noteBody.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      noteForm.requestSubmit();
    }
  });

  $("close-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = $("close-reason").value.trim();
    if (!reason) return;
    const done = await act("POST", `/api/v1/cases/${caseId}/close`, { reason }, "Caso chiuso");
    if (done) $("close-reason").value = "";
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closePanels();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    const key = event.key.toLowerCase();
    if (key === "n") {
      event.preventDefault();
      $("note-body").focus();
    } else if (key === "d" && !$("dispatch-open").disabled) {
      event.preventDefault();
      toggleDispatch(true);
    } else if (key === "b") {
      event.preventDefault();
      toggleBook(true);
    } else if (key === "h") {
      event.preventDefault();
      openHandoverConfirm();
    }
  });
}

function showStatus(status) {
  const node = $("live-status");
  node.dataset.status = status;
  node.textContent = LIVE_STATUS_LABELS[status] ?? status;
}

async function start() {
  const loaded = await file.read();
  await messages.reload(); // before the stream: its events after this read update it
  await feed.read(); // after the file: clock events after its as_of wait for this read
  await loadTimeline(true);
  loadMapUnits();
  initialised = true;
  // Follow the log from the seq the file was read at: nothing between is lost.
  if (loaded) resumeAt(seqKey, file.seq);
  const live = new LiveStream({
    url: "/ws",
    storageKey: seqKey,
    onSnapshot(snapshot) {
      messages.reload();
      resetTimeline = true;
      file.resync(snapshot);
      feed.resync(snapshot);
      if (!file.reading) refreshRest(); // the file already includes the snapshot
    },
    onEvent(event) {
      if (String(event.type).startsWith("clock.")) feed.receive(event);
      else if (event.type === "resource.availability_changed" && bookOpen()) updateAvailability(event.payload ?? {});
      else if (event.type === "resource.changed" && bookOpen()) loadResources();
      else if (event.type.startsWith("unit.message_")) messages.apply(event);
      file.receive(event);
    },
    onStatus: showStatus,
    onPosition(seq) {
      if (seq !== null) showUpdated();
    },
  });
  document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());
  live.start();
  setInterval(() => refreshBadges($("clocks")), CLOCK_TICK_MS);
}

start();
