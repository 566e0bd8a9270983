// static/js/lib/session.js and the live stream's side of an expired session (static/js/lib/live.js):
// whoever learns first that the session is over, the page waits for one new login and then resumes.
import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveStream } from "../../static/js/lib/live.js";
import { SessionWatch } from "../../static/js/lib/session.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A login the test answers: `answer(true)` is the same user back. */
function dialog() {
  const asked = [];
  return {
    asked,
    relogin: () => new Promise((resolve) => asked.push(resolve)),
    answer(value) { asked.shift()(value); },
  };
}

/** The browser around a LiveStream: sockets, timers, storage, location, fetch. */
function fakeEnv({ me = 401 } = {}) {
  const sockets = [];
  const timers = new Map();
  const items = new Map();
  let next = 1;
  const env = {
    sockets,
    assigned: [],
    fetched: [],
    location: { href: "http://console.test/casi/3", pathname: "/casi/3", assign: (url) => env.assigned.push(url) },
    navigator: { onLine: true },
    listeners: {},
    addEventListener(type, fn) { env.listeners[type] = fn; },
    removeEventListener(type) { delete env.listeners[type]; },
    sessionStorage: {
      getItem: (key) => (items.has(key) ? items.get(key) : null),
      setItem: (key, value) => items.set(key, String(value)),
      removeItem: (key) => items.delete(key),
    },
    setTimeout(fn, ms) { const id = next++; timers.set(id, { fn, ms }); return id; },
    clearTimeout(id) { timers.delete(id); },
    get retries() { return [...timers.values()].filter((t) => t.ms < 30_000).length; },
    async fetch(url) { env.fetched.push(url); return { status: me }; },
    WebSocket: class {
      constructor(url) { this.url = url; this.closed = false; sockets.push(this); }
      close() { this.closed = true; }
    },
  };
  return env;
}

function stream(env, session, statuses) {
  return new LiveStream({ env, session, onStatus: (status) => statuses.push(status), minBackoffMs: 10 });
}

function goLive(socket, seq) {
  socket.onmessage({ data: JSON.stringify({ type: "hello", head: seq, heartbeat: 15 }) });
  socket.onmessage({ data: JSON.stringify({ type: "event", seq, event: { seq, type: "x" } }) });
  socket.onmessage({ data: JSON.stringify({ type: "live", head: seq }) });
}

test("one dialog for every report while it is open; true once the same user is back", async () => {
  const login = dialog();
  const watch = new SessionWatch();
  const heard = [];
  watch.subscribe((state) => heard.push(state));
  assert.equal(await watch.expire(), false, "no dialog on this page: the caller falls back");

  watch.provide(login.relogin);
  const first = watch.expire();
  const second = watch.expire();
  assert.equal(first, second);
  assert.equal(watch.expired, true);
  await settle();
  assert.equal(login.asked.length, 1);
  assert.deepEqual(heard, ["expired"]);

  login.answer(true);
  assert.equal(await first, true);
  assert.equal(watch.expired, false);
  assert.deepEqual(heard, ["expired", "renewed"]);
});

test("a report that asks again reopens a question put aside; others do not", async () => {
  const login = dialog();
  const watch = new SessionWatch();
  let reopened = 0;
  watch.provide(login.relogin, () => { reopened += 1; });
  const pending = watch.expire();
  watch.expire(); // a background read refused
  assert.equal(reopened, 0);
  assert.equal(watch.expire({ reopen: true }), pending); // a save refused
  assert.equal(reopened, 1);
  await settle();
  assert.equal(login.asked.length, 1);
  login.answer(true);
  await pending;
  watch.expire({ reopen: true }); // a new expiry: a new question, not a reopening
  assert.equal(reopened, 1);
  await settle();
  assert.equal(login.asked.length, 1);
});

