// The room's queue (/coda): open referrals, live; claim with one key.
// State comes from GET /api/v1/queue with its `as_of`; the live stream resumes after it and
// every later referral event is applied here (lib/follow.js). Each row also shows its
// referral's open SLA clocks (presa visione, valutazione): read once from GET /api/v1/clocks,
// then kept by the clock.* events; the countdowns are computed here from each deadline, once a
// second. Free text is always set with textContent.
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { ClockFeed, ClockSet, badge, describe, refreshBadges } from "./lib/clocks.js";
import { Follow, resumeAt } from "./lib/follow.js";
import { el } from "./lib/format.js";
import {
  LIVE_STATUS_LABELS, REFERRAL_STATUS_LABELS, URGENCY_LABELS, URGENCY_SOURCE_LABELS, urgencyRank,
} from "./lib/labels.js";
import { ListNav } from "./lib/listnav.js";
import { createSound } from "./lib/sound.js";

const BEEP_GAP_MS = 1000;
const ROSSO_REPEAT_MS = 20_000; // an unclaimed rosso sounds again this often until claimed
// One alert per urgency: the more urgent, the higher and the more tones.
const URGENCY_TONES = {
  rosso: [[0, 988], [0.15, 1319], [0.3, 988], [0.45, 1319]],
  giallo: [[0, 880], [0.18, 1175]],
  verde: [[0, 660]],
};
const REFETCH_DELAY_MS = 150;
const RETRY_MS = 3000;

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
const fresh = new Set(); // ids arrived live and not yet seen: marked until seen or claimed
let loaded = false;
let before = null; // the ids shown before the read that is landing
let clockOffsetMs = 0; // server time - browser time
let live = null;

// ---- loading and applying: the queue read with its as_of, then the events after it ----

async function load() {
  const response = await fetch("/api/v1/queue", { credentials: "same-origin" });
  if (response.status === 401) { location.assign(`/login?next=${encodeURIComponent(location.pathname)}`); return null; }
  if (!response.ok) throw new Error(`coda non disponibile (errore ${response.status})`);
  return response.json();
}

const follow = new Follow({
  load,
  onRead(data) {
    before = new Set(entries.keys());
    entries.clear();
    for (const entry of data.entries) entries.set(entry.id, entry);
    clockOffsetMs = new Date(data.now).getTime() - Date.now();
  },
  apply(event) {
    if (applyEvent(event) && !follow.reading) render();
  },
  afterRead() {
    const arrived = loaded ? [...entries.keys()].filter((id) => !before.has(id)) : [];
    loaded = true;
    errorEl.hidden = true;
    render();
    if (arrived.length) alertNew(arrived);
    if (!live) startLive();
  },
  onError(error) {
    showError(`Impossibile aggiornare la coda: ${error.message}. Nuovo tentativo tra poco.`);
  },
  retryMs: RETRY_MS,
});

function scheduleRefetch() {
  follow.reread(REFETCH_DELAY_MS);
}

/** Apply one referral event; returns true when the screen changed. */
function applyEvent(event) {
  const payload = event.payload ?? {};
  const entry = entries.get(payload.id);
  switch (event.type) {
    case "referral.claimed":
    case "referral.reassigned":
      if (!entry) { scheduleRefetch(); return false; }
      Object.assign(entry, {
        status: "in_assessment", status_label: REFERRAL_STATUS_LABELS.in_assessment,
        holder_id: payload.holder_id, holder_name: payload.holder_name, claimed_at: payload.at,
      });
      return true;
    case "referral.released":
      if (!entry) { scheduleRefetch(); return false; }
      Object.assign(entry, {
        status: "received", status_label: REFERRAL_STATUS_LABELS.received,
        holder_id: null, holder_name: null, claimed_at: null,
      });
      return true;
    case "referral.decided":
    case "referral.withdrawn": // the referrer took it back: nothing left to assess
      return entries.delete(payload.id);
    default:
      // referral.received and anything else about a referral we do not show: read the queue
      if (String(event.type).startsWith("referral.") && !entry) scheduleRefetch();
      return false;
  }
}

function onEvent(event) {
  if (String(event.type).startsWith("clock.")) { feed.receive(event); return; }
  follow.receive(event);
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
  // no code counts as giallo, as the server's queue does (dispatch.referrals)
  return urgencyRank(a.urgency, 1) - urgencyRank(b.urgency, 1)
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
  const isNew = fresh.has(entry.id) && entry.status === "received";
  if (isNew) item.classList.add("is-new");
  // Seen: pointed at, or reached with the keyboard.
  item.addEventListener("pointerenter", () => seen(entry.id), { once: true });
  item.addEventListener("focusin", () => seen(entry.id), { once: true });

  const urgency = el("div", "queue-urgency");
  urgency.append(el("span", `urgency-badge urgency-${entry.urgency}`, URGENCY_LABELS[entry.urgency] ?? entry.urgency));
  urgency.append(el("span", "urgency-source", URGENCY_SOURCE_LABELS[entry.urgency_source] ?? ""));
  const news = el("strong", "queue-new-flag", "Nuova");
  news.hidden = !isNew;
  const warn = el("strong", "queue-warn-flag", "In scadenza");
  warn.hidden = true;
  const late = el("strong", "queue-late-flag", "Tempo scaduto");
  late.hidden = true;
  urgency.append(news, warn, late);

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
  return nav.bind(item, entry.id);
}

