// static/js/lib/drafts.js: what was typed into a form survives a reload or a re-login, and is
// forgotten once sent, on logout, and per user.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Draft, draftKey, forgetDrafts, readFields, writeFields } from "../../static/js/lib/drafts.js";

/** sessionStorage as the page sees it. */
function fakeStorage() {
  const items = new Map();
  return {
    get length() { return items.size; },
    key: (i) => [...items.keys()][i] ?? null,
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
    keys: () => [...items.keys()],
  };
}

function control(props) {
  return { tagName: "INPUT", type: "text", name: "", id: "", value: "", checked: false, dataset: {}, ...props };
}

/** A form with a note, a category, an urgency radio group, risk checkboxes, a password and a hidden token. */
function fakeForm() {
  const listeners = {};
  const elements = [
    control({ tagName: "TEXTAREA", type: "textarea", id: "note-body" }), // no name: its id names it
    control({ tagName: "SELECT", type: "select-one", name: "trigger", value: "violence" }),
    control({ type: "radio", name: "urgency", value: "rosso" }),
    control({ type: "radio", name: "urgency", value: "giallo", checked: true }),
    control({ type: "checkbox", name: "risks", value: "minors" }),
    control({ type: "checkbox", name: "risks", value: "weapons" }),
    control({ type: "password", name: "secret", value: "pw" }),
    control({ type: "hidden", name: "csrf_token", value: "t" }),
    control({ tagName: "BUTTON", type: "submit", name: "go" }),
    control({ name: "internal", dataset: { draftSkip: "" } }),
  ];
  return {
    elements,
    byName: (name) => elements.find((el) => (el.name || el.id) === name),
    addEventListener(type, fn) { (listeners[type] ??= []).push(fn); },
    fire(type) { for (const fn of listeners[type] ?? []) fn({ type }); },
    type(name, value) { this.byName(name).value = value; this.fire("input"); },
    check(name, value, on = true) {
      const box = elements.find((el) => el.name === name && el.value === value);
      if (box.type === "radio") for (const el of elements) if (el.name === name) el.checked = false;
      box.checked = on;
      this.fire("change");
    },
  };
}

const KEY = draftKey(7, "/casi/3", "note");

test("a draft is keyed by user, page and form", () => {
  assert.equal(KEY, "seus.draft:7:/casi/3:note");
  assert.notEqual(draftKey(8, "/casi/3", "note"), KEY);
  assert.notEqual(draftKey(7, "/casi/4", "note"), KEY);
});

test("the fields a draft keeps: text, choices and checks, never a password, hidden field or button", () => {
  const form = fakeForm();
  assert.deepEqual(readFields(form), {
    "note-body": "", trigger: "violence", urgency: "giallo", risks: [],
  });
});

test("typing saves the form; a new page of the same form puts the text and choices back", () => {
  const storage = fakeStorage();
  const form = fakeForm();
  const draft = new Draft(form, { storage, key: KEY });
  form.type("note-body", "Richiamare la vicina alle 18");
  form.check("risks", "minors");
  form.check("urgency", "rosso");
  assert.deepEqual(storage.keys(), [KEY]);
  assert.equal(draft.pending, false);

  const reloaded = fakeForm();
  const again = new Draft(reloaded, { storage, key: KEY });
  const changed = again.restore();
  assert.deepEqual(readFields(reloaded), {
    "note-body": "Richiamare la vicina alle 18", trigger: "violence", urgency: "rosso", risks: ["minors"],
  });
  // the page's scripts are told about each control that changed
  assert.deepEqual(changed.map((el) => `${el.name || el.id}=${el.value}`).sort(),
    ["note-body=Richiamare la vicina alle 18", "risks=minors", "urgency=giallo", "urgency=rosso"]);
});

test("nothing is kept while the form is as the page rendered it", () => {
  const storage = fakeStorage();
  const form = fakeForm();
  new Draft(form, { storage, key: KEY });
  form.type("note-body", "x");
  form.type("note-body", "");
  assert.deepEqual(storage.keys(), []);
  assert.deepEqual(new Draft(fakeForm(), { storage, key: KEY }).restore(), []);
});

