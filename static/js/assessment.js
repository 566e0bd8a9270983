// A referral's assessment (/coda/{id}): claim, assess, decide; live holder and outcome.
// The page is rendered with its `as_of`; the live stream resumes after it and applies the
// referral's events (lib/follow.js); a snapshot (too far behind) reads the page again.
// "Tempi": the referral's open SLA clocks (presa visione, valutazione), read from
// GET /api/v1/clocks and kept by the clock.* events; each counts down here once a second and
// says its state in a word. "Possibili doppioni": GET …/merge-candidates, each with its reasons;
// merging is picking one ("Unisci a SEUS-…", then a confirmation).
// "Informazioni aggiunte dal segnalante": rendered with the page, then each
// referral.addendum_added of this referral (or of one merged into it) is added from its payload.
// A referral merged into this one brings its additions: the list is read again from this page.
// referral.withdrawn: the alert with when and why, the form and the claim go.
// Free text is always set with textContent.
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { ClockFeed, ClockSet, badge, describe, refreshBadges } from "./lib/clocks.js";
import { Follow, resumeAt } from "./lib/follow.js";
import { TIME_ZONE, announce, el } from "./lib/format.js";
import { LIVE_STATUS_LABELS, REFERRAL_STATUS_LABELS } from "./lib/labels.js";

const DECISION_KEYS = { a: "activate", n: "not_pertinent", r: "redirect", u: "merge" };
const URGENCY_KEYS = { 1: "rosso", 2: "giallo", 3: "verde" };
// A clock's state in words (colour is never the only cue).
const CLOCK_WORDS = { ok: "In tempo", warn: "In scadenza", late: "Tempo scaduto", paused: "In pausa" };

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
let candidates = []; // the possible duplicates as last read
let confirming = null; // the id of the candidate whose merge awaits confirmation

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
  $("withdrawn-alert").hidden = state.status !== "withdrawn";
  page.querySelector(".referral-times").hidden = !open(); // a decided referral has no clocks
  if (state.caseId) {
    $("case-link").href = `/casi/${state.caseId}`;
    $("outcome-case").hidden = false;
  }
  renderCandidates();
}

function apply(event) {
  const p = event.payload ?? {};
  if (event.type === "referral.addendum_added" && (p.id === referralId || p.merged_into === referralId)) {
    addAddendum(p);
    return;
  }
  if (p.id !== referralId) {
    // another referral arrived, or one left the list (merged): the possible duplicates change
    if (event.type === "referral.received" || (event.type === "referral.decided" && p.status === "merged")) {
      rereadCandidates();
    }
    // one merged into this referral brings what its referrer added: read the list again
    if (event.type === "referral.decided" && p.merged_into === referralId) rereadAddenda().catch(() => {});
    return;
  }
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
      outcomeDetail(p);
      say(`Decisione presa da ${p.by_name}: ${REFERRAL_STATUS_LABELS[p.status] ?? p.status}.`);
      break;
    case "referral.withdrawn":
      withdrawn(p); // shows the page itself
      return;
    default:
      return;
  }
  show();
}

/** "05/12/2026 08:10" in Rome, as the server writes the page's times. */
function dateTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "—";
  return date.toLocaleString("it-IT", {
    timeZone: TIME_ZONE, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
  }).replace(", ", " ");
}

/** One more piece of information from the referrer (an event's payload), once, at the end. */
function addAddendum(p) {
  const list = $("addenda");
  const id = String(p.addendum_id ?? "");
  if (id && list.querySelector(`li[data-id="${CSS.escape(id)}"]`)) return;
  const item = el("li", "addendum");
  item.dataset.id = id;
  const at = el("time", "", dateTime(p.at));
  at.dateTime = String(p.at ?? "");
  const meta = el("p", "addendum-meta");
  meta.append(at, " · ", el("span", "addendum-author", p.author_name ?? p.referrer_name ?? "il segnalante"));
  if (p.id !== referralId && p.case_number) meta.append(` · su ${p.case_number}`);
  item.append(meta, el("p", "addendum-text", String(p.body ?? "")));
  list.append(item);
  $("addenda-empty").hidden = true;
  say(`Nuove informazioni dal segnalante: ${String(p.body ?? "")}`);
}