test("no new login to ask for here (a logout in another tab): the page hears it ended", async () => {
  const login = dialog();
  const watch = new SessionWatch();
  const heard = [];
  watch.provide(login.relogin);
  watch.subscribe((state) => heard.push(state));
  const pending = watch.expire();
  await settle();
  login.answer(false);
  assert.equal(await pending, false);
  assert.deepEqual(heard, ["expired", "ended"]);
});

test("close 4001: the badge says expired, no reconnection, then it resumes after its last seq", async () => {
  const env = fakeEnv();
  const login = dialog();
  const watch = new SessionWatch();
  watch.provide(login.relogin);
  const statuses = [];
  const live = stream(env, watch, statuses);
  live.start();
  goLive(env.sockets[0], 41);

  env.sockets[0].onclose({ code: 4001 });
  await settle();
  assert.deepEqual(statuses, ["connecting", "live", "expired"]);
  assert.equal(env.retries, 0, "no reconnection while nobody is logged in");
  assert.deepEqual(env.assigned, [], "the page stays: no trip to the login page");
  assert.equal(env.sockets.length, 1);

  env.setTimeout = () => 0; // from here on the test does not follow timers
  login.answer(true);
  await settle();
  assert.equal(env.sockets.length, 2);
  assert.match(env.sockets[1].url, /after=41$/);
  assert.deepEqual(statuses, ["connecting", "live", "expired", "connecting"]);
});

test("when the provider says the session ended (a logout), the stream ends as before the dialog", async () => {
  const env = fakeEnv();
  const login = dialog();
  const watch = new SessionWatch();
  watch.provide(login.relogin);
  const statuses = [];
  const live = stream(env, watch, statuses);
  live.start();
  goLive(env.sockets[0], 12);
  env.sockets[0].onclose({ code: 4001 });
  await settle();
  login.answer(false);
  await settle();
  assert.deepEqual(statuses, ["connecting", "live", "expired", "ended"]);
  assert.deepEqual(env.assigned, ["/login"]);
  assert.equal(env.sessionStorage.getItem("seus.live.lastSeq:/casi/3"), null);
  assert.equal(env.retries, 0);
});

test("a refused handshake whose probe answers 401 opens the same dialog", async () => {
  const env = fakeEnv({ me: 401 });
  const login = dialog();
  const watch = new SessionWatch();
  watch.provide(login.relogin);
  const statuses = [];
  const live = stream(env, watch, statuses);
  live.start();
  env.sockets[0].onclose({ code: 1006 }); // no hello: the server refused the upgrade
  await settle();
  await settle();
  assert.deepEqual(env.fetched, ["/api/v1/me"]);
  assert.equal(statuses.at(-1), "expired");
  assert.equal(login.asked.length, 1);
  assert.equal(env.retries, 0);
});

test("an API call's 401 reported elsewhere on the page pauses an open stream too", async () => {
  const env = fakeEnv();
  const login = dialog();
  const watch = new SessionWatch();
  watch.provide(login.relogin);
  const statuses = [];
  const live = stream(env, watch, statuses);
  live.start();
  goLive(env.sockets[0], 7);
  watch.expire();
  assert.equal(env.sockets[0].closed, true);
  assert.equal(statuses.at(-1), "expired");
  env.listeners.online(); // the network coming back does not reconnect a session that is over
  assert.equal(env.sockets.length, 1);
  assert.equal(env.retries, 0);
});

test("without a dialog (a unit tablet) close 4001 still ends the stream and goes to the login page", async () => {
  const env = fakeEnv();
  const statuses = [];
  const live = stream(env, new SessionWatch(), statuses);
  live.start();
  goLive(env.sockets[0], 3);
  env.sockets[0].onclose({ code: 4001 });
  assert.deepEqual(statuses, ["connecting", "live", "ended"]);
  assert.deepEqual(env.assigned, ["/login"]);
  assert.equal(live.lastSeq, 3);
  assert.equal(env.sessionStorage.getItem("seus.live.lastSeq:/casi/3"), null);
});
