// Referral intake: the form (POST /api/v1/referrals, idempotent) and, for a referrer's web user,
// the live status of its own referrals (referral.progressed events).
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { TIME_ZONE } from "./lib/format.js";
import { LIVE_STATUS_LABELS } from "./lib/labels.js";
import { placePicker } from "./lib/mappick.js";

const page = document.getElementById("intake-page");
const form = document.getElementById("referral-form");
const errorBox = document.getElementById("referral-errors");
const done = document.getElementById("referral-done");
const announcer = document.getElementById("referral-announcer");

// The phone intake's place picked on a map (lib/mappick.js): fills the municipality and the
// hidden place.lat / place.lon this form sends.
const pickRoot = document.getElementById("place-pick");
if (pickRoot) {
  placePicker({
    root: pickRoot,
    municipality: form.elements.namedItem("place.municipality"),
    lat: form.elements.namedItem("place.lat"),
    lon: form.elements.namedItem("place.lon"),
    testHook: "__seusPick",
  });
}

// ---- Idempotency-Key: one per form fill, kept until the referral is received ----

function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // plain http: no randomUUID
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let idempotencyKey = null;

// ---- the body, exactly as the API takes it ----

function text(name) {
  const el = form.elements.namedItem(name);
  return el ? el.value.trim() : "";
}

/** An integer when the text is one; otherwise the text itself, for the server to name it. */
function integer(value) {
  return /^\d{1,9}$/.test(value) ? Number(value) : value;
}

/** A number (Italian decimal comma accepted); otherwise the text itself. */
function decimal(value) {
  const number = Number(value.replace(",", "."));
  return value !== "" && Number.isFinite(number) ? number : value;
}

function setIf(target, key, value) {
  if (value !== "") target[key] = value;
}

export function referralBody() {
  const body = {
    trigger: text("trigger"),
    place: { municipality: text("place.municipality"), address: text("place.address") },
    people: {
      count: integer(text("people.count")),
      age_band: text("people.age_band") || "unknown",
      sex: text("people.sex") || "unknown",
      needs_mediator: form.elements.namedItem("people.needs_mediator").checked,
    },
    description: form.elements.namedItem("description").value.trim(),
    callback: { name: text("callback.name"), phone: text("callback.phone") },
  };
  setIf(body, "urgency", text("urgency"));
  setIf(body.place, "lat", text("place.lat") === "" ? "" : decimal(text("place.lat")));
  setIf(body.place, "lon", text("place.lon") === "" ? "" : decimal(text("place.lon")));
  setIf(body, "residence_municipality", text("residence_municipality"));
  setIf(body.people, "minors", text("people.minors") === "" ? "" : integer(text("people.minors")));
  setIf(body.people, "language", text("people.language"));
  setIf(body.callback, "role", text("callback.role"));
  setIf(body, "reference", text("reference"));
  if (form.dataset.mode === "phone") body.referrer_id = integer(text("referrer_id"));
  return body;
}

// ---- problems, in Italian, next to their fields ----

const FIELD_MESSAGES = {
  "place.lat": { missing: "Indicare sia la latitudine sia la longitudine, oppure nessuna delle due." },
  "place.lon": { missing: "Indicare sia la latitudine sia la longitudine, oppure nessuna delle due." },
  referrer_id: { missing: "Scegliere l'ente segnalante.", int_type: "Scegliere l'ente segnalante." },
};

const TYPE_MESSAGES = {
  missing: "Campo obbligatorio.",
  string_too_short: "Campo obbligatorio.",
  string_too_long: "Testo troppo lungo.",
  string_type: "Valore non valido.",
  int_type: "Inserire un numero intero.",
  float_type: "Inserire un numero (es. 43,93).",
  greater_than_equal: "Valore troppo basso.",
  less_than_equal: "Valore troppo alto.",
  enum: "Scegliere un valore dall'elenco.",
  unknown_language: "Lingua non riconosciuta: scrivere il nome (es. arabo) o il codice ISO (es. ar).",
  phone_invalid: "Numero non valido: solo cifre, spazi e + iniziale, almeno 3 cifre.",
  control_characters: "Il testo contiene caratteri non ammessi.",
  unknown: "Valore sconosciuto.",
  forbidden: "Campo non ammesso.",
};