test("a successful write after the form's submit forgets the draft; a failed one keeps it", () => {
  const storage = fakeStorage();
  const form = fakeForm();
  const draft = new Draft(form, { storage, key: KEY });
  form.type("note-body", "Nota importante");

  form.fire("submit");
  draft.written({ ok: false, status: 401 }); // the session had expired
  assert.deepEqual(storage.keys(), [KEY]);

  draft.written({ ok: true, status: 200 }); // a write of something else: not this form's
  assert.deepEqual(storage.keys(), [KEY]);

  form.fire("submit"); // sent again after logging in again
  draft.written({ ok: true, status: 201 });
  assert.deepEqual(storage.keys(), []);
});

test("typing after a submit that did not reach a write keeps the draft when a later write succeeds", () => {
  const storage = fakeStorage();
  const form = fakeForm();
  const draft = new Draft(form, { storage, key: KEY });
  form.type("note-body", "prima");
  form.fire("submit"); // refused by the page itself (a required choice missing): no write
  form.type("note-body", "prima, corretta");
  draft.written({ ok: true, status: 200 }); // another button of the page
  assert.equal(JSON.parse(storage.getItem(KEY)).fields["note-body"], "prima, corretta");
});

test("a form reset (the page's own way of saying sent) forgets the draft", () => {
  const storage = fakeStorage();
  const form = fakeForm();
  new Draft(form, { storage, key: KEY });
  form.type("note-body", "Segnalazione completa");
  form.fire("reset");
  assert.deepEqual(storage.keys(), []);
});

test("discarding puts back what the page rendered", () => {
  const storage = fakeStorage();
  storage.setItem(KEY, JSON.stringify({ at: Date.now(), fields: { "note-body": "vecchio", urgency: "rosso" } }));
  const form = fakeForm();
  const draft = new Draft(form, { storage, key: KEY });
  draft.restore();
  draft.discard();
  assert.equal(form.byName("note-body").value, "");
  assert.equal(readFields(form).urgency, "giallo");
  assert.deepEqual(storage.keys(), []);
});

test("a draft older than a day, or unreadable, is dropped", () => {
  const storage = fakeStorage();
  const now = 1_000_000_000_000;
  storage.setItem(KEY, JSON.stringify({ at: now - 25 * 3600 * 1000, fields: { "note-body": "ieri" } }));
  assert.deepEqual(new Draft(fakeForm(), { storage, key: KEY, now: () => now }).restore(), []);
  assert.deepEqual(storage.keys(), []);
  storage.setItem(KEY, "{not json");
  assert.deepEqual(new Draft(fakeForm(), { storage, key: KEY }).restore(), []);
});

test("values for unknown fields or of the wrong shape are ignored", () => {
  const form = fakeForm();
  const changed = writeFields(form, { gone: "x", "note-body": 42, risks: "minors", secret: "stolen" });
  assert.deepEqual(changed, []);
  assert.equal(form.byName("secret").value, "pw");
});

test("logout forgets the user's drafts and nobody else's; without a user, everyone's", () => {
  const storage = fakeStorage();
  storage.setItem(draftKey(7, "/a", "n"), "{}");
  storage.setItem(draftKey(7, "/b", "n"), "{}");
  storage.setItem(draftKey(70, "/a", "n"), "{}");
  storage.setItem("seus.live.lastSeq:/a", "5");
  forgetDrafts(storage, 7);
  assert.deepEqual(storage.keys().sort(), [draftKey(70, "/a", "n"), "seus.live.lastSeq:/a"]);
  forgetDrafts(storage);
  assert.deepEqual(storage.keys(), ["seus.live.lastSeq:/a"]);
});

test("a full or unavailable storage never breaks typing", () => {
  const storage = fakeStorage();
  storage.setItem = () => { throw new Error("QuotaExceededError"); };
  const form = fakeForm();
  new Draft(form, { storage, key: KEY });
  assert.doesNotThrow(() => form.type("note-body", "testo lungo"));
  assert.equal(form.byName("note-body").value, "testo lungo");
});
