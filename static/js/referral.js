// One of a referrer's own referrals (/segnalazioni/{id}): its status live (referral.progressed),
// new information (POST /api/v1/referrals/{id}/addenda, one Idempotency-Key per text, kept until
// a 201), and a withdrawal with a reason (POST .../withdraw). Free text is set with textContent.
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { TIME_ZONE, announce, el } from "./lib/format.js";
import { LIVE_STATUS_LABELS, PROGRESS_LABELS } from "./lib/labels.js";

const page = document.getElementById("referral-page");
const $ = (id) => document.getElementById(id);
const referralId = Number(page.dataset.referralId);
const ENDED = new Set(["closed", "not_pertinent", "withdrawn"]);

function say(text) {
  announce($("referral-announcer"), text);
}

function romeDateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  return date.toLocaleString("it-IT", {
    timeZone: TIME_ZONE, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // plain http: no randomUUID
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- the status ----

function showStatus(status, reason, at) {
  page.dataset.status = status;
  const badge = $("referral-status");
  badge.dataset.status = status;
  badge.textContent = PROGRESS_LABELS[status] ?? status;
  $("referral-reason").textContent = reason ? String(reason) : "";
  $("referral-reason").hidden = !reason;
  if (at) {
    $("referral-updated").dateTime = new Date(at).toISOString();
    $("referral-updated").textContent = romeDateTime(at);
  }
  if (ENDED.has(status)) {
    closeForm("addendum-form", "add-closed", status === "withdrawn"
      ? "La segnalazione è stata ritirata: non si possono aggiungere informazioni."
      : "La segnalazione è chiusa: non si possono aggiungere informazioni.");
    closeForm("withdraw-form", "withdraw-closed", status === "withdrawn"
      ? "La segnalazione è già stata ritirata." : "La segnalazione è chiusa: non si può ritirare.");
  }
}

function closeForm(formId, noteId, text) {
  $(formId).hidden = true;
  $(noteId).textContent = text;
  $(noteId).hidden = false;
}

async function reread() {
  const result = await api("GET", `/api/v1/referrals/${referralId}`);
  if (result.ok) showStatus(result.data.status, result.data.reason, result.data.updated_at);
}

// ---- field errors, in Italian ----

const MESSAGES = {
  missing: "Campo obbligatorio.",
  blank: "Campo obbligatorio.",
  string_too_short: "Campo obbligatorio.",
  string_too_long: "Testo troppo lungo.",
  control_characters: "Il testo contiene caratteri non ammessi.",
};

function fieldError(input, errorId, text) {
  const slot = $(errorId);
  slot.textContent = text ?? "";
  slot.hidden = !text;
  if (text) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  } else {
    input.removeAttribute("aria-invalid");
  }
}

function problemText(result, field) {
  const problem = result.errors.find((p) => p.field === field) ?? result.errors[0];
  if (result.status === 422) return MESSAGES[problem?.type] ?? "Testo non valido.";
  if (result.status === 401) return "Sessione scaduta: accedere di nuovo. Il testo non è stato inviato.";
  if (result.status === 0) return "Server non raggiungibile: inviare di nuovo (nulla verrà duplicato).";
  return result.detail; // the 409s say why in Italian (dispatch/intake.py)
}

// ---- new information ----

const addForm = $("addendum-form");
const addText = $("f-addendum");
let addKey = null; // one per text, kept until it is received: a resend makes no duplicate
let sending = false;

function addAddendum(addendum) {
  const list = $("addenda");
  if (list.querySelector(`li[data-id="${CSS.escape(String(addendum.id))}"]`)) return;
  const item = el("li");
  item.dataset.id = String(addendum.id);
  item.append(
    el("p", "addendum-meta", `${romeDateTime(addendum.added_at)} · ${addendum.author_name ?? ""}`),
    el("p", "addendum-text", String(addendum.text ?? "")),
  );
  list.append(item);
  $("addenda-empty").hidden = true;
}

addText.addEventListener("input", () => { addKey = null; fieldError(addText, "f-addendum-error", ""); });

addForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (sending) return;
  $("addendum-done").hidden = true;
  const text = addText.value;
  if (!text.trim()) {
    fieldError(addText, "f-addendum-error", "Campo obbligatorio.");
    return;
  }
  sending = true;
  addKey ??= newKey();
  const button = addForm.querySelector("button");
  button.disabled = true;
  try {
    const result = await api("POST", `/api/v1/referrals/${referralId}/addenda`, { text }, {
      headers: { "Idempotency-Key": addKey }, fieldErrors: "none",
    });
    if (result.status === 201) {
      addKey = null;
      addText.value = "";
      fieldError(addText, "f-addendum-error", "");
      addAddendum(result.data);
      $("addendum-done").textContent = "Informazioni inviate: la centrale operativa le vede subito.";
      $("addendum-done").hidden = false;
      say("Informazioni inviate alla centrale operativa.");
      return;
    }
    if (result.status === 409 && result.data?.error === "conflict") addKey = null;
    fieldError(addText, "f-addendum-error", problemText(result, "text"));
    if (result.status === 409) reread();
  } finally {
    sending = false;
    button.disabled = false;
  }
});

// ---- withdrawal ----

const withdrawForm = $("withdraw-form");
const reason = $("f-withdraw-reason");
reason.addEventListener("input", () => fieldError(reason, "f-withdraw-reason-error", ""));

withdrawForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (sending) return;
  if (!reason.value.trim()) {
    fieldError(reason, "f-withdraw-reason-error", "Indicare il motivo del ritiro.");
    return;
  }
  sending = true;
  const button = withdrawForm.querySelector("button");
  button.disabled = true;
  try {
    const result = await api("POST", `/api/v1/referrals/${referralId}/withdraw`, { reason: reason.value }, {
      fieldErrors: "none",
    });
    if (result.ok) {
      showStatus(result.data.status, result.data.reason, result.data.updated_at);
      say("Segnalazione ritirata.");
      return;
    }
    if (result.status === 409) {
      // no longer possible (a unit was sent meanwhile...): the form gives way to the reason
      fieldError(reason, "f-withdraw-reason-error", "");
      closeForm("withdraw-form", "withdraw-closed", result.detail);
      $("withdraw-closed").classList.add("is-refused");
      say(result.detail);
      reread();
      return;
    }
    const text = result.status === 422 && result.errors.some((p) => p.field === "reason")
      ? "Indicare il motivo del ritiro." : problemText(result, "reason");
    fieldError(reason, "f-withdraw-reason-error", text);
  } finally {
    sending = false;
    button.disabled = false;
  }
});

// ---- live ----

showStatus(page.dataset.status, $("referral-reason").textContent, null);
const statusEl = $("live-status");
const live = new LiveStream({
  url: "/ws",
  storageKey: `seus.live.lastSeq:${location.pathname}:${page.dataset.user ?? ""}`,
  onSnapshot() { reread(); },
  onEvent(event) {
    if (event.type !== "referral.progressed" || Number(event.payload?.id) !== referralId) return;
    const p = event.payload;
    const changed = p.status !== page.dataset.status;
    showStatus(p.status, p.reason, event.at);
    if (changed) say(`Stato: ${PROGRESS_LABELS[p.status] ?? p.status}`);
  },
  onStatus(status) {
    statusEl.dataset.status = status;
    statusEl.textContent = LIVE_STATUS_LABELS[status] ?? status;
  },
});
live.start();