function italian(problem) {
  const field = String(problem?.field ?? "");
  const type = String(problem?.type ?? "");
  const message = String(problem?.message ?? "");
  if (FIELD_MESSAGES[field]?.[type]) return FIELD_MESSAGES[field][type];
  if (type === "unknown_municipality") {
    const hint = message.match(/did you mean (.+)\?$/);
    return "Comune non trovato in Toscana: scrivere il nome esatto o il codice ISTAT." +
      (hint ? ` Forse: ${hint[1]}.` : "");
  }
  if (field === "people.minors" && type === "value_error") {
    return message.includes("age_band")
      ? "Con fascia d'età «minorenne» indicare almeno un minore."
      : "I minori non possono essere più delle persone coinvolte.";
  }
  if (type === "value_error" && message.includes("must be a number from")) return "Coordinata impossibile: latitudine tra -90 e 90, longitudine tra -180 e 180.";
  return TYPE_MESSAGES[type] ?? message;
}

function labelOf(field) {
  const input = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
  const label = input ? form.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
  return label ? label.textContent.replace("*", "").trim() : field;
}

function clearProblems() {
  errorBox.hidden = true;
  errorBox.replaceChildren();
  for (const el of form.querySelectorAll("[data-error-for]")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) {
    input.removeAttribute("aria-invalid");
    const ids = (input.getAttribute("aria-describedby") ?? "").split(" ").filter((id) => id && !id.startsWith("e-"));
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }
}

/** Problems in the order their fields appear on the form; unknown fields last. */
function inFormOrder(problems) {
  const order = new Map([...form.querySelectorAll("[data-field]")].map((el, i) => [el.dataset.field, i]));
  const rank = (p) => order.get(String(p?.field ?? "")) ?? order.size;
  return [...problems].sort((a, b) => rank(a) - rank(b));
}