function render() {
  const focusedId = nav.focused();
  const ordered = [...entries.values()].sort(byQueueOrder);
  nav.choose(ordered.map((entry) => entry.id));
  list.replaceChildren(...ordered.map(renderEntry));
  loadingEl.hidden = true;
  emptyEl.hidden = ordered.length > 0;
  countEl.textContent = String(ordered.length);
  const waiting = ordered.filter((e) => e.status === "received").length;
  document.title = waiting ? `(${waiting}) ${baseTitle}` : baseTitle;
  tick();
  nav.refocus(focusedId);
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
    const warn = item.querySelector(".queue-warn-flag");
    if (warn) warn.hidden = late !== "warn";
  }
  refreshBadges(list, now);
}

// ---- selection and keyboard: j/k or arrows move, Enter claims (or opens), o opens, m mutes ----

function openOrClaim(id, openOnly) {
  const entry = entries.get(id);
  if (!entry) return;
  if (entry.status === "received" && !openOnly) claim(id);
  else location.assign(`/coda/${id}`);
}

const nav = new ListNav({
  list,
  item: ".queue-item",
  control: ".queue-claim, .queue-open",
  onEnter: (id) => openOrClaim(id, false),
  onOpen: (id) => openOrClaim(id, true),
  keys: { m: () => audioToggle.click() },
});

// ---- density: compact (ten and more referrals on a 1080p screen) or comfortable, per screen ----

const densityToggle = document.getElementById("density-toggle");
const densityKey = "seus.queue.comfortable";

function showDensity(comfortable) {
  list.classList.toggle("is-compact", !comfortable);
  densityToggle.setAttribute("aria-pressed", String(!comfortable));
  densityToggle.textContent = comfortable ? "Vista comoda" : "Vista compatta";
}

densityToggle.addEventListener("click", () => {
  const comfortable = list.classList.contains("is-compact");
  try { localStorage.setItem(densityKey, comfortable ? "1" : "0"); } catch { /* ignore */ }
  showDensity(comfortable);
});
showDensity((() => { try { return localStorage.getItem(densityKey) === "1"; } catch { return false; } })());

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

/** A new referral stays marked until someone has seen it (or it is claimed). */
function seen(id) {
  if (!fresh.delete(id)) return;
  const item = list.querySelector(`.queue-item[data-id="${id}"]`);
  item?.classList.remove("is-new");
  const flag = item?.querySelector(".queue-new-flag");
  if (flag) flag.hidden = true;
}

/** The alert of the most urgent of these referrals. */
function toneOf(ids) {
  const codes = ids.map((id) => entries.get(id)?.urgency).filter(Boolean);
  const most = codes.sort((a, b) => urgencyRank(a, 1) - urgencyRank(b, 1))[0] ?? "giallo";
  return URGENCY_TONES[most] ?? URGENCY_TONES.giallo;
}

function alertNew(ids) {
  for (const id of ids) fresh.add(id);
  render();
  const first = entries.get(ids[0]);
  const text = ids.length === 1 && first
    ? `Nuova segnalazione, codice ${URGENCY_LABELS[first.urgency] ?? ""}: ${first.trigger_label}, ${first.municipality_name}.`
    : `${ids.length} nuove segnalazioni in coda.`;
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
  sound.play(toneOf(ids));
}

// An unclaimed rosso is not forgotten: its alert repeats until someone claims it.
setInterval(() => {
  const waiting = [...entries.values()].some((e) => e.urgency === "rosso" && e.status === "received");
  if (waiting) sound.play(URGENCY_TONES.rosso);
}, ROSSO_REPEAT_MS);

// ---- start: read the queue, then follow the log from its as_of ----

/** Once the queue is read: the stream resumes after its as_of. */
function startLive() {
  resumeAt(seqKey, follow.seq);
  feed.read(); // after the queue: clock events after the queue's as_of wait for it
  live = new LiveStream({
    storageKey: seqKey,
    onSnapshot: (snapshot) => { follow.resync(snapshot); feed.resync(snapshot); },
    onEvent,
    onStatus(status) {
      statusEl.dataset.status = status;
      statusEl.textContent = LIVE_STATUS_LABELS[status] ?? status;
    },
  });
  document.querySelector("form.logout-form")?.addEventListener("submit", () => live.stop());
  live.start();
  setInterval(tick, 1000);
}

follow.read();
