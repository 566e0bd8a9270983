// The territorial service's page (/passaggi): its zone's handovers, live, each with its
// dossier (always rendered as text), accept, or reject with a reason. The list is read with its
// `as_of`; a handover event after it reads it again (lib/follow.js).
import { LiveStream } from "./lib/live.js";
import { api as callApi } from "./lib/api.js";
import { Follow, resumeAt } from "./lib/follow.js";
import { TIME_ZONE, announce as say, el } from "./lib/format.js";
import { LIVE_STATUS_LABELS } from "./lib/labels.js";

const LOAD_DELAY_MS = 100;
const RETRY_MS = 3000;

const $ = (id) => document.getElementById(id);
const page = $("handovers-page");
const user = page.dataset.user || "";
const labels = JSON.parse($("handover-labels")?.textContent || "{}");
const seqKey = `seus.handovers.lastSeq:${user}`;
const filter = $("handover-filter");

function label(table, code) {
  if (code === null || code === undefined || code === "") return "";
  return labels[table]?.[code] ?? String(code);
}

function when(iso) {
  const node = el("time", "when");
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) {
    node.textContent = "—";
    return node;
  }
  node.dateTime = date.toISOString();
  node.textContent = date.toLocaleString("it-IT", { timeZone: TIME_ZONE, dateStyle: "short", timeStyle: "short" });
  return node;
}

function api(method, url, body) {
  return callApi(method, url, body, { fieldErrors: "message" });
}

function announce(text) {
  say($("live-announcer"), text);
}

function showError(message) {
  $("handovers-error").textContent = message;
  $("handovers-error").hidden = !message;
}

function section(title, content) {
  const box = el("div");
  box.append(el("h4", "", title));
  box.append(content);
  return box;
}

function list(items, empty = "—") {
  const ul = el("ul");
  for (const item of items) ul.append(el("li", "", item));
  if (!items.length) ul.append(el("li", "", empty));
  return ul;
}

function renderDossier(d) {
  const box = el("div", "dossier");
  const who = d.who ?? {};
  const people = [who.count === 1 ? "1 persona" : `${who.count ?? "?"} persone`];
  if (who.minors) people.push(`di cui ${who.minors} ${who.minors === 1 ? "minore" : "minori"}`);
  if (who.age_band) people.push(label("age_band", who.age_band));
  if (who.sex) people.push(label("sex", who.sex));
  if (who.language) people.push(`lingua: ${label("language", who.language)}`);
  if (who.needs_mediator) people.push("serve un mediatore culturale");
  if (who.residence) people.push(`residente a ${who.residence}`);
  const place = d.place ?? {};
  box.append(section("Chi", el("p", "item-text", people.filter(Boolean).join(", "))));
  box.append(section("Situazione", el("p", "item-text",
    `${d.trigger ?? ""} · codice ${label("urgency", d.urgency).toLowerCase()} · ${[place.municipality, place.address].filter(Boolean).join(", ")}`)));
  box.append(section("Cosa è successo", el("p", "item-text", d.what_happened ?? "")));
  if (d.risks) box.append(section("Fattori di rischio", list(d.risks, "Nessuno indicato")));
  if (d.notes?.length) {
    box.append(section("Note della centrale per il passaggio",
      list(d.notes.map((n) => `${n.at} ${n.author}: ${n.text}`))));
  }
  box.append(section("Cosa è stato fatto", list(d.done ?? [])));
  box.append(section("Risorse attive", list((d.booked ?? []).map((b) =>
    `${b.type_label ?? label("resource", b.type)}${b.name ? `: ${b.name}` : ""} (${b.provider ?? ""}) · ${label("booking", b.status)} · quantità ${b.quantity ?? 1}`),
  "Nessuna risorsa confermata")));
  box.append(section("Bisogni ancora aperti",
    list((d.open_needs ?? []).map((n) => label("resource", n)), "Nessuno")));
  return box;
}

/** The rejection a handover follows, and the room's reply: why it comes to this service. */
function renderPrevious(h) {
  const p = h.previous;
  const box = el("div", "alert handover-previous");
  box.append(el("p", "", `Inviato di nuovo dopo il rifiuto della zona ${p.zone_name}`));
  if (p.reason) box.append(el("p", "item-text", `Motivo del rifiuto: ${p.reason}`));
  if (p.reply) box.append(el("p", "item-text handover-reply", `Risposta della centrale: ${p.reply}`));
  return box;
}