/** The list as the server renders it now (this page read again), for addenda not seen live. */
async function rereadAddenda() {
  const response = await fetch(location.pathname, { credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const items = fresh.querySelectorAll("#addenda > li");
  const list = $("addenda");
  for (const item of items) {
    if (!list.querySelector(`li[data-id="${CSS.escape(item.dataset.id ?? "")}"]`)) list.append(document.adoptNode(item));
  }
  const ordered = [...list.children].sort((a, b) => Number(a.dataset.id) - Number(b.dataset.id));
  list.replaceChildren(...ordered);
  $("addenda-empty").hidden = list.children.length > 0;
}

/** The referrer withdrew the referral: say when and why; nothing is left to assess. */
function withdrawn(p) {
  const wasInForm = form.contains(document.activeElement);
  state.status = "withdrawn";
  const text = `Segnalazione ritirata dal segnalante il ${dateTime(p.at)} — Motivo: ${p.reason || "non indicato"}`;
  $("withdrawn-text").textContent = text;
  $("outcome-text").textContent = REFERRAL_STATUS_LABELS.withdrawn;
  $("outcome-detail").textContent = "";
  confirming = null;
  show();
  if (wasInForm) $("withdrawn-alert").focus();
}

/** The outcome's detail after a live decision: where it was redirected, or what it joined. */
function outcomeDetail(p) {
  const detail = $("outcome-detail");
  if (p.redirect_to) detail.textContent = `Reindirizzata a ${p.redirect_to}.`;
  else if (p.merged_into) {
    const target = candidates.find((c) => c.id === p.merged_into);
    const link = el("a", "", target ? target.case_number : "apri la segnalazione");
    link.href = `/coda/${p.merged_into}`;
    detail.replaceChildren(target ? "Unita alla segnalazione " : "Unita a un'altra segnalazione: ", link, ".");
  } else detail.textContent = "";
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
  $("decide-button").hidden = decision === "merge"; // a merge is confirmed on its candidate
}

form.addEventListener("change", (change) => { if (change.target.name === "decision") decisionFields(); });

function body(decision = chosen("decision"), mergeInto = null) {
  return {
    decision,
    reason: decision === "merge" ? null : text("reason"),
    redirect_to: decision === "redirect" ? text("redirect_to") : null,
    merge_into: decision === "merge" ? mergeInto : null,
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
  if (chosen("decision") === "merge") {
    showError(box, { detail: "Per unire, scegli la segnalazione tra i possibili doppioni: «Unisci a …»." }, 0);
    return;
  }
  await decide(body(), box);
});

/** Send the decision: to the case when one opened, else back to the queue; a refusal is returned. */
async function decide(decision, box) {
  busy = true;
  form.setAttribute("aria-busy", "true");
  try {
    const result = await call(`/api/v1/referrals/${referralId}/decision`, decision);
    if (result.ok) {
      location.assign(result.data.case_id ? `/casi/${result.data.case_id}` : "/coda");
      return;
    }
    showError(box, result.data, result.status);
    markInvalid(Array.isArray(result.data?.errors) ? result.data.errors.map((e) => e.field) : []);
    return result;
  } catch {
    showError(box, { detail: "Server non raggiungibile: decisione non inviata." }, 0);
  } finally {
    busy = false;
    form.removeAttribute("aria-busy");
  }
}

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

// ---- possible duplicates: merging is picking one ----

function when(iso) {
  return new Date(iso).toLocaleString("it-IT", { timeZone: TIME_ZONE, day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
}

async function loadCandidates() {
  const empty = $("candidates-empty");
  const response = await fetch(`/api/v1/referrals/${referralId}/merge-candidates`, { credentials: "same-origin" });
  if (!response.ok) { empty.textContent = "Suggerimenti non disponibili."; return; }
  const picked = candidates.find((c) => c.id === confirming);
  ({ candidates } = await response.json());
  empty.textContent = "Nessun possibile doppione.";
  empty.hidden = candidates.length > 0;
  renderCandidates();
  if (picked && !candidates.some((c) => c.id === picked.id)) {
    showError($("merge-error"), { detail: `${picked.case_number} non è più tra i possibili doppioni (nel frattempo unita a un'altra segnalazione, o ce ne sono di più simili): nessuna unione fatta.` }, 0);
  }
}

let rereading = null;

/** Read the possible duplicates again soon (once for a burst of events). */
function rereadCandidates() {
  if (rereading !== null || !open()) return;
  rereading = setTimeout(() => {
    rereading = null;
    loadCandidates().catch(() => {});
  }, 1000);
}

function phrases(className, label, items) {
  const list = el("ul", className);
  list.setAttribute("aria-label", label);
  for (const item of items) list.append(el("li", "", item));
  return list;
}

function renderCandidate(c) {
  const item = el("li", "candidate");
  item.dataset.id = String(c.id);
  const title = el("p", "candidate-title");
  const link = el("a", "", c.case_number);
  link.href = `/coda/${c.id}`;
  const place = [c.municipality_name, c.address].filter(Boolean).join(", ");
  title.append(link, ` · ${c.status_label} · ${c.trigger_label} · ${place} · ricevuta ${when(c.received_at)}`);
  item.append(title, phrases("candidate-reasons", "Perché può essere la stessa situazione", c.reasons));
  if (c.differences.length) item.append(phrases("candidate-differences", "Cosa non coincide", c.differences.map((d) => `ma ${d}`)));
  item.append(el("p", "candidate-summary", c.summary));
  if (!mine()) {
    if (open()) item.append(el("p", "hint", "Per unire, prendi in carico la segnalazione."));
    return item;
  }
  if (confirming !== c.id) {
    const pick = el("button", "button candidate-pick", `Unisci a ${c.case_number}`);
    pick.type = "button";
    pick.addEventListener("click", () => {
      confirming = c.id;
      $("merge-error").hidden = true;
      renderCandidates();
      $("candidates").querySelector(".candidate-confirm-yes")?.focus();
    });
    item.append(pick);
    return item;
  }
  const box = el("div", "candidate-confirm");
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", `Conferma l'unione a ${c.case_number}`);
  const question = el("p", "", `Unire ${page.dataset.caseNumber} a ${c.case_number}? Questa segnalazione si chiude come doppione e segue ${c.case_number}; l'ente segnalante ne vedrà lo stato.`);
  const yes = el("button", "button button-primary candidate-confirm-yes", `Sì, unisci a ${c.case_number}`);
  yes.type = "button";
  yes.addEventListener("click", () => { if (!busy) merge(c); });
  const no = el("button", "button", "Annulla");
  no.type = "button";
  no.addEventListener("click", () => {
    confirming = null;
    renderCandidates();
    focusPick(c.id);
  });
  box.append(question, yes, no);
  item.append(box);
  return item;
}

/**
 * Merge into the picked candidate. When refused, the list is read again: it says so if the
 * pick left it (merged meanwhile); a referral no longer ours is said in Italian too.
 */
async function merge(c) {
  const box = $("merge-error");
  box.hidden = true;
  const refused = await decide(body("merge", c.id), box);
  if (!refused || ![404, 409, 422].includes(refused.status) || refused.data?.errors?.length) return;
  await loadCandidates().catch(() => {});
  if (!mine()) showError(box, { detail: "La segnalazione non è più in valutazione da te: nessuna unione fatta." }, refused.status);
}

function focusPick(id) {
  $("candidates").querySelector(`.candidate[data-id="${id}"] .candidate-pick`)?.focus();
}

/** Draw the list again; the focus stays on the candidate it was on (its button, or the confirmation's). */
function renderCandidates() {
  const host = $("candidates");
  if (!candidates.some((c) => c.id === confirming)) confirming = null;
  const within = document.activeElement?.closest?.(".candidate");
  const focusedId = within?.dataset.id;
  const wasConfirming = Boolean(document.activeElement?.closest?.(".candidate-confirm"));
  host.replaceChildren(...candidates.map(renderCandidate));
  if (!focusedId) return;
  const again = host.querySelector(`.candidate[data-id="${focusedId}"]`);
  const target = (wasConfirming && again?.querySelector(".candidate-confirm-yes")) || again?.querySelector(".candidate-pick") || again?.querySelector("a");
  target?.focus();
}

// ---- the referral's clocks (Tempi) ----

const clocks = new ClockSet(() => renderClocks());
const isOwnClock = (clock) => clock.kind === "referral" && Number(clock.key) === referralId;
const feed = new ClockFeed(clocks, {
  url: () => `/api/v1/clocks?referral_id=${referralId}&limit=100`,
  keep: isOwnClock,
});

function renderClocks() {
  const open = clocks.list(isOwnClock);
  $("clocks-empty").textContent = "Nessun tempo in corso.";
  $("clocks-empty").hidden = open.length > 0;
  $("referral-clocks").replaceChildren(...open.map((clock) => {
    const item = el("li", "referral-clock");
    item.dataset.clockId = String(clock.clock_id);
    item.dataset.milestone = clock.milestone;
    const count = badge(clock, { withLabel: false });
    count.dataset.milestone = clock.milestone;
    item.append(el("span", "referral-clock-label", clock.label), " ", count, " ", el("strong", "referral-clock-word"));
    return item;
  }));
  tickClocks();
}

/** Once a second: the countdowns move, and each says its state in a word. */
function tickClocks() {
  const host = $("referral-clocks");
  const now = Date.now();
  refreshBadges(host, now);
  for (const item of host.children) {
    const clock = clocks.byId.get(Number(item.dataset.clockId));
    if (!clock) continue;
    const { level } = describe(clock, now);
    item.dataset.level = level;
    item.querySelector(".referral-clock-word").textContent = CLOCK_WORDS[level] ?? "";
  }
}

// ---- keyboard ----

function choose(decision) {
  const radio = form.querySelector(`input[name="decision"][value="${decision}"]`);
  if (!radio || fields.disabled) return;
  radio.checked = true;
  decisionFields();
  if (decision === "merge") {
    const first = $("candidates").querySelector(".candidate-pick");
    (first ?? $("f-merge")).focus();
    return;
  }
  const next = { not_pertinent: "f-reason", redirect: "f-reason" }[decision];
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
  onSnapshot: (snapshot) => { follow.resync(snapshot); feed.resync(snapshot); },
  onEvent(event) {
    if (String(event.type).startsWith("clock.")) feed.receive(event);
    else follow.receive(event);
  },
  onStatus(status) {
    $("live-status").dataset.status = status;
    $("live-status").textContent = LIVE_STATUS_LABELS[status] ?? status;
  },
});
document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());
decisionFields();
show();
live.start();
feed.read();
setInterval(tickClocks, 1000);
loadCandidates().catch(() => { $("candidates-empty").textContent = "Suggerimenti non disponibili."; });
loadOperators().catch(() => {});
