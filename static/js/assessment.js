// A referral's assessment (/coda/{id}): claim, assess, decide; live holder and outcome.
// The page is rendered with its `as_of`; the live stream resumes after it and applies the
// referral's events (lib/follow.js); a snapshot (too far behind) reads the page again.
// Free text is always set with textContent.
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { Follow, resumeAt } from "./lib/follow.js";
import { TIME_ZONE, announce, el } from "./lib/format.js";
import { LIVE_STATUS_LABELS, REFERRAL_STATUS_LABELS } from "./lib/labels.js";

const DECISION_KEYS = { a: "activate", n: "not_pertinent", r: "redirect", u: "merge" };
const URGENCY_KEYS = { 1: "rosso", 2: "giallo", 3: "verde" };

const page = document.getElementById("assessment-page");
const $ = (id) => document.getElementById(id);
const form = $("assessment-form");
const fields = $("assessment-fields");
const referralId = Number(page.dataset.referralId);
const userId = Number(page.dataset.userId);
const canReassign = page.dataset.canReassign === "true";
const seqKey = `seus.assessment.lastSeq:${referralId}:${page.dataset.user || ""}`;

const state = {
  status: page.dataset.status,
  holderId: page.dataset.holderId ? Number(page.dataset.holderId) : null,
  holderName: page.dataset.holderName || null,
  caseId: page.dataset.caseId ? Number(page.dataset.caseId) : null,
};
let busy = false;

function say(text) {
  announce($("state-announcer"), text);
}

// ---- what the page shows follows the state ----

function mine() { return state.status === "in_assessment" && state.holderId === userId; }
function open() { return state.status === "received" || state.status === "in_assessment"; }

function show() {
  const status = $("referral-status");
  status.dataset.status = state.status;
  status.textContent = REFERRAL_STATUS_LABELS[state.status] ?? state.status;
  let holder = "";
  if (state.status === "in_assessment") holder = mine() ? "in valutazione da te" : `in valutazione da ${state.holderName ?? "un altro operatore"}`;
  $("referral-holder").textContent = holder;
  $("claim-button").hidden = state.status !== "received";
  $("release-button").hidden = !mine();
  const reassign = $("reassign-form");
  if (reassign) reassign.hidden = !(canReassign && open());
  fields.disabled = !mine();
  $("form-locked").hidden = mine() || !open();
  $("outcome").hidden = open();
  if (state.caseId) {
    $("case-link").href = `/casi/${state.caseId}`;
    $("outcome-case").hidden = false;
  }
}

function apply(event) {
  const p = event.payload ?? {};
  if (p.id !== referralId) return;
  switch (event.type) {
    case "referral.claimed":
    case "referral.reassigned":
      Object.assign(state, { status: "in_assessment", holderId: p.holder_id, holderName: p.holder_name });
      if (event.type === "referral.reassigned" && p.from === userId && p.to !== userId) {
        say(`Segnalazione riassegnata a ${p.to_name}.`);
      } else if (p.holder_id !== userId) {
        say(`In valutazione da ${p.holder_name}.`);
      }
      break;
    case "referral.released":
      Object.assign(state, { status: "received", holderId: null, holderName: null });
      say("Segnalazione tornata in coda.");
      break;
    case "referral.decided":
      state.status = p.status;
      state.caseId = p.case_id ?? null;
      $("outcome-text").textContent = (REFERRAL_STATUS_LABELS[p.status] ?? p.status) + (p.reason ? `: ${p.reason}` : "");
      $("outcome-detail").textContent = p.redirect_to ? `Reindirizzata a ${p.redirect_to}.`
        : p.merged_into ? `Unita alla segnalazione n. ${p.merged_into}.` : "";
      say(`Decisione presa da ${p.by_name}: ${REFERRAL_STATUS_LABELS[p.status] ?? p.status}.`);
      break;
    default:
      return;
  }
  show();
}

// ---- calls ----

async function call(path, body) {
  const result = await api("POST", path, body ?? {});
  if (result.status === 0) throw new Error("unreachable"); // each caller says what was not done
  return result;
}

