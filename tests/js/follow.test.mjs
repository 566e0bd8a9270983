// static/js/lib/follow.js: a read with its as_of, then the events after it, each once.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Follow } from "../../static/js/lib/follow.js";

/** Timers run by hand: run() fires those due by `now`. */
function fakeTimers() {
  let now = 0;
  let next = 1;
  const due = new Map();
  return {
    setTimeout(fn, ms = 0) { const id = next++; due.set(id, [now + ms, fn]); return id; },
    clearTimeout(id) { due.delete(id); },
    get pending() { return due.size; },
    advance(ms) {
      now += ms;
      for (const [id, [at, fn]] of [...due].sort((a, b) => a[1][0] - b[1][0])) {
        if (at <= now && due.has(id)) { due.delete(id); fn(); }
      }
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A Follow whose reads the test answers one by one; `log` says what the page was told. */
function harness(options = {}) {
  const reads = [];
  const log = [];
  const timers = fakeTimers();
  const follow = new Follow({
    load: () => new Promise((resolve, reject) => reads.push({ resolve, reject })),
    onRead: (data) => log.push(`read ${data.as_of}`),
    apply: (event, meta) => log.push(meta?.buffered ? `apply ${event.seq} (waited)` : `apply ${event.seq}`),
    afterRead: () => log.push("after"),
    onError: (error) => log.push(`error ${error.message}`),
    timers,
    ...options,
  });
  /** Answer the oldest read asked for (a read asks on the next turn). */
  const answer = async (data) => { await settle(); reads.shift().resolve(data); await settle(); };
  const fail = async (message) => { await settle(); reads.shift().reject(new Error(message)); await settle(); };
  const event = (seq) => ({ seq, type: "referral.claimed", payload: { id: 1 } });
  return { follow, reads, log, timers, answer, fail, event };
}

test("events up to the read's as_of are in the read; those after it are applied", async () => {
  const { follow, log, answer, event } = harness();
  const read = follow.read();
  await answer({ as_of: 10 });
  assert.equal(await read, true);
  for (const seq of [9, 10, 11]) follow.receive(event(seq));
  assert.deepEqual(log, ["read 10", "after", "apply 11"]);
  assert.equal(follow.seq, 11);
});

test("events that arrive during the read wait for it, then only those after its as_of apply", async () => {
  const { follow, log, answer, event } = harness();
  follow.read();
  await settle();
  for (const seq of [8, 12, 13]) follow.receive(event(seq));
  assert.deepEqual(log, []);
  await answer({ as_of: 12 });
  assert.deepEqual(log, ["read 12", "apply 13 (waited)", "after"]);
});

test("an event is never applied twice, nor one older than the state", async () => {
  const { follow, log, answer, event } = harness();
  follow.read();
  await answer({ as_of: 10 });
  for (const seq of [11, 11, 12, 11, 12, 13]) follow.receive(event(seq));
  assert.deepEqual(log, ["read 10", "after", "apply 11", "apply 12", "apply 13"]);
});

test("nothing is lost nor applied twice across a re-read the page asks for", async () => {
  const { follow, log, reads, answer, event } = harness();
  follow.read();
  await answer({ as_of: 10 });
  follow.receive(event(11));
  follow.read();
  await settle();
  follow.receive(event(12)); // during the re-read, which was made at 11
  follow.receive(event(13));
  assert.equal(reads.length, 1);
  await answer({ as_of: 12 });
  assert.deepEqual(log, ["read 10", "after", "apply 11", "read 12", "apply 13 (waited)", "after"]);
});

test("a snapshot the state does not include makes one re-read; events during it wait", async () => {
  const { follow, log, reads, answer, event } = harness();
  follow.read();
  await answer({ as_of: 10 });
  follow.resync({ as_of: 30, reason: "too_far_behind" });
  follow.resync({ as_of: 30, reason: "too_far_behind" }); // said twice: still one read
  await settle();
  assert.equal(reads.length, 1);
  for (const seq of [31, 32]) follow.receive(event(seq));
  await answer({ as_of: 31 });
  assert.deepEqual(log, ["read 10", "after", "read 31", "apply 32 (waited)", "after"]);
  assert.equal(reads.length, 0);
});

test("a snapshot the state already includes reads nothing", async () => {
  const { follow, log, reads, answer, event } = harness();
  follow.read();
  await answer({ as_of: 10 });
  follow.resync({ as_of: 8, reason: "new" });
  follow.resync({ as_of: 10, reason: "new" });
  await settle();
  assert.equal(reads.length, 0);
  follow.receive(event(11));
  assert.deepEqual(log, ["read 10", "after", "apply 11"]);
});

test("a snapshot of a replaced log always reads again, and what waited from the old log is dropped", async () => {
  const { follow, log, reads, answer, event } = harness();
  follow.read();
  await answer({ as_of: 50 });
  follow.read();
  await settle();
  follow.receive(event(51)); // from the old log, waiting for the read
  follow.resync({ as_of: 3, reason: "ahead_of_log" });
  await answer({ as_of: 51 }); // the read made before the snapshot no longer counts...
  assert.deepEqual(log, ["read 50", "after"]);
  assert.equal(reads.length, 1); // ...and is made again
  follow.receive(event(4));
  await answer({ as_of: 3 });
  assert.deepEqual(log, ["read 50", "after", "read 3", "apply 4 (waited)", "after"]);
});

test("a snapshot during a read: a read behind the snapshot is made again", async () => {
  const { follow, log, reads, answer, event } = harness();
  follow.read();
  await settle();
  follow.resync({ as_of: 15, reason: "new" }); // the stream starts at 15; the read was asked before
  follow.receive(event(16));
  await answer({ as_of: 12 }); // misses 13..15: not kept
  assert.deepEqual(log, []);
  assert.equal(reads.length, 1);
  follow.receive(event(17));
  await answer({ as_of: 16 });
  assert.deepEqual(log, ["read 16", "apply 17 (waited)", "after"]);
});

test("a snapshot during a read that reaches it keeps the read", async () => {
  const { follow, log, reads, answer } = harness();
  follow.read();
  await settle();
  follow.resync({ as_of: 15, reason: "new" });
  await answer({ as_of: 15 });
  assert.deepEqual(log, ["read 15", "after"]);
  assert.equal(reads.length, 0);
});

test("a reset during a read drops that read and reads again", async () => {
  const { follow, log, reads, answer, event } = harness();
  follow.read();
  await settle();
  follow.reset(); // e.g. the page now shows another zone
  await settle();
  follow.receive(event(21));
  await answer({ as_of: 20 });
  assert.deepEqual(log, []);
  assert.equal(reads.length, 1);
  await answer({ as_of: 21 });
  assert.deepEqual(log, ["read 21", "after"]);
});

test("a read asked for during another is made once more after it", async () => {
  const { follow, log, reads, answer } = harness();
  const first = follow.read();
  await settle();
  const second = follow.read();
  follow.read();
  assert.equal(second, first);
  await answer({ as_of: 5 });
  assert.equal(reads.length, 1);
  await answer({ as_of: 6 });
  assert.equal(await first, true);
  assert.deepEqual(log, ["read 5", "after", "read 6", "after"]);
});

test("reread waits, and the calls meanwhile ride along with the first", async () => {
  const { follow, reads, timers, answer } = harness();
  follow.read();
  await answer({ as_of: 1 });
  follow.reread(300);
  timers.advance(200);
  follow.reread(300);
  follow.reread(300);
  timers.advance(100);
  await settle();
  assert.equal(reads.length, 1);
  timers.advance(1000);
  await settle();
  assert.equal(reads.length, 1);
  assert.equal(timers.pending, 0);
});

test("a failed read keeps the state, applies what waited and is made again later", async () => {
  const { follow, log, reads, timers, answer, fail, event } = harness({ retryMs: 3000 });
  follow.read();
  await answer({ as_of: 10 });
  const again = follow.read();
  await settle();
  follow.receive(event(11));
  await fail("offline");
  assert.equal(await again, false);
  assert.deepEqual(log, ["read 10", "after", "apply 11 (waited)", "error offline"]);
  follow.receive(event(12));
  timers.advance(2999);
  assert.equal(reads.length, 0);
  timers.advance(1);
  await settle();
  assert.equal(reads.length, 1);
  await answer({ as_of: 12 });
  assert.deepEqual(log.slice(-3), ["apply 12", "read 12", "after"]);
});

test("without a state, events wait until a read lands; a failed first read is retried", async () => {
  const { follow, log, reads, timers, answer, fail, event } = harness({ retryMs: 1000 });
  assert.equal(follow.stale, true);
  follow.read();
  await fail("500");
  assert.equal(follow.stale, true);
  follow.receive(event(3));
  follow.receive(event(4));
  timers.advance(1000);
  await settle();
  await answer({ as_of: 3 });
  assert.deepEqual(log, ["error 500", "read 3", "apply 4 (waited)", "after"]);
  assert.equal(reads.length, 0);
  assert.equal(follow.stale, false);
});

test("a read that gives nothing leaves the page as it is, without an error nor a retry", async () => {
  const { follow, log, timers, answer } = harness({ retryMs: 1000 });
  const read = follow.read();
  await answer(null);
  assert.equal(await read, false);
  assert.equal(follow.stale, true);
  timers.advance(5000);
  assert.deepEqual(log, []);
});

test("a read without as_of is an error", async () => {
  const { follow, log, answer } = harness();
  follow.read();
  await answer({ entries: [] });
  assert.deepEqual(log, ["error a read without as_of"]);
});

test("a state read elsewhere (the rendered page) is followed from its as_of", () => {
  const { follow, log, reads, event } = harness();
  follow.since("7");
  for (const seq of [6, 7, 8]) follow.receive(event(seq));
  assert.deepEqual(log, ["apply 8"]);
  assert.equal(reads.length, 0);
});

test("whatever the timing of reads, snapshots and events, the state ends complete, each event once", async () => {
  // The log grows; the stream hands each event to the page in order, except that it may lose
  // a stretch and say so with a snapshot. Reads answer late, with the head at the time asked.
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let round = 0; round < 50; round += 1) {
    let head = 0;
    const included = new Set();
    const reads = [];
    const follow = new Follow({
      load: () => new Promise((resolve) => reads.push({ resolve, at: head })),
      onRead: (data) => {
        included.clear();
        for (let seq = 1; seq <= data.as_of; seq += 1) included.add(seq);
      },
      apply: (event) => {
        assert.ok(!included.has(event.seq), `event ${event.seq} applied twice`);
        included.add(event.seq);
      },
      timers: fakeTimers(),
    });
    follow.read();
    await settle();
    for (let step = 0; step < 60; step += 1) {
      const roll = random();
      if (roll < 0.5) {
        head += 1;
        follow.receive({ seq: head, type: "x" });
      } else if (roll < 0.6) {
        head += 1 + Math.floor(random() * 3); // lost by the stream...
        follow.resync({ as_of: head, reason: "too_far_behind" }); // ...which says so
      } else if (roll < 0.7) {
        follow.read();
        await settle();
      } else if (reads.length) {
        const read = reads.shift();
        read.resolve({ as_of: read.at });
        await settle();
      }
    }
    await settle();
    while (reads.length) {
      const read = reads.shift();
      read.resolve({ as_of: read.at });
      await settle();
    }
    assert.equal(follow.stale, false);
    assert.equal(follow.seq, head);
    assert.deepEqual([...included].sort((a, b) => a - b), Array.from({ length: head }, (_, i) => i + 1));
  }
});
