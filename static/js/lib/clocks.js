// SLA countdowns, computed in the browser from each clock's deadline (the server sends no
// ticks). A clock is the shape of GET /api/v1/clocks and of the live `clock.*` events
// (dispatch/sla.py `view`): { clock_id, label, state, deadline, warned, breached_at, ... }.
//
//   import { ClockFeed, ClockSet, badge, describe } from "./lib/clocks.js";
//   const clocks = new ClockSet(() => render());      // render() again on every change
//   const feed = new ClockFeed(clocks, { keep });     // GET /api/v1/clocks, then the events
//   await feed.read();                                // after the page's own read
//   live.onSnapshot = (s) => feed.resync(s);          // again when the stream lost track
//   live.onEvent = (e) => feed.receive(e);            // clock.* events upsert or remove
//   setInterval(() => refreshBadges(document), 1000); // only the text moves each second

import { api } from "./api.js";
import { Follow } from "./follow.js";
import { el } from "./format.js";

const OPEN = new Set(["running", "paused", "breached"]);

function span(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  if (h >= 48) return `${Math.floor(h / 24)} g ${h % 24} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m}:${String(s).padStart(2, "0")}`;
}

/**
 * How a clock reads now: { level, text, title }.
 * level: "late" (breached: how late), "warn" (a warning fired), "paused", "ok".
 */
export function describe(clock, now = Date.now()) {
  if (clock.state === "breached" || clock.breached_at) {
    const since = Date.parse(clock.breached_at ?? clock.deadline);
    return { level: "late", text: `scaduto da ${span(now - since)}`, title: `${clock.label}: tempo scaduto` };
  }
  if (clock.state === "paused") {
    return { level: "paused", text: "in pausa", title: `${clock.label}: in pausa` };
  }
  const left = Date.parse(clock.deadline) - now;
  if (Number.isNaN(left)) return { level: "ok", text: "—", title: clock.label };
  if (left <= 0) {
    // Due, and the server's breach is on its way: already show it late.
    return { level: "late", text: `scaduto da ${span(-left)}`, title: `${clock.label}: tempo scaduto` };
  }
  const level = clock.warned > 0 ? "warn" : "ok";
  return { level, text: `${span(left)}`, title: `${clock.label}: mancano ${span(left)}` };
}

/** A badge element for a clock; `refreshBadges` keeps its text moving. */
export function badge(clock, { withLabel = true } = {}) {
  const node = el("span", "clock");
  node.dataset.clock = JSON.stringify({
    label: clock.label, state: clock.state, deadline: clock.deadline,
    warned: clock.warned, breached_at: clock.breached_at,
  });
  node.dataset.withLabel = withLabel ? "1" : "";
  paint(node, clock);
  return node;
}

function paint(node, clock, now = Date.now()) {
  const { level, text, title } = describe(clock, now);
  node.className = `clock clock-${level}`;
  node.title = title;
  node.textContent = node.dataset.withLabel ? `${clock.label} · ${text}` : text;
}

/** Update every clock badge under `root` (call once a second). */
export function refreshBadges(root = document, now = Date.now()) {
  for (const node of root.querySelectorAll("[data-clock]")) {
    try { paint(node, JSON.parse(node.dataset.clock), now); } catch { /* leave as is */ }
  }
}

/** The open clocks a page shows, kept up to date from the snapshot and the live events. */
export class ClockSet {
  constructor(onChange = () => {}) {
    this.byId = new Map();
    this.onChange = onChange;
  }

  load(list) {
    this.byId.clear();
    for (const clock of list) this.byId.set(clock.clock_id, clock);
    this.onChange();
  }

  /** Apply one live event; returns true when it was a clock event. */
  apply(event) {
    if (!event.type || !event.type.startsWith("clock.")) return false;
    const clock = event.payload;
    if (OPEN.has(clock.state)) this.byId.set(clock.clock_id, clock);
    else this.byId.delete(clock.clock_id);
    this.onChange(clock, event);
    return true;
  }

  /** Open clocks matching `test`, breached first, then by deadline. */
  list(test = () => true) {
    return [...this.byId.values()].filter(test).sort(byUrgency);
  }

  of(field, id) {
    return this.list((c) => c[field] === id);
  }
}

export function byUrgency(a, b) {
  const late = (c) => (c.state === "breached" ? 0 : 1);
  if (late(a) !== late(b)) return late(a) - late(b);
  const at = (c) => Date.parse(c.breached_at ?? c.deadline ?? "9999-12-31T00:00:00Z");
  return at(a) - at(b);
}

/**
 * Keeps a ClockSet in step with the server (a Follow, lib/follow.js): reads GET /api/v1/clocks
 * (`url()` gives the address; null: nothing to read yet), keeps the clocks `keep` accepts, then
 * applies the live clock.* events that come after the read's `as_of`. Events that arrive while a
 * read is on its way wait for it; a read asked for during another replaces it. A failed read is
 * made again after `retryMs`.
 */
export class ClockFeed {
  constructor(set, { url = () => "/api/v1/clocks?limit=5000", keep = () => true, retryMs = 3000, timers } = {}) {
    Object.assign(this, { set, url, keep });
    this.follow = new Follow({
      load: async () => {
        const address = this.url();
        if (!address) return null;
        const result = await api("GET", address, undefined, { fieldErrors: "none" });
        if (!result.ok) throw new Error(result.detail);
        return result.data;
      },
      onRead: (data) => this.set.load(data.clocks.filter(this.keep)),
      apply: (event) => { if (this.keep(event.payload ?? {})) this.set.apply(event); },
      retryMs,
      timers,
    });
  }

  /** True when no read is current nor on its way (the page should ask for one). */
  get stale() {
    return this.follow.stale;
  }

  /** Read the clocks again, whatever was read before. */
  read() {
    return this.follow.reset();
  }

  /** The live stream sent a snapshot: read again unless the clocks already include it. */
  resync(snapshot) {
    return this.follow.resync(snapshot);
  }

  /** A live clock.* event. */
  receive(event) {
    this.follow.receive(event);
  }
}