function showError(box, data, status) {
  const lead = el("p", "", typeof data?.detail === "string" ? data.detail : `Operazione non riuscita (errore ${status}).`);
  box.replaceChildren(lead);
  const problems = Array.isArray(data?.errors) ? data.errors : [];
  if (problems.length) {
    const list = el("ul");
    for (const problem of problems) list.append(el("li", "", String(problem.message ?? "")));
    box.append(list);
  }
  box.hidden = false;
  box.focus?.();
}

async function act(path, body, after) {
  if (busy) return;
  busy = true;
  $("action-error").hidden = true;
  try {
    const result = await call(path, body);
    if (result.ok) after?.(result.data);
    else showError($("action-error"), result.data, result.status);
  } catch {
    showError($("action-error"), { detail: "Server non raggiungibile: operazione non riuscita." }, 0);
  } finally {
    busy = false;
  }
}

function claim() {
  act(`/api/v1/referrals/${referralId}/claim`, null, (data) => {
    Object.assign(state, { status: data.status, holderId: data.holder_id, holderName: data.holder_name });
    show();
    form.querySelector('input[name="urgency"]')?.focus();
  });
}

function release() {
  act(`/api/v1/referrals/${referralId}/release`, {}, () => location.assign("/coda"));
}

$("claim-button").addEventListener("click", claim);
$("release-button").addEventListener("click", release);

// ---- the decision ----

function chosen(name) { return form.querySelector(`input[name="${name}"]:checked`)?.value ?? null; }
function checked(name) { return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value); }
function text(name) { const value = form.elements.namedItem(name).value.trim(); return value || null; }

function decisionFields() {
  const decision = chosen("decision");
  $("reason-field").hidden = !["not_pertinent", "redirect"].includes(decision);
  $("redirect-field").hidden = decision !== "redirect";
  $("merge-field").hidden = decision !== "merge";
}

form.addEventListener("change", (change) => { if (change.target.name === "decision") decisionFields(); });

function body() {
  const decision = chosen("decision");
  const merge = Number(form.elements.namedItem("merge_into").value);
  return {
    decision,
    reason: text("reason"),
    redirect_to: decision === "redirect" ? text("redirect_to") : null,
    merge_into: decision === "merge" && merge > 0 ? merge : null,
    assessment: {
      trigger: form.elements.namedItem("trigger").value,
      urgency: chosen("urgency"),
      risk_factors: checked("risk_factors"),
      people: { count: Number(form.elements.namedItem("count").value) || 1, minors: Number(form.elements.namedItem("minors").value) || 0 },
      needs: checked("needs"),
      skills: checked("skills"),
      language: text("language"),
      notes: form.elements.namedItem("notes").value,
    },
  };
}

const FIELD_INPUTS = {
  "assessment.urgency": 'input[name="urgency"]',
  reason: "#f-reason",
  redirect_to: "#f-redirect",
  merge_into: "#f-merge",
  decision: 'input[name="decision"]',
};

/** Mark the fields the server refused and put the focus on the first one. */
function markInvalid(names) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const inputs = names.map((name) => form.querySelector(FIELD_INPUTS[name] ?? `[name="${CSS.escape(name.split(".").pop())}"]`)).filter(Boolean);
  for (const input of inputs) input.setAttribute("aria-invalid", "true");
  inputs[0]?.focus();
}

form.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const box = $("decision-error");
  box.hidden = true;
  if (!mine() || busy) return;
  if (!chosen("decision")) {
    showError(box, { detail: "Scegli una decisione." }, 0);
    return;
  }
  busy = true;
  form.setAttribute("aria-busy", "true");
  try {
    const result = await call(`/api/v1/referrals/${referralId}/decision`, body());
    if (result.ok) {
      location.assign(result.data.case_id ? `/casi/${result.data.case_id}` : "/coda");
      return;
    }
    showError(box, result.data, result.status);
    markInvalid(Array.isArray(result.data?.errors) ? result.data.errors.map((e) => e.field) : []);
  } catch {
    showError(box, { detail: "Server non raggiungibile: decisione non inviata." }, 0);
  } finally {
    busy = false;
    form.removeAttribute("aria-busy");
  }
});

// ---- reassignment (supervisors) ----

async function loadOperators() {
  const select = $("reassign-operator");
  if (!select) return;
  const response = await fetch("/api/v1/operators", { credentials: "same-origin" });
  if (!response.ok) return;
  const { operators } = await response.json();
  for (const operator of operators) {
    const option = el("option", "", `${operator.name}${operator.role === "supervisor" ? " (supervisore)" : ""}`);
    option.value = String(operator.id);
    select.append(option);
  }
}

