// The room's queue (/coda): open referrals, live; claim with one key.
// State comes from GET /api/v1/queue with its `as_of`; the live stream resumes after it and
// every later referral event is applied here. Each row also shows its referral's open SLA
// clocks (presa visione, valutazione): read once from GET /api/v1/clocks, then kept by the
// clock.* events; the countdowns are computed here from each deadline, once a second.
// Free text is always set with textContent.
import { LiveStream } from "./live.js";
import { api } from "./api.js";
import { ClockFeed, ClockSet, badge, describe, refreshBadges } from "./clocks.js";
import { STATUS_LABELS, el } from "./format.js";
import { createSound } from "./sound.js";

const URGENCY_RANK = { rosso: 0, giallo: 1, verde: 2 };
const URGENCY_LABELS = { rosso: "Rosso", giallo: "Giallo", verde: "Verde" };
const SOURCE_LABELS = { assessment: "valutato", proposal: "proposto dall'ente", default: "senza proposta" };
const HIGHLIGHT_MS = 6000;
const BEEP_GAP_MS = 1000;
const REFETCH_DELAY_MS = 150;

const root = document.getElementById("queue-page");
const list = document.getElementById("queue-list");
const emptyEl = document.getElementById("queue-empty");
const loadingEl = document.getElementById("queue-loading");
const errorEl = document.getElementById("queue-error");
const countEl = document.getElementById("queue-count");
const statusEl = document.getElementById("live-status");
const announcer = document.getElementById("live-announcer");
const audioToggle = document.getElementById("audio-toggle");
const userId = Number(root.dataset.userId);
const seqKey = `seus.queue.lastSeq:${root.dataset.user || ""}`;
const muteKey = "seus.room.muted"; // shared with the live page: one switch for the room
const baseTitle = document.title;

/** @type {Map<number, object>} open referrals by id */
const entries = new Map();
const fresh = new Map(); // id -> time it arrived (highlighted for a while)
let appliedSeq = 0; // state includes every event up to this seq
let loaded = false;
let fetching = null;
let buffered = [];
let refetchTimer = null;
let clockOffsetMs = 0; // server time - browser time
let selectedId = null;

// ---- storage (may be unavailable: never fatal) ----
function storageSet(storage, key, value) { try { storage.setItem(key, value); } catch { /* ignore */ } }

// ---- loading and applying ----

async function load() {
  const response = await fetch("/api/v1/queue", { credentials: "same-origin" });
  if (response.status === 401) { location.assign(`/login?next=${encodeURIComponent(location.pathname)}`); return null; }
  if (!response.ok) throw new Error(`coda non disponibile (errore ${response.status})`);
  return response.json();
}

/** Replace the state with a fresh read, then apply what arrived meanwhile after its as_of. */
async function refetch() {
  if (fetching) return fetching;
  fetching = (async () => {
    try {
      const data = await load();
      if (!data) return;
      const before = new Set(entries.keys());
      entries.clear();
      for (const entry of data.entries) entries.set(entry.id, entry);
      clockOffsetMs = new Date(data.now).getTime() - Date.now();
      appliedSeq = data.as_of;
      const pending = buffered;
      buffered = [];
      for (const event of pending) applyEvent(event);
      const arrived = loaded ? [...entries.keys()].filter((id) => !before.has(id)) : [];
      loaded = true;
      errorEl.hidden = true;
      render();
      if (arrived.length) alertNew(arrived);
    } catch (error) {
      showError(`Impossibile aggiornare la coda: ${error.message}. Nuovo tentativo tra poco.`);
      setTimeout(scheduleRefetch, 3000);
    } finally {
      fetching = null;
    }
  })();
  return fetching;
}

function scheduleRefetch() {
  clearTimeout(refetchTimer);
  refetchTimer = setTimeout(refetch, REFETCH_DELAY_MS);
}

/** Apply one referral event; returns true when the screen changed. */
function applyEvent(event) {
  if (event.seq <= appliedSeq) return false;
  appliedSeq = event.seq;
  const payload = event.payload ?? {};
  const entry = entries.get(payload.id);
  switch (event.type) {
    case "referral.claimed":
    case "referral.reassigned":
      if (!entry) { scheduleRefetch(); return false; }
      Object.assign(entry, {
        status: "in_assessment", status_label: "In valutazione",
        holder_id: payload.holder_id, holder_name: payload.holder_name, claimed_at: payload.at,
      });
      return true;
    case "referral.released":
      if (!entry) { scheduleRefetch(); return false; }
      Object.assign(entry, { status: "received", status_label: "In attesa", holder_id: null, holder_name: null, claimed_at: null });
      return true;
    case "referral.decided":
      return entries.delete(payload.id);
    default:
      // referral.received and anything else about a referral we do not show: read the queue
      if (String(event.type).startsWith("referral.") && !entry) scheduleRefetch();
      return false;
  }
}

