// The room's open cases (/casi): flagged first, live, filtered by the address (?filtro=).
// The list comes from GET /api/v1/cases with its `as_of`; the live stream resumes after it, and
// any later case, handover, booking or unit event makes the page read the list again (once per
// burst; lib/follow.js). Each case shows its open SLA clocks and its units' (GET
// /api/v1/clocks, then the clock.* events), counting down from each deadline once a second.
// Free text is always set with textContent.
import { LiveStream } from "./lib/live.js";
import { ClockFeed, ClockSet, badge, describe, refreshBadges } from "./lib/clocks.js";
import { Follow, resumeAt } from "./lib/follow.js";
import { TIME_ZONE, announce as sayIn, el } from "./lib/format.js";
import { LIVE_STATUS_LABELS, URGENCY_LABELS } from "./lib/labels.js";
import { ListNav } from "./lib/listnav.js";

const REFETCH_DELAY_MS = 300;
const RETRY_MS = 3000;
const TICK_MS = 5000;
const CLOCK_TICK_MS = 1000;
const HIGHLIGHT_MS = 6000;
const WATCHED = ["case.", "handover.", "booking.", "unit."];
const FILTERS = ["tutti", "miei", "respinti"];
const EMPTY_TEXT = {
  tutti: "Nessun caso aperto.",
  miei: "Nessun caso aperto di cui sei responsabile.",
  respinti: "Nessun caso con passaggio respinto.",
};

const $ = (id) => document.getElementById(id);
const root = $("cases-page");
const table = $("cases-table");
const list = $("cases-list");
const loadingEl = $("cases-loading");
const emptyEl = $("cases-empty");
const errorEl = $("cases-error");
const countEl = $("cases-count");
const flaggedCountEl = $("cases-flagged-count");
const statusEl = $("live-status");
const announcer = $("live-announcer");
const userId = Number(root.dataset.userId);
const seqKey = `seus.cases.lastSeq:${root.dataset.user || ""}`;
const baseTitle = document.title;

let cases = []; // the API's order: flagged first, then urgency, then age
let filter = FILTERS.includes(root.dataset.filter) ? root.dataset.filter : "tutti";
let loaded = false;
let clockOffsetMs = 0; // server time - browser time
let live = null;
const fresh = new Map(); // id -> when it was highlighted

// ---- reading the list: with its as_of; a watched event after it reads it again ----

async function load() {
  const response = await fetch("/api/v1/cases?status=open", {
    credentials: "same-origin", headers: { Accept: "application/json" },
  });
  if (response.status === 401) { location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`); return null; }
  if (!response.ok) throw new Error(`elenco non disponibile (errore ${response.status})`);
  const served = Date.parse(response.headers.get("Date") ?? "");
  if (!Number.isNaN(served)) clockOffsetMs = served - Date.now();
  return response.json();
}

const follow = new Follow({
  load,
  onRead(data) {
    const before = new Map(cases.map((c) => [c.id, c]));
    cases = data.cases;
    errorEl.hidden = true;
    if (loaded) highlightChanges(before);
    loaded = true;
    render();
  },
  // One read per burst of events: the first event arms the timer, the rest ride along.
  apply(event) {
    if (WATCHED.some((prefix) => String(event.type).startsWith(prefix))) follow.reread(REFETCH_DELAY_MS);
  },
  afterRead() {
    if (!live) startLive();
  },
  onError(error) {
    showError(`Impossibile aggiornare l'elenco dei casi: ${error.message}. Nuovo tentativo tra poco.`);
  },
  retryMs: RETRY_MS,
});

function onEvent(event) {
  if (String(event.type).startsWith("clock.")) { feed.receive(event); return; }
  follow.receive(event);
}

// ---- the cases' SLA clocks (the case's own and its units') ----

const clocks = new ClockSet(() => render());
const isCaseClock = (clock) => clock.case_id !== null && clock.case_id !== undefined;
const feed = new ClockFeed(clocks, { keep: isCaseClock, retryMs: RETRY_MS });