function showProblems(detail, problems = []) {
  const lead = document.createElement("p");
  lead.textContent = detail;
  errorBox.replaceChildren(lead);
  const list = document.createElement("ul");
  let first = null;
  for (const problem of inFormOrder(problems)) {
    const field = String(problem?.field ?? "");
    const message = italian(problem);
    const item = document.createElement("li");
    const input = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (input) {
      const link = document.createElement("a");
      link.href = `#${input.id}`;
      link.textContent = `${labelOf(field)}: ${message}`;
      item.append(link);
      input.setAttribute("aria-invalid", "true");
      const ids = new Set((input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
      if (slot) ids.add(slot.id);
      input.setAttribute("aria-describedby", [...ids].join(" "));
      first ??= input;
    } else {
      item.textContent = `${field}: ${message}`;
    }
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
    }
    list.append(item);
  }
  if (problems.length) errorBox.append(list);
  errorBox.hidden = false;
  errorBox.focus();
}

/** The form's own words for a failed send (api.js's answer), with the fields at fault. */
function describeFailure(result) {
  let detail = result.detail;
  if (result.status === 422) detail = "La segnalazione non è stata inviata: correggere i campi indicati.";
  if (result.status === 401) detail = "Sessione scaduta: accedere di nuovo. La segnalazione non è stata inviata.";
  if (result.status === 413) detail = "Testo troppo lungo: la segnalazione non è stata inviata.";
  return { detail, problems: result.errors, code: result.data?.error };
}

// ---- sending ----

let pending = false;

/** The place's doubts the API answered with (kept, not refused), in Italian, by the case number. */
function showPlaceWarnings(warnings) {
  const box = document.getElementById("referral-done-warnings");
  if (!box) return;
  box.replaceChildren(...warnings.map((warning) => {
    const line = document.createElement("p");
    line.className = "place-warning";
    line.textContent = `Luogo: ${warning.message_it ?? warning.message}`;
    return line;
  }));
  box.hidden = warnings.length === 0;
}

function showDone(answer) {
  const number = document.getElementById("referral-done-number");
  number.textContent = String(answer.case_number ?? "");
  const received = new Date(answer.received_at);
  const when = Number.isNaN(received.getTime()) ? "" : received.toLocaleString("it-IT", { timeZone: TIME_ZONE });
  document.getElementById("referral-done-detail").textContent =
    `Ricevuta${when ? ` il ${when}` : ""}${answer.reference ? ` · vostro riferimento ${answer.reference}` : ""}.`;
  showPlaceWarnings(answer.warnings ?? []);
  form.hidden = true;
  done.hidden = false;
  done.focus();
  announcer.textContent = `Segnalazione ricevuta: numero ${answer.case_number}`;
}

async function send() {
  if (pending) return;
  pending = true;
  clearProblems();
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  idempotencyKey ??= newKey();
  try {
    const response = await api("POST", "/api/v1/referrals", referralBody(), {
      headers: { "Idempotency-Key": idempotencyKey },
      fallback: (status) => `Invio non riuscito (errore ${status}).`,
      fieldErrors: "none",
    });
    if (response.status === 0) throw new Error("unreachable");
    if (response.status === 201) {
      const answer = response.data;
      idempotencyKey = null; // received: the next fill is a new referral
      form.reset();
      showDone(answer);
      upsertRow({ ...answer, updated_at: answer.received_at });
      if (table) reloadSoon(); // the list's row has the category and the summary
      return;
    }
    const failure = describeFailure(response);
    if (response.status === 409 && failure.code === "conflict") {
      // This key was already used for a referral with other data (a lost answer, then an edit).
      idempotencyKey = null;
      failure.detail = "Una segnalazione con questo invio risulta già ricevuta con dati diversi: controllare l'elenco prima di inviare di nuovo.";
    }
    showProblems(failure.detail, failure.problems);
  } catch {
    // The answer may have been lost after the referral was received: the same key makes a resend safe.
    showProblems("Server non raggiungibile. Inviare di nuovo: la segnalazione non verrà duplicata.");
  } finally {
    pending = false;
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    send();
  }
});
form.addEventListener("input", (event) => {
  const field = event.target?.dataset?.field;
  if (!field || event.target.getAttribute("aria-invalid") !== "true") return;
  event.target.removeAttribute("aria-invalid");
  const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  if (slot) slot.hidden = true;
});
document.getElementById("referral-new").addEventListener("click", () => {
  done.hidden = true;
  form.hidden = false;
  clearProblems();
  form.querySelector("select, input")?.focus();
});

// ---- a referrer's own referrals, live ----

const table = document.getElementById("my-referrals");
const tbody = table?.querySelector("tbody");
const empty = document.getElementById("my-referrals-empty");
let labels = {};
try { labels = JSON.parse(page.dataset.labels ?? "{}"); } catch { labels = {}; }

function timeNode(iso) {
  const time = document.createElement("time");
  const date = new Date(iso);
  if (!Number.isNaN(date.getTime())) {
    time.dateTime = date.toISOString();
    time.textContent = date.toLocaleString("it-IT", {
      timeZone: TIME_ZONE, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
    });
  } else {
    time.textContent = "—";
  }
  return time;
}

function timeCell(iso, className, label) {
  const cell = document.createElement("td");
  cell.className = className;
  cell.dataset.label = label;
  cell.append(timeNode(iso));
  return cell;
}

/** The status, its reason (the room's when not pertinent, the referrer's when withdrawn) and
 * when it last changed. */
