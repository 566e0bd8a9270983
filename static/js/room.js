// The live page: connection status, event feed, room messages, audio cue.
import { LiveStream } from "./lib/live.js";
import { api } from "./lib/api.js";
import { TIME_ZONE } from "./lib/format.js";
import { LIVE_STATUS_LABELS } from "./lib/labels.js";
import { sentence } from "./lib/sentences.js";
import { createSound } from "./lib/sound.js";

const MAX_ITEMS = 200;
const HIGHLIGHT_MS = 4000;
const BEEP_GAP_MS = 1000;

const room = document.getElementById("live-room");
const feed = document.getElementById("event-feed");
const feedEmpty = document.getElementById("event-feed-empty");
const statusEl = document.getElementById("live-status");
const positionEl = document.getElementById("live-position");
const announcer = document.getElementById("live-announcer");
const audioToggle = document.getElementById("audio-toggle");
const form = document.getElementById("room-message-form");
const logoutForm = document.querySelector("form.logout-form");

const user = room.dataset.user || "";
const seqKey = `seus.live.lastSeq:${location.pathname}:${user}`;
const feedKey = `seus.room.feed:${location.pathname}:${user}`;
const muteKey = "seus.room.muted";

// ---- storage helpers (storage can be unavailable or full: never fatal) ----

function storageGet(storage, key) {
  try { return storage.getItem(key); } catch { return null; }
}
function storageSet(storage, key, value) {
  try { storage.setItem(key, value); } catch { /* ignore */ }
}
function storageRemove(storage, key) {
  try { storage.removeItem(key); } catch { /* ignore */ }
}

// ---- rendering ----

/** Events shown, oldest first; mirrors the feed (which shows newest on top). */
let events = [];

function dayInRome(date) {
  return date.toLocaleDateString("it-IT", { timeZone: TIME_ZONE });
}

function timeElement(iso) {
  const time = document.createElement("time");
  time.className = "event-time";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    time.textContent = "—";
    return time;
  }
  time.dateTime = date.toISOString();
  let text = date.toLocaleTimeString("it-IT", { timeZone: TIME_ZONE });
  if (dayInRome(date) !== dayInRome(new Date())) {
    const day = date.toLocaleDateString("it-IT", { timeZone: TIME_ZONE, day: "2-digit", month: "2-digit" });
    text = `${day} ${text}`;
  }
  time.textContent = text;
  time.title = date.toLocaleString("it-IT", { timeZone: TIME_ZONE, dateStyle: "full", timeStyle: "medium" });
  return time;
}

function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  return el;
}

/** The event's card, or null when nobody needs to read it (lib/sentences.js). */
function renderEvent(event) {
  const said = sentence(event);
  if (!said) return null;
  const item = document.createElement("li");
  item.className = "event-card";
  item.dataset.seq = String(event.seq);
  item.dataset.type = String(event.type ?? "");
  if (said.attention) item.classList.add("needs-attention");

  const meta = document.createElement("p");
  meta.className = "event-meta";
  if (event.type === "room.message_posted") {
    meta.append(timeElement(event.at), " ", span("event-type", said.text), " ", span("event-actor", said.author || "—"));
  } else {
    meta.append(timeElement(event.at), " ", span("event-text", said.text));
  }
  item.append(meta);
  if (said.body) {
    const body = document.createElement("p");
    body.className = "event-body";
    body.textContent = said.body;
    item.append(body);
  }
  return item;
}

function trimFeed() {
  while (feed.children.length > MAX_ITEMS) feed.lastElementChild.remove();
  if (events.length > MAX_ITEMS) events = events.slice(-MAX_ITEMS);
  feedEmpty.hidden = feed.children.length > 0;
}

function replaceFeed(list) {
  events = [];
  feed.replaceChildren();
  for (const event of list.slice(-MAX_ITEMS)) addEvent(event);
  trimFeed();
}

/** Put one event on top of the feed; returns its element, or null if it is already shown or
 * not shown at all. */
function addEvent(event) {
  if (feed.querySelector(`[data-seq="${CSS.escape(String(event.seq))}"]`)) return null;
  const item = renderEvent(event);
  if (!item) return null;
  feed.prepend(item);
  events.push(event);
  return item;
}

function highlight(item) {
  item.classList.add("is-new");
  setTimeout(() => item.classList.remove("is-new"), HIGHLIGHT_MS);
}

function announce(event) {
  const said = sentence(event);
  let text = said.author ? `${said.text} di ${said.author}` : said.text;
  if (said.body) text += `. ${said.body.slice(0, 200)}`;
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
}

// ---- feed cache: lets a reload resume after its last seq without losing what was shown ----

let sessionOver = false;

