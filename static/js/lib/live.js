// Browser client for the live websocket protocol (docs/live-protocol.md).
// The helpers are pure; the class takes its globals from `env` (default: globalThis) so a
// test can hand it a fake WebSocket, storage, location, navigator and timers.

import { session as sharedSession } from "./session.js";

const DEFAULT_HEARTBEAT_S = 15;
const DEAD_AFTER_HEARTBEATS = 2.5;

/** The websocket URL for `path`, resolved against `loc`: ws: under http:, wss: under https:. */
export function liveUrl(path, loc, lastSeq) {
  const url = new URL(path, loc.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (lastSeq !== null) url.searchParams.set("after", String(lastSeq));
  return url.href;
}

/** Delay before reconnection `attempt` (0-based): doubling up to the cap, with equal jitter. */
export function backoffDelay(attempt, minMs, maxMs, random = Math.random) {
  const base = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(base / 2 + (random() * base) / 2);
}

/** What a close code asks of the client: "ended" (log in again), "now" or "backoff". */
export function closeAction(code) {
  if (code === 4001) return "ended";
  if (code === 4008) return "now";
  return "backoff";
}

/** A stored seq, or null when missing, malformed or storage is unavailable. */
export function readSeq(storage, key) {
  try {
    const raw = storage ? storage.getItem(key) : null;
    return raw !== null && /^\d+$/.test(raw) ? Number(raw) : null;
  } catch {
    return null;
  }
}

export class LiveStream {
  constructor({
    url = "/ws", onSnapshot = () => {}, onEvent = () => {}, onStatus = () => {},
    onPosition = () => {}, storageKey, minBackoffMs = 500, maxBackoffMs = 30000, env = globalThis,
    whoAmIUrl = "/api/v1/me", loginUrl = "/login", session = sharedSession,
  } = {}) {
    Object.assign(this, { url, onSnapshot, onEvent, onStatus, onPosition, minBackoffMs, maxBackoffMs, whoAmIUrl, loginUrl });
    this._env = env;
    this._session = session;
    this._unsubscribe = null;
    this._paused = false; // the session is over: wait for a new login, then resume
    this._key = storageKey ?? "seus.live.lastSeq:" + env.location.pathname;
    this._lastSeq = readSeq(this._storage(), this._key);
    this._status = null;
    this._socket = null;
    this._retryTimer = null;
    this._deadTimer = null;
    this._attempt = 0;
    this._heartbeatS = DEFAULT_HEARTBEAT_S;
    this._caughtUp = false;
    this._running = false;
    this._online = () => {
      if (!this._running || this._paused) return;
      this._attempt = 0;
      if (!this._socket) this._connect("reconnecting");
    };
    this._offline = () => {
      if (!this._running || this._paused) return;
      this._drop();
      this._retry();
    };
  }

  get lastSeq() { return this._lastSeq; }
  get status() { return this._status; }

  start() {
    if (this._running) return;
    this._running = true;
    this._env.addEventListener?.("online", this._online);
    this._env.addEventListener?.("offline", this._offline);
    this._unsubscribe = this._session.subscribe((state) => this._sessionChanged(state));
    if (this._session.expired) this._pause();
    else this._connect("connecting");
  }

  stop() {
    this._running = false;
    this._env.removeEventListener?.("online", this._online);
    this._env.removeEventListener?.("offline", this._offline);
    this._unsubscribe?.();
    this._unsubscribe = null;
    this._paused = false;
    this._env.clearTimeout(this._retryTimer);
    this._drop();
  }

  /**
   * The session expired (reported by anyone on the page): pause; once renewed, resume after
   * lastSeq; "ended" (a logout, not an expiry): stop for good.
   */
  _sessionChanged(state) {
    if (!this._running) return;
    if (state === "expired") {
      this._pause();
    } else if (state === "renewed" && this._paused) {
      this._paused = false;
      this._attempt = 0;
      this._connect("connecting");
    } else if (state === "ended") {
      this._end();
    }
  }

  /** Stop, forget the position (the next session starts afresh) and go to the login page. */
  _end() {
    this.stop();
    try { this._storage()?.removeItem(this._key); } catch { /* storage unavailable */ }
    this._setStatus("ended");
    this._env.location.assign(this.loginUrl);
  }

  _pause() {
    this._paused = true;
    this._env.clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._drop();
    this._setStatus("expired");
  }

  _connect(status) {
    this._env.clearTimeout(this._retryTimer);
    this._retryTimer = null;
    if (!this._running || this._paused) return;
    this._setStatus(this._isOffline() ? "offline" : status);
    this._caughtUp = false;
    this._greeted = false;
    const socket = new this._env.WebSocket(liveUrl(this.url, this._env.location, this._lastSeq));
    this._socket = socket;
    socket.onmessage = (message) => this._receive(message.data);
    socket.onclose = (close) => this._closed(close.code);
    this._watch(); // a handshake that hangs counts as a dead connection too
  }

  _receive(data) {
    this._watch();
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.type) {
      case "hello":
        this._greeted = true;
        if (typeof message.heartbeat === "number" && message.heartbeat > 0) this._heartbeatS = message.heartbeat;
        this._watch();
        break;
      case "snapshot":
        this._setSeq(message.as_of); // may go back: a snapshot replaces everything before it
        this.onSnapshot(message);
        break;
      case "event":
        if (this._lastSeq !== null && message.seq <= this._lastSeq) return; // already seen
        this._setSeq(message.seq);
        this.onEvent(message.event, { live: this._caughtUp });
        break;
      case "live":
        this._caughtUp = true;
        this._attempt = 0;
        this._setStatus("live");
        break;
      case "heartbeat":
        if (this._lastSeq === null || message.head > this._lastSeq) this._setSeq(message.head);
        break;
    }
  }

  _closed(code) {
    this._socket = null;
    this._env.clearTimeout(this._deadTimer);
    const action = closeAction(code);
    if (action === "ended" && this._session.canRelogin) {
      this._session.expire(); // its "expired" pauses this stream; "renewed" resumes it
    } else if (action === "ended") {
      this._end();
    } else if (action === "now") {
      this._connect("reconnecting");
    } else if (!this._greeted) {
      this._probeSession();
    } else {
      this._retry();
    }
  }

  /** A refused handshake looks like any network failure (1006): ask whether we are still logged in. */
  async _probeSession() {
    this._retry();
    try {
      const response = await this._env.fetch(this.whoAmIUrl, { credentials: "same-origin" });
      if (response.status === 401 && this._running && !this._paused) this._closed(4001);
    } catch { /* network down: keep retrying */ }
  }

  _retry() {
    if (!this._running || this._paused) return;
    this._setStatus(this._isOffline() ? "offline" : "reconnecting");
    const delay = backoffDelay(this._attempt++, this.minBackoffMs, this.maxBackoffMs);
    this._env.clearTimeout(this._retryTimer);
    this._retryTimer = this._env.setTimeout(() => this._connect("reconnecting"), delay);
  }

  /** (Re)arm dead-connection detection: silence for 2.5 heartbeats drops the socket. */
  _watch() {
    this._env.clearTimeout(this._deadTimer);
    const ms = this._heartbeatS * DEAD_AFTER_HEARTBEATS * 1000;
    this._deadTimer = this._env.setTimeout(() => {
      this._drop();
      this._retry();
    }, ms);
  }

  /** Forget the current socket without waiting for its close event (a dead one may never send it). */
  _drop() {
    this._env.clearTimeout(this._deadTimer);
    const socket = this._socket;
    this._socket = null;
    if (!socket) return;
    socket.onmessage = socket.onclose = socket.onerror = null;
    try { socket.close(); } catch { /* already closed */ }
  }

  _setSeq(seq) {
    this._lastSeq = seq;
    try { this._storage()?.setItem(this._key, String(seq)); } catch { /* storage full or unavailable */ }
    this.onPosition(seq);
  }

  _setStatus(status) {
    if (status === this._status) return;
    this._status = status;
    this.onStatus(status);
  }

  _isOffline() { return this._env.navigator?.onLine === false; }

  _storage() {
    try { return this._env.sessionStorage ?? null; } catch { return null; }
  }
}
