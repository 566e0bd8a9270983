// static/js/lib/clocks.js: ClockFeed keeps a ClockSet in step through follow.js.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ClockFeed, ClockSet, describe } from "../../static/js/lib/clocks.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** GET /api/v1/clocks answered by the test: `answer(body)` answers the oldest call. */
function fakeServer() {
  const calls = [];
  globalThis.fetch = (url) => new Promise((resolve) => calls.push({ url, resolve }));
  const answer = async (body, status = 200) => {
    await settle();
    calls.shift().resolve({ ok: status < 400, status, json: async () => body });
    await settle();
  };
  return { calls, answer };
}

const clock = (id, state = "running", extra = {}) =>
  ({ clock_id: id, kind: "referral", key: id, label: "Presa visione", state, deadline: "2030-01-01T00:00:00Z", warned: 0, ...extra });
const clockEvent = (seq, payload, type = "clock.started") => ({ seq, type, payload });

test("the clocks read, then only the clock events after the read, kept by the page's test", async () => {
  const { calls, answer } = fakeServer();
  const set = new ClockSet();
  const feed = new ClockFeed(set, { keep: (c) => c.kind === "referral" });
  feed.read();
  await settle();
  assert.equal(calls[0].url, "/api/v1/clocks?limit=5000");
  feed.receive(clockEvent(4, clock(2))); // during the read: in it already
  feed.receive(clockEvent(6, clock(3))); // during the read: after it
  await answer({ as_of: 5, clocks: [clock(1), clock(2), clock(9, "running", { kind: "case" })] });
  assert.deepEqual([...set.byId.keys()].sort(), [1, 2, 3]);
  feed.receive(clockEvent(7, clock(1, "met"), "clock.met"));
  feed.receive(clockEvent(8, clock(4, "running", { kind: "assignment" })));
  assert.deepEqual([...set.byId.keys()].sort(), [2, 3]);
  assert.equal(feed.stale, false);
});

test("a snapshot after the clocks' read reads them again; one before it does not", async () => {
  const { calls, answer } = fakeServer();
  const feed = new ClockFeed(new ClockSet());
  feed.read();
  await answer({ as_of: 5, clocks: [] });
  feed.resync({ as_of: 5, reason: "new" });
  await settle();
  assert.equal(calls.length, 0);
  feed.resync({ as_of: 9, reason: "too_far_behind" });
  await settle();
  assert.equal(calls.length, 1);
});

test("nothing to read yet (no address) leaves the feed stale, for the page to ask again", async () => {
  const { calls } = fakeServer();
  let address = null;
  const feed = new ClockFeed(new ClockSet(), { url: () => address });
  await feed.read();
  assert.equal(feed.stale, true);
  assert.equal(calls.length, 0);
  address = "/api/v1/clocks?referral_id=3";
  feed.read();
  await settle();
  assert.equal(calls[0].url, "/api/v1/clocks?referral_id=3");
});

test("a clock reads late once its deadline has passed, and paused while paused", () => {
  const now = Date.parse("2030-01-01T00:00:00Z");
  assert.equal(describe(clock(1), now - 65_000).text, "1:05");
  assert.equal(describe(clock(1), now + 5_000).level, "late");
  assert.equal(describe(clock(1, "paused"), now).level, "paused");
  assert.equal(describe(clock(1, "running", { warned: 1 }), now - 1000).level, "warn");
});