function renderHandover(h) {
  const item = el("li", `item handover is-${h.status}`);
  item.dataset.handoverId = String(h.id);
  const head = el("p", "item-head");
  head.append(el("strong", "", `Caso ${h.case_number}`), " ", el("span", "status-badge", h.status_label));
  item.append(head);
  const meta = el("p", "item-meta");
  meta.append("inviato ", when(h.sent_at));
  if (h.sent_by) meta.append(` da ${h.sent_by.name} (centrale operativa)`);
  if (h.decided_at) {
    meta.append(` · ${h.status === "accepted" ? "accettato" : "respinto"} `, when(h.decided_at));
    if (h.decided_by) meta.append(` da ${h.decided_by.name}`);
  }
  item.append(meta);
  if (h.reason) item.append(el("p", "item-text", `Motivo del rifiuto: ${h.reason}`));
  if (h.reply) {
    const reply = el("p", "item-text handover-reply", `Risposta della centrale: ${h.reply}`);
    if (h.replied_at) reply.append(" (", when(h.replied_at), ")");
    item.append(reply);
  }
  if (h.previous) item.append(renderPrevious(h));
  item.append(renderDossier(h.dossier ?? {}));
  if (h.status === "sent") item.append(renderActions(h));
  return item;
}

function renderActions(h) {
  const box = el("div");
  const row = el("div", "button-row");
  const accept = el("button", "button button-primary", "Accetta");
  accept.type = "button";
  const reject = el("button", "button", "Respingi…");
  reject.type = "button";
  reject.setAttribute("aria-expanded", "false");
  row.append(accept, reject);
  box.append(row);

  const form = el("form", "form-stack reject-form");
  form.hidden = true;
  const field = el("div", "field");
  const inputId = `reject-reason-${h.id}`;
  const lab = el("label", "", "Motivo del rifiuto (obbligatorio)");
  lab.htmlFor = inputId;
  const reason = el("textarea");
  reason.id = inputId;
  reason.rows = 3;
  reason.maxLength = 2000;
  reason.required = true;
  field.append(lab, reason);
  const submit = el("button", "button", "Conferma il rifiuto");
  submit.type = "submit";
  form.append(field, submit);
  box.append(form);
  reject.setAttribute("aria-controls", inputId);

  accept.addEventListener("click", async () => {
    accept.disabled = true;
    const result = await api("POST", `/api/v1/handovers/${h.id}/accept`);
    if (result.ok) announce(`Caso ${h.case_number} accettato`);
    else showError(result.detail);
    accept.disabled = false;
    scheduleLoad();
  });
  reject.addEventListener("click", () => {
    form.hidden = !form.hidden;
    reject.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) reason.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text) {
      reason.setCustomValidity("Indicate il motivo del rifiuto.");
      reason.reportValidity();
      return;
    }
    submit.disabled = true;
    const result = await api("POST", `/api/v1/handovers/${h.id}/reject`, { reason: text });
    submit.disabled = false;
    if (result.ok) announce(`Caso ${h.case_number} respinto`);
    else showError(result.detail);
    scheduleLoad();
  });
  reason.addEventListener("input", () => reason.setCustomValidity(""));
  return box;
}

async function load() {
  const [shown, pending] = await Promise.all([
    api("GET", `/api/v1/handovers?status=${encodeURIComponent(filter.value)}`),
    api("GET", "/api/v1/handovers?status=sent"),
  ]);
  if (!shown.ok) throw new Error(shown.detail);
  return { as_of: shown.data.as_of, shown: shown.data.handovers, pending: pending.ok ? pending.data.handovers : null };
}

function renderList({ shown, pending }) {
  showError("");
  // Keep a half-written rejection: do not re-render a card whose form is being filled in.
  const host = $("handover-list");
  const busy = new Map();
  for (const card of host.children) {
    const area = card.querySelector("textarea");
    if (area && (area.value || document.activeElement === area)) busy.set(card.dataset.handoverId, card);
  }
  const items = shown.map((h) => busy.get(String(h.id)) && h.status === "sent"
    ? busy.get(String(h.id))
    : renderHandover(h));
  host.replaceChildren(...items);
  $("handovers-empty").textContent = "Nessun passaggio da mostrare.";
  $("handovers-empty").hidden = items.length > 0;
  if (pending) $("pending-count").textContent = String(pending.length);
}

let live = null;

const follow = new Follow({
  load,
  onRead: renderList,
  apply(event) {
    if (!String(event.type).startsWith("handover.")) return;
    if (event.type === "handover.sent") announce(`Nuovo passaggio: caso ${event.payload?.case_number ?? ""}`);
    if (event.type === "handover.replied") announce(`Risposta della centrale: caso ${event.payload?.case_number ?? ""}`);
    scheduleLoad();
  },
  afterRead() {
    if (!live) startLive();
  },
  onError(error) {
    showError(`Impossibile leggere i passaggi: ${error.message}`);
  },
  retryMs: RETRY_MS,
});

function scheduleLoad() {
  follow.reread(LOAD_DELAY_MS);
}

filter.addEventListener("change", scheduleLoad);

function showStatus(status) {
  const node = $("live-status");
  node.dataset.status = status;
  node.textContent = LIVE_STATUS_LABELS[status] ?? status;
}

/** Once the list is read: the stream resumes after its as_of. */
function startLive() {
  resumeAt(seqKey, follow.seq);
  live = new LiveStream({
    url: "/ws",
    storageKey: seqKey,
    onSnapshot: (snapshot) => follow.resync(snapshot),
    onEvent: (event) => follow.receive(event),
    onStatus: showStatus,
  });
  document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());
  live.start();
}

follow.read();