function statusCell(status, label, reason, updatedIso) {
  const cell = document.createElement("td");
  cell.className = "cell-status";
  cell.dataset.label = "Stato";
  const badge = document.createElement("span");
  badge.className = "status-badge";
  badge.dataset.status = String(status ?? "");
  badge.textContent = String(label ?? labels[status] ?? status ?? "");
  cell.append(badge);
  if (reason) {
    const why = document.createElement("span");
    why.className = "status-reason";
    why.textContent = String(reason);
    cell.append(" ", why);
  }
  if (updatedIso) {
    const since = span("status-since", "Aggiornata ");
    since.append(timeNode(updatedIso));
    cell.append(" ", since);
  }
  return cell;
}

function cell(className, label, ...content) {
  const td = document.createElement("td");
  td.className = className;
  td.dataset.label = label;
  td.append(...content);
  return td;
}

function span(className, text) {
  const node = document.createElement("span");
  node.className = className;
  node.textContent = String(text ?? "");
  return node;
}

/** Put or update one referral's row (newest on top); returns the row. */
function upsertRow(referral) {
  if (!tbody || referral?.id === undefined) return null;
  const id = String(referral.id);
  let row = tbody.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.id = id;
    const number = document.createElement("th");
    number.scope = "row";
    number.className = "case-ref";
    number.dataset.label = "Numero";
    const link = document.createElement("a");
    link.href = `/segnalazioni/${encodeURIComponent(id)}`;
    number.append(link);
    row.append(
      number,
      cell("cell-what", "Categoria e sintesi", span("referral-category", ""), " ", span("referral-summary", "")),
      cell("cell-reference", "Vostro riferimento", referral.reference ? String(referral.reference) : "—"),
      timeCell(referral.received_at, "cell-received", "Ricevuta"),
      statusCell("", "", null, null),
    );
    const before = [...tbody.rows].find((r) => Number(r.dataset.id) < Number(id));
    tbody.insertBefore(row, before ?? null);
  }
  const link = row.querySelector(".case-ref a");
  if (referral.case_number) link.textContent = String(referral.case_number);
  if (referral.trigger_label) row.querySelector(".referral-category").textContent = String(referral.trigger_label);
  if (referral.summary) row.querySelector(".referral-summary").textContent = String(referral.summary);
  const current = row.querySelector(".cell-status");
  const updated = referral.updated_at ?? current.querySelector(".status-since time")?.dateTime ?? null;
  if (referral.status) current.replaceWith(statusCell(referral.status, referral.status_label, referral.reason, updated));
  table.hidden = false;
  empty.hidden = true;
  return row;
}

async function reload() {
  try {
    const response = await fetch("/api/v1/referrals?limit=100", { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    tbody.replaceChildren();
    for (const referral of [...(data.referrals ?? [])].reverse()) upsertRow(referral);
    table.hidden = tbody.rows.length === 0;
    empty.hidden = tbody.rows.length > 0;
  } catch { /* offline: the stream reconnects and asks again */ }
}

let reloadTimer = null;
function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(reload, 300);
}

if (table) {
  const statusEl = document.getElementById("live-status");
  const live = new LiveStream({
    url: "/ws",
    storageKey: `seus.live.lastSeq:${location.pathname}:${page.dataset.user ?? ""}`,
    onSnapshot() { reload(); },
    onEvent(event, { live: isLive } = {}) {
      if (event.type !== "referral.progressed") return;
      const p = event.payload ?? {};
      const known = tbody.querySelector(`tr[data-id="${CSS.escape(String(p.id))}"]`);
      if (!known) reloadSoon(); // entered by phone, or sent from elsewhere: fetch its full row
      const row = upsertRow({
        id: p.id, case_number: p.case_number, status: p.status, reason: p.reason, updated_at: event.at, received_at: event.at,
      });
      if (row && isLive) {
        row.classList.add("is-new");
        setTimeout(() => row.classList.remove("is-new"), 4000);
        announcer.textContent = `${p.case_number}: ${labels[p.status] ?? p.status}`;
      }
    },
    onStatus(status) {
      statusEl.dataset.status = status;
      statusEl.textContent = LIVE_STATUS_LABELS[status] ?? status;
    },
  });
  live.start();
}