function onEvent(event) {
  if (String(event.type).startsWith("clock.")) { feed.receive(event); return; }
  if (fetching || !loaded) { buffered.push(event); return; }
  if (applyEvent(event)) render();
}

// ---- the referrals' SLA clocks ----

const clocks = new ClockSet(() => { if (loaded) render(); });
const isReferralClock = (clock) => clock.kind === "referral";
const feed = new ClockFeed(clocks, { keep: isReferralClock });

function clocksOf(entry) {
  return clocks.list((c) => isReferralClock(c) && c.key === entry.id);
}

/** "late" when a clock of the referral is past its target, "warn" after a warning, else "". */
function lateness(entry, now) {
  const levels = new Set(clocksOf(entry).map((c) => describe(c, now).level));
  if (levels.has("late")) return "late";
  if (levels.has("warn")) return "warn";
  return "";
}

// ---- rendering ----

function byQueueOrder(a, b) {
  return (URGENCY_RANK[a.urgency] ?? 1) - (URGENCY_RANK[b.urgency] ?? 1)
    || new Date(a.received_at) - new Date(b.received_at) || a.id - b.id;
}

function peopleText(entry) {
  if (entry.people_count == null) return "";
  let text = entry.people_count === 1 ? "1 persona" : `${entry.people_count} persone`;
  if (entry.minors) text += entry.minors === 1 ? ", 1 minore" : `, ${entry.minors} minori`;
  return text;
}

function waitedSeconds(entry) {
  const now = Date.now() + clockOffsetMs;
  return Math.max(0, Math.floor((now - new Date(entry.received_at).getTime()) / 1000));
}