function saveFeed() {
  if (sessionOver || live.lastSeq === null) return;
  storageSet(sessionStorage, feedKey, JSON.stringify({ seq: live.lastSeq, events }));
}

function restoreFeed() {
  let cached = null;
  try { cached = JSON.parse(storageGet(sessionStorage, feedKey) ?? "null"); } catch { cached = null; }
  const seq = storageGet(sessionStorage, seqKey);
  storageRemove(sessionStorage, feedKey);
  if (cached && Array.isArray(cached.events) && String(cached.seq) === seq) {
    replaceFeed(cached.events);
  } else {
    storageRemove(sessionStorage, seqKey); // nothing to show before it: ask for a snapshot
  }
}

function forgetSession() {
  sessionOver = true;
  storageRemove(sessionStorage, feedKey);
  storageRemove(sessionStorage, seqKey);
}

// ---- audio cue ----

const sound = createSound({ toggle: audioToggle, storageKey: muteKey, gapMs: BEEP_GAP_MS });

// ---- live stream ----

/** When the page last heard from the log, in words (never a sequence number). */
function showPosition(seq) {
  positionEl.textContent = seq === null
    ? "—"
    : new Date().toLocaleTimeString("it-IT", { timeZone: TIME_ZONE });
}

restoreFeed(); // before the stream reads its stored seq: it may drop it

const live = new LiveStream({
  url: room.dataset.liveUrl || "/ws",
  storageKey: seqKey,
  onSnapshot(snapshot) {
    replaceFeed(snapshot.data?.events ?? []);
  },
  onEvent(event, { live: isLive }) {
    const item = addEvent(event);
    trimFeed();
    if (!item || !isLive) return;
    highlight(item);
    announce(event);
    // Sound only for what someone must act on, and for a message from someone else.
    const said = sentence(event);
    if (said.attention || (event.type === "room.message_posted" && said.author !== user)) sound.play();
  },
  onStatus(status) {
    statusEl.dataset.status = status;
    statusEl.textContent = LIVE_STATUS_LABELS[status] ?? status;
    if (status === "ended") forgetSession();
  },
  onPosition: showPosition,
});

showPosition(live.lastSeq);
feedEmpty.hidden = feed.children.length > 0;
window.addEventListener("pagehide", saveFeed);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") saveFeed();
});
logoutForm?.addEventListener("submit", () => {
  live.stop();
  forgetSession();
});
live.start();

// ---- room messages ----

if (form) {
  const textarea = form.elements.namedItem("body");
  const button = form.querySelector('button[type="submit"]');
  const errorBox = document.getElementById("room-message-error");
  let pending = false;

  const clearError = () => {
    errorBox.hidden = true;
    errorBox.replaceChildren();
    textarea.removeAttribute("aria-invalid");
    textarea.setAttribute("aria-describedby", "room-message-hint");
  };

  const showError = (detail, fieldMessages = []) => {
    const lead = document.createElement("p");
    lead.textContent = detail;
    errorBox.replaceChildren(lead);
    if (fieldMessages.length) {
      const list = document.createElement("ul");
      for (const message of fieldMessages) {
        const item = document.createElement("li");
        item.textContent = message;
        list.append(item);
      }
      errorBox.append(list);
      textarea.setAttribute("aria-invalid", "true");
      textarea.setAttribute("aria-describedby", "room-message-hint room-message-error");
    }
    errorBox.hidden = false;
  };

  const failureText = (status) => (status === 401 || status === 403
    ? "Sessione non valida: accedi di nuovo."
    : `Invio non riuscito (errore ${status}).`);

  form.addEventListener("submit", async (submitEvent) => {
    submitEvent.preventDefault();
    if (pending) return;
    clearError();
    pending = true;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const result = await api("POST", "/api/v1/room/messages", { body: textarea.value }, {
        fallback: failureText,
        fieldErrors: "none",
      });
      if (result.status === 0) throw new Error("unreachable");
      if (result.status === 201) {
        textarea.value = "";
      } else {
        showError(result.detail, result.errors.map((e) => String(e?.message ?? "")).filter(Boolean));
      }
    } catch {
      showError("Server non raggiungibile: il messaggio non è stato inviato.");
    } finally {
      pending = false;
      button.disabled = false;
      form.removeAttribute("aria-busy");
      textarea.focus();
    }
  });

  textarea.addEventListener("input", () => {
    if (textarea.hasAttribute("aria-invalid")) clearError();
  });

  textarea.addEventListener("keydown", (keyEvent) => {
    if (keyEvent.key === "Enter" && (keyEvent.ctrlKey || keyEvent.metaKey)) {
      keyEvent.preventDefault();
      if (form.requestSubmit) form.requestSubmit();
      else button.click();
    }
  });
}