function clocksCell(c) {
  const cell = el("td", "case-clocks");
  const open = clocks.of("case_id", c.id);
  if (!open.length) { cell.append(el("span", "case-none", "—")); return cell; }
  const items = el("ul", "case-clock-list");
  for (const clock of open) {
    const unit = clock.kind === "assignment" ? c.units?.find((u) => u.id === clock.unit_id) : null;
    const shown = clock.kind === "assignment"
      ? { ...clock, label: `${unit?.name ?? "Unità"}: ${clock.label}` }
      : clock;
    const node = badge(shown);
    node.dataset.milestone = clock.milestone;
    const item = el("li");
    item.append(node);
    items.append(item);
  }
  cell.append(items);
  return cell;
}

function tickClocks() {
  const now = Date.now() + clockOffsetMs;
  for (const row of list.children) {
    const levels = new Set(clocks.of("case_id", Number(row.dataset.id)).map((k) => describe(k, now).level));
    const late = levels.has("late") ? "late" : levels.has("warn") ? "warn" : "";
    row.dataset.late = late;
    row.classList.toggle("is-late", late === "late");
  }
  refreshBadges(list, now);
}

function highlightChanges(before) {
  const now = Date.now();
  const arrived = cases.filter((c) => !before.has(c.id));
  const flagged = cases.filter((c) => c.flagged && before.has(c.id) && !before.get(c.id).flagged);
  for (const c of [...arrived, ...flagged]) fresh.set(c.id, now);
  if (arrived.length || flagged.length) {
    setTimeout(() => {
      for (const [id, at] of fresh) if (at === now) fresh.delete(id);
      for (const row of list.querySelectorAll(".is-new")) if (!fresh.has(Number(row.dataset.id))) row.classList.remove("is-new");
    }, HIGHLIGHT_MS);
  }
  const said = [
    ...flagged.map((c) => `Passaggio respinto per il caso ${c.case_number}: ${c.flag_reason ?? "motivo non registrato"}.`),
    ...arrived.map((c) => `Nuovo caso aperto: ${c.case_number}, codice ${URGENCY_LABELS[c.urgency] ?? c.urgency}.`),
  ];
  if (said.length) announce(said.join(" "));
}

function announce(text) {
  sayIn(announcer, text);
}

function showError(text) {
  errorEl.replaceChildren(el("p", "", text));
  errorEl.hidden = false;
}

// ---- the filter, kept in the address ----

function matches(c, which) {
  if (which === "miei") return c.owner?.id === userId;
  if (which === "respinti") return c.flagged;
  return true;
}