$("reassign-form")?.addEventListener("submit", (submit) => {
  submit.preventDefault();
  const operator = Number($("reassign-operator").value);
  if (!operator) return;
  const reason = $("reassign-reason").value.trim() || null;
  act(`/api/v1/referrals/${referralId}/reassign`, { operator_id: operator, reason }, (data) => {
    Object.assign(state, { status: data.status, holderId: data.holder_id, holderName: data.holder_name });
    $("reassign-reason").value = "";
    show();
  });
});

// ---- merge candidates ----

function when(iso) {
  return new Date(iso).toLocaleString("it-IT", { timeZone: TIME_ZONE, day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
}

async function loadCandidates() {
  const empty = $("candidates-empty");
  const response = await fetch(`/api/v1/referrals/${referralId}/merge-candidates`, { credentials: "same-origin" });
  if (!response.ok) { empty.textContent = "Suggerimenti non disponibili."; return; }
  const { candidates } = await response.json();
  empty.textContent = "Nessuna segnalazione simile.";
  empty.hidden = candidates.length > 0;
  $("candidates").replaceChildren(...candidates.map((c) => {
    const item = el("li", "candidate");
    const title = el("p", "candidate-title");
    const link = el("a", "", c.case_number);
    link.href = `/coda/${c.id}`;
    title.append(link, ` · ${c.status_label} · ${c.trigger_label} · ${c.municipality_name} · ${when(c.received_at)}`);
    const pick = el("button", "button button-quiet", "Unisci a questa");
    pick.type = "button";
    pick.setAttribute("aria-label", `Unisci a ${c.case_number}`);
    pick.addEventListener("click", () => {
      choose("merge");
      form.elements.namedItem("merge_into").value = String(c.id);
      $("decide-button").focus();
    });
    item.append(title, el("p", "candidate-reasons", c.reasons.join("; ")), el("p", "candidate-summary", c.summary), pick);
    return item;
  }));
}

// ---- keyboard ----

function choose(decision) {
  const radio = form.querySelector(`input[name="decision"][value="${decision}"]`);
  if (!radio || fields.disabled) return;
  radio.checked = true;
  decisionFields();
  const next = { not_pertinent: "f-reason", redirect: "f-reason", merge: "f-merge" }[decision];
  (next ? $(next) : $("decide-button")).focus();
}

document.addEventListener("keydown", (key) => {
  if (key.key === "Enter" && (key.ctrlKey || key.metaKey) && form.contains(key.target)) {
    key.preventDefault();
    form.requestSubmit();
    return;
  }
  if (key.ctrlKey || key.metaKey || key.altKey) return;
  if (key.target.closest?.("input[type=text], input[type=number], textarea, select, [contenteditable]")) return;
  if (DECISION_KEYS[key.key]) { key.preventDefault(); choose(DECISION_KEYS[key.key]); return; }
  if (URGENCY_KEYS[key.key] && !fields.disabled) {
    const radio = form.querySelector(`input[name="urgency"][value="${URGENCY_KEYS[key.key]}"]`);
    radio.checked = true;
    radio.focus();
    return;
  }
  if (key.key === "p" && state.status === "received") claim();
  else if (key.key === "l" && mine()) release();
  else if (key.key === "q") location.assign("/coda");
});

// ---- start: follow the log after the page's as_of ----

const follow = new Follow({
  load() {
    location.reload(); // too far behind to replay: read the page again
    return null;
  },
  apply,
});
follow.since(page.dataset.asOf);
resumeAt(seqKey, follow.seq);
const live = new LiveStream({
  storageKey: seqKey,
  onSnapshot: (snapshot) => follow.resync(snapshot),
  onEvent: (event) => follow.receive(event),
  onStatus(status) {
    $("live-status").dataset.status = status;
    $("live-status").textContent = LIVE_STATUS_LABELS[status] ?? status;
  },
});
document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());
decisionFields();
show();
live.start();
loadCandidates().catch(() => { $("candidates-empty").textContent = "Suggerimenti non disponibili."; });
loadOperators().catch(() => {});
