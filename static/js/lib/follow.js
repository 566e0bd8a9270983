// Follow a read with the live stream: read a list with its `as_of` (the event log's head seq the
// server read it at), then apply only the events after it, each once; read again only when the
// stream lost track or the page asks for it. The stream never skips an event silently: when it
// cannot replay what was missed it sends a snapshot (docs/live-protocol.md), which is the gap
// this module re-reads on. Events that arrive while a read is on its way wait for it and are
// applied after it when they are newer than its `as_of`; nothing falls between the read and
// the stream. Pure: no DOM; timers come from `timers` (tests).
//
//   const follow = new Follow({
//     load: async () => (await api("GET", "/api/v1/queue")).data, // {as_of, ...}; throw: failed
//     onRead: (data) => { /* replace the state */ },
//     apply: (event, meta) => { /* one event after the read */ },
//   });
//   await follow.read();                                  // then resume the stream after it:
//   resumeAt(seqKey, follow.seq);                         // the LiveStream's storageKey
//   live.onSnapshot = (snapshot) => follow.resync(snapshot);
//   live.onEvent = (event, meta) => follow.receive(event, meta);

/**
 * load(): the read, a promise of {as_of, ...}; it throws when the read failed and gives null
 *   when there is nothing to read (the page went away, or has nothing to ask for yet).
 * onRead(data): replace what the page shows with the read.
 * apply(event, meta): one event after the read (meta: the stream's, plus `buffered: true` for
 *   an event that waited for a read).
 * afterRead(): after a read and the events that waited for it were applied.
 * onError(error): a read failed; it is made again after `retryMs` (null: not).
 */
export class Follow {
  constructor({
    load, onRead = () => {}, apply = () => {}, afterRead = () => {}, onError = () => {},
    retryMs = null, timers = globalThis,
  }) {
    Object.assign(this, { load, onRead, apply, afterRead, onError, retryMs });
    this._timers = timers;
    this._seq = null; // the state includes every event up to this seq; null: no state to keep
    this._need = 0; // a read must reach at least this seq (the stream's last snapshot)
    this._epoch = 0; // bumped when the state is dropped: a read under way then no longer counts
    this._buffer = []; // [event, meta] received while reading or without a state
    this._running = null; // the read under way (a promise)
    this._again = false; // read once more when the one under way ends
    this._timer = null; // a read asked for later (reread)
    this._retry = null;
  }

  /** The seq the state includes (null while there is none). */
  get seq() { return this._seq; }

  /** A read is under way. */
  get reading() { return this._running !== null; }

  /** No state to keep, and no read on its way (the page should ask for one). */
  get stale() { return this._seq === null && this._running === null; }

  /** The state was read elsewhere at `asOf` (a page rendered with it): follow from there. */
  since(asOf) {
    this._seq = Number(asOf);
    this._flush();
  }

  /** A live event: applied now when it is after the state, kept while a read is on its way. */
  receive(event, meta = {}) {
    if (this._running !== null || this._seq === null) {
      this._buffer.push([event, meta]);
      return;
    }
    this._deliver(event, meta);
  }

  /**
   * Read now (during a read: once more after it). Resolves when the reads end: true when the
   * state holds, false when the read failed or gave nothing (a retry may still come).
   */
  read() {
    this._timers.clearTimeout(this._timer);
    this._timer = null;
    if (this._running !== null) {
      this._again = true;
      return this._running;
    }
    this._timers.clearTimeout(this._retry);
    this._retry = null;
    this._running = this._run().finally(() => { this._running = null; });
    return this._running;
  }

  /** Read after `delayMs`; the calls meanwhile ride along with the first. */
  reread(delayMs = 0) {
    if (this._timer !== null) return;
    this._timer = this._timers.setTimeout(() => {
      this._timer = null;
      this.read();
    }, delayMs);
  }

  /** The state no longer holds (or shows something else now): drop it and read again. */
  reset(need = 0) {
    this._seq = null;
    this._buffer = [];
    this._epoch += 1;
    this._need = need;
    return this.read();
  }

  /**
   * The stream sent a snapshot: it goes on from `snapshot.as_of`. Nothing to do when the state
   * already includes it; otherwise (or when the log was replaced) read again.
   */
  resync(snapshot = {}) {
    const at = snapshot.as_of;
    if (typeof at !== "number" || snapshot.reason === "ahead_of_log") return this.reset(at ?? 0);
    if (this._running === null) {
      if (this._seq !== null && this._seq >= at) return Promise.resolve(true);
      return this.reset(at);
    }
    // A read is under way: it counts only if it reaches the snapshot; what came before the
    // snapshot is in the read (or in the one after it).
    this._seq = null;
    this._buffer = [];
    this._need = Math.max(this._need, at);
    return this._running;
  }

  async _run() {
    await null; // `reading` holds from here, even when load() answers at once
    let held = false;
    do {
      this._again = false;
      const epoch = this._epoch;
      let data;
      try {
        data = await this.load();
        if (data !== null && data !== undefined && typeof data.as_of !== "number") {
          throw new TypeError("a read without as_of");
        }
      } catch (error) {
        if (epoch !== this._epoch) { this._again = true; continue; } // dropped meanwhile
        this._settle();
        this.onError(error);
        if (this.retryMs !== null) this._retry = this._timers.setTimeout(() => this.read(), this.retryMs);
        return false;
      }
      if (epoch !== this._epoch) { this._again = true; continue; } // dropped meanwhile
      if (data === null || data === undefined) {
        this._settle();
        return false;
      }
      if (data.as_of < this._need) { this._again = true; continue; } // behind the stream
      this._seq = data.as_of;
      this.onRead(data);
      this._flush();
      this.afterRead();
      held = true;
    } while (this._again);
    return held;
  }

  /** A read gave nothing: the state it would have replaced holds still, when there is one. */
  _settle() {
    if (this._seq !== null) this._flush();
  }

  /** Apply the events that waited (those the state does not include yet). */
  _flush() {
    const waiting = this._buffer;
    this._buffer = [];
    for (const [event, meta] of waiting) this._deliver(event, { ...meta, buffered: true });
  }

  _deliver(event, meta) {
    if (typeof event.seq === "number") {
      if (event.seq <= this._seq) return; // in the read already, or applied already
      this._seq = event.seq;
    }
    this.apply(event, meta);
  }
}

/** Make the stream kept under `key` resume after `seq` (the LiveStream's storageKey). */
export function resumeAt(key, seq, storage = null) {
  try { (storage ?? globalThis.sessionStorage).setItem(key, String(seq)); } catch { /* storage unavailable */ }
}