function setFilter(which, push = true) {
  if (!FILTERS.includes(which)) which = "tutti";
  filter = which;
  if (push) {
    const url = new URL(location.href);
    url.searchParams.set("filtro", which);
    if (url.href !== location.href) history.pushState({ filtro: which }, "", url);
  }
  for (const link of document.querySelectorAll(".cases-filter")) {
    if (link.dataset.filter === which) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
  render();
}

for (const link of document.querySelectorAll(".cases-filter")) {
  link.addEventListener("click", (click) => {
    if (click.ctrlKey || click.metaKey || click.shiftKey || click.button !== 0) return;
    click.preventDefault();
    setFilter(link.dataset.filter);
  });
}
window.addEventListener("popstate", () => setFilter(new URL(location.href).searchParams.get("filtro") ?? "tutti", false));

// ---- rendering ----

export function formatSince(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return "meno di 1 min";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  const days = Math.floor(hours / 24);
  return `${days} g ${hours % 24} h`;
}

function openedText(iso) {
  const date = new Date(iso);
  return date.toLocaleString("it-IT", { timeZone: TIME_ZONE, dateStyle: "short", timeStyle: "short" });
}

function ownerCell(c) {
  const cell = el("td", "case-owner");
  if (!c.owner) cell.append(el("span", "case-none", "nessuno"));
  else if (c.owner.id === userId) cell.append(el("strong", "", "tu"), ` (${c.owner.name})`);
  else cell.textContent = c.owner.name;
  return cell;
}

function unitsCell(c) {
  const cell = el("td", "case-units");
  if (!c.units?.length) { cell.append(el("span", "case-none", "nessuna")); return cell; }
  const items = el("ul", "case-unit-list");
  for (const unit of c.units) {
    const item = el("li", "", unit.name);
    item.append(" ", el("span", "case-unit-status", `· ${unit.status_label}`));
    items.append(item);
  }
  cell.append(items);
  return cell;
}

function renderRow(c) {
  const row = el("tr", "case-row");
  row.dataset.id = String(c.id);
  row.dataset.urgency = c.urgency;
  row.dataset.status = c.status;
  row.dataset.flagged = String(c.flagged);
  if (fresh.has(c.id)) row.classList.add("is-new");

  const urgency = el("td");
  const badge = el("span", "urgency-badge", URGENCY_LABELS[c.urgency] ?? c.urgency);
  badge.dataset.urgency = c.urgency;
  urgency.append(badge);

  const main = el("th", "case-cell");
  main.scope = "row";
  const link = el("a", "case-link", c.case_number);
  link.href = `/casi/${c.id}`;
  main.append(link, el("span", "case-trigger", c.trigger_label), el("span", "case-where", c.municipality));
  if (c.flagged) {
    const flag = el("p", "case-flag-line");
    flag.append(el("strong", "case-flag-title", "Passaggio respinto"), el("span", "", " · Motivo: "),
      el("span", "case-flag-reason", c.flag_reason ?? "non registrato"));
    main.append(flag);
  }

  const status = el("td");
  const statusBadge = el("span", "status-badge", c.status_label);
  statusBadge.dataset.status = c.status;
  status.append(statusBadge);

  const since = el("td", "case-since");
  const clock = el("span", "since");
  clock.dataset.openedAt = c.opened_at;
  since.append(clock, el("span", "case-opened", `dal ${openedText(c.opened_at)}`));

  row.append(urgency, main, status, el("td", "case-zone", c.zone_name), ownerCell(c), unitsCell(c), clocksCell(c), since);
  return nav.bind(row, c.id);
}

function render() {
  if (!loaded) return;
  const focusedId = nav.focused();
  const shown = cases.filter((c) => matches(c, filter));
  nav.choose(shown.map((c) => c.id));
  list.replaceChildren(...shown.map(renderRow));
  loadingEl.hidden = true;
  table.hidden = shown.length === 0;
  emptyEl.hidden = shown.length > 0;
  emptyEl.textContent = EMPTY_TEXT[filter];
  const flaggedCount = cases.filter((c) => c.flagged).length;
  countEl.textContent = String(cases.length);
  flaggedCountEl.textContent = String(flaggedCount);
  for (const which of FILTERS) {
    const count = document.querySelector(`[data-count-for="${which}"]`);
    if (count) count.textContent = `(${cases.filter((c) => matches(c, which)).length})`;
  }
  document.title = flaggedCount ? `(${flaggedCount} respinti) ${baseTitle}` : baseTitle;
  tick();
  tickClocks();
  nav.refocus(focusedId);
}

function tick() {
  const now = Date.now() + clockOffsetMs;
  for (const clock of list.querySelectorAll(".since")) {
    const opened = Date.parse(clock.dataset.openedAt);
    clock.textContent = formatSince(Math.max(0, Math.floor((now - opened) / 1000)));
  }
}

// ---- selection and keyboard: j/k or arrows move, Enter or o opens, 1 2 3 filter ----

const openCase = (id) => location.assign(`/casi/${id}`);
const pickFilter = (key) => setFilter(FILTERS[Number(key.key) - 1]);

const nav = new ListNav({
  list,
  item: ".case-row",
  control: ".case-link",
  onEnter: openCase,
  onOpen: openCase,
  keys: { 1: pickFilter, 2: pickFilter, 3: pickFilter },
});

// ---- start: read the list, then follow the log from its as_of ----

/** Once the list is read: the stream resumes after its as_of. */
function startLive() {
  resumeAt(seqKey, follow.seq);
  feed.read(); // after the list: clock events after the list's as_of wait for it
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
  setInterval(tick, TICK_MS);
  setInterval(tickClocks, CLOCK_TICK_MS);
}

follow.read();