export function formatWaited(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m}:${String(s).padStart(2, "0")}`;
}

function holderText(entry) {
  if (entry.status !== "in_assessment") return "Da prendere in carico";
  if (entry.holder_id === userId) return "in valutazione da te";
  return `in valutazione da ${entry.holder_name ?? "un altro operatore"}`;
}

function renderEntry(entry) {
  const item = el("li", "queue-item");
  item.dataset.id = String(entry.id);
  item.dataset.urgency = entry.urgency;
  item.dataset.status = entry.status;
  if (entry.id === selectedId) item.classList.add("is-selected");
  if (fresh.has(entry.id)) item.classList.add("is-new");

  const urgency = el("div", "queue-urgency");
  urgency.append(el("span", `urgency-badge urgency-${entry.urgency}`, URGENCY_LABELS[entry.urgency] ?? entry.urgency));
  urgency.append(el("span", "urgency-source", SOURCE_LABELS[entry.urgency_source] ?? ""));
  const late = el("strong", "queue-late-flag", "Tempo scaduto");
  late.hidden = true;
  urgency.append(late);

  const main = el("div", "queue-main");
  const title = el("p", "queue-title");
  const link = el("a", "queue-number", entry.case_number);
  link.href = `/coda/${entry.id}`;
  title.append(link, " ", el("span", "queue-trigger", entry.trigger_label));
  const where = [entry.municipality_name, `zona ${entry.zone_name}`, peopleText(entry), entry.referrer_name].filter(Boolean);
  main.append(title, el("p", "queue-where", where.join(" · ")), el("p", "queue-summary", entry.summary));

  const side = el("div", "queue-side");
  const waited = el("p", "queue-waited");
  const clock = el("span", "waited");
  clock.dataset.receivedAt = entry.received_at;
  waited.append(el("span", "visually-hidden", "In attesa da "), clock);
  const holder = el("p", "queue-holder", holderText(entry));
  side.append(waited, holder);
  const open = clocksOf(entry);
  if (open.length) {
    const times = el("ul", "queue-clocks");
    times.setAttribute("aria-label", "Tempi");
    for (const clock of open) {
      const node = badge(clock);
      node.dataset.milestone = clock.milestone;
      const li = el("li");
      li.append(node);
      times.append(li);
    }
    side.append(times);
  }
  if (entry.status === "received") {
    const button = el("button", "button button-primary queue-claim", "Prendi in carico");
    button.type = "button";
    button.setAttribute("aria-label", `Prendi in carico ${entry.case_number}`);
    button.addEventListener("click", () => claim(entry.id));
    side.append(button);
  } else {
    const open = el("a", "button queue-open", entry.holder_id === userId ? "Apri valutazione" : "Apri scheda");
    open.href = `/coda/${entry.id}`;
    side.append(open);
  }
  item.append(urgency, main, side);
  item.addEventListener("click", (click) => {
    if (click.target.closest("a, button")) return;
    select(entry.id, false);
  });
  return item;
}

function render() {
  const focusedId = Number(document.activeElement?.closest?.(".queue-item")?.dataset.id) || null;
  const ordered = [...entries.values()].sort(byQueueOrder);
  if (selectedId === null || !entries.has(selectedId)) selectedId = ordered[0]?.id ?? null;
  list.replaceChildren(...ordered.map(renderEntry));
  loadingEl.hidden = true;
  emptyEl.hidden = ordered.length > 0;
  countEl.textContent = String(ordered.length);
  const waiting = ordered.filter((e) => e.status === "received").length;
  document.title = waiting ? `(${waiting}) ${baseTitle}` : baseTitle;
  tick();
  if (focusedId !== null && entries.has(focusedId)) focusItem(focusedId);
}

function tick() {
  const now = Date.now() + clockOffsetMs;
  for (const item of list.children) {
    const entry = entries.get(Number(item.dataset.id));
    const clock = item.querySelector(".waited");
    if (!entry || !clock) continue;
    clock.textContent = formatWaited(waitedSeconds(entry));
    const late = lateness(entry, now);
    item.dataset.late = late;
    item.classList.toggle("is-late", late === "late");
    const flag = item.querySelector(".queue-late-flag");
    if (flag) flag.hidden = late !== "late";
  }
  refreshBadges(list, now);
}

// ---- selection and keyboard ----

function focusItem(id) {
  const item = list.querySelector(`.queue-item[data-id="${id}"]`);
  item?.querySelector(".queue-claim, .queue-open")?.focus();
}

function select(id, focus = true) {
  selectedId = id;
  for (const item of list.children) item.classList.toggle("is-selected", Number(item.dataset.id) === id);
  if (focus) focusItem(id);
}

function move(step) {
  const ids = [...list.children].map((item) => Number(item.dataset.id));
  if (!ids.length) return;
  const at = ids.indexOf(selectedId);
  const next = at < 0 ? 0 : Math.min(ids.length - 1, Math.max(0, at + step));
  select(ids[next]);
  list.children[next].scrollIntoView({ block: "nearest" });
}

function openOrClaim(id, openOnly) {
  const entry = entries.get(id);
  if (!entry) return;
  if (entry.status === "received" && !openOnly) claim(id);
  else location.assign(`/coda/${id}`);
}

document.addEventListener("keydown", (key) => {
  if (key.ctrlKey || key.metaKey || key.altKey) return;
  if (key.target.closest?.("input, textarea, select, [contenteditable]")) return;
  const onControl = key.target.closest?.("a, button");
  switch (key.key) {
    case "j": case "ArrowDown": key.preventDefault(); move(1); break;
    case "k": case "ArrowUp": key.preventDefault(); move(-1); break;
    case "Enter":
      if (onControl) return; // the focused button or link does its own thing
      if (selectedId !== null) { key.preventDefault(); openOrClaim(selectedId, false); }
      break;
    case "o": if (selectedId !== null) openOrClaim(selectedId, true); break;
    case "m": audioToggle.click(); break;
  }
});

// ---- actions ----

async function claim(id) {
  errorEl.hidden = true;
  const result = await api("POST", `/api/v1/referrals/${id}/claim`, undefined, {
    fallback: (status) => `Presa in carico non riuscita (errore ${status}).`,
    fieldErrors: "none",
  });
  if (result.status === 0) { showError("Server non raggiungibile: presa in carico non riuscita."); return; }
  if (result.ok) { location.assign(`/coda/${id}`); return; }
  showError(result.detail);
}

function showError(text) {
  errorEl.replaceChildren(el("p", "", text));
  errorEl.hidden = false;
}

// ---- new referrals: visual and audible alert (mutable) ----

const sound = createSound({
  toggle: audioToggle,
  storageKey: muteKey,
  tones: [[0, 880], [0.18, 1175]],
  decay: 0.15,
  length: 0.2,
  gapMs: BEEP_GAP_MS,
});

function alertNew(ids) {
  const now = Date.now();
  for (const id of ids) fresh.set(id, now);
  render();
  setTimeout(() => {
    for (const id of ids) if (fresh.get(id) === now) fresh.delete(id);
    for (const id of ids) list.querySelector(`.queue-item[data-id="${id}"]`)?.classList.remove("is-new");
  }, HIGHLIGHT_MS);
  const first = entries.get(ids[0]);
  const text = ids.length === 1 && first
    ? `Nuova segnalazione, codice ${URGENCY_LABELS[first.urgency] ?? ""}: ${first.trigger_label}, ${first.municipality_name}.`
    : `${ids.length} nuove segnalazioni in coda.`;
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
  sound.play();
}

// ---- start: read the queue, then follow the log from its as_of ----

async function start() {
  await refetch();
  if (!loaded) { setTimeout(start, 3000); return; }
  storageSet(sessionStorage, seqKey, String(appliedSeq)); // the stream resumes after as_of
  feed.read(); // after the queue: clock events after the queue's as_of wait for it
  const live = new LiveStream({
    storageKey: seqKey,
    onSnapshot: () => { refetch(); feed.read(); },
    onEvent,
    onStatus(status) {
      statusEl.dataset.status = status;
      statusEl.textContent = STATUS_LABELS[status] ?? status;
    },
  });
  document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());
  live.start();
  setInterval(tick, 1000);
}

start();
