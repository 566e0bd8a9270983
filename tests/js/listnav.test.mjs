// static/js/lib/listnav.js: the pure parts of keyboard navigation (keys, moves, selection).
import assert from "node:assert/strict";
import { test } from "node:test";

import { keepSelection, keyAction, stepFrom } from "../../static/js/lib/listnav.js";

/** A keydown as the handler sees it; `inside` lists the selectors its target is within. */
function key(name, { inside = [], ...modifiers } = {}) {
  const target = { closest: (selector) => (selector.split(", ").some((s) => inside.includes(s)) ? {} : null) };
  return { key: name, ctrlKey: false, metaKey: false, altKey: false, ...modifiers, target };
}

test("j, k and the arrows move; Enter acts; o opens", () => {
  const table = [
    ["j", "next"], ["ArrowDown", "next"], ["k", "previous"], ["ArrowUp", "previous"],
    ["Enter", "enter"], ["o", "open"], ["x", null], ["J", null], ["Escape", null],
  ];
  for (const [name, action] of table) assert.equal(keyAction(key(name)), action, name);
});

test("the page's own keys are named, others are not", () => {
  const keys = { m: () => {}, 1: () => {} };
  assert.equal(keyAction(key("m"), keys), "key");
  assert.equal(keyAction(key("1"), keys), "key");
  assert.equal(keyAction(key("2"), keys), null);
  assert.equal(keyAction(key("toString"), keys), null); // not an inherited property
});

test("keys with Ctrl, Meta or Alt are left to the browser", () => {
  for (const modifier of ["ctrlKey", "metaKey", "altKey"]) {
    assert.equal(keyAction(key("j", { [modifier]: true })), null, modifier);
    assert.equal(keyAction(key("Enter", { [modifier]: true })), null, modifier);
  }
});

test("keys typed in a field are text, not commands", () => {
  for (const field of ["input", "textarea", "select", "[contenteditable]"]) {
    assert.equal(keyAction(key("j", { inside: [field] })), null, field);
    assert.equal(keyAction(key("m", { inside: [field] }), { m: () => {} }), null, field);
  }
});

test("Enter on a link or a button is theirs; the other keys still move", () => {
  for (const control of ["a", "button"]) {
    assert.equal(keyAction(key("Enter", { inside: [control] })), null, control);
    assert.equal(keyAction(key("j", { inside: [control] })), "next", control);
    assert.equal(keyAction(key("o", { inside: [control] })), "open", control);
  }
});

test("a move stays within the list, and starts at the first item when none is selected", () => {
  const ids = [7, 3, 9];
  const table = [
    [7, 1, 3], [3, 1, 9], [9, 1, 9], [9, -1, 3], [7, -1, 7], [null, 1, 7], [null, -1, 7], [42, 1, 7],
  ];
  for (const [selected, step, expected] of table) assert.equal(stepFrom(ids, selected, step), expected, `${selected} ${step}`);
  assert.equal(stepFrom([], 7, 1), null);
});

test("the selection stays on its item while the item is shown, else goes to the first", () => {
  assert.equal(keepSelection([1, 2, 3], 2), 2);
  assert.equal(keepSelection([1, 3], 2), 1);
  assert.equal(keepSelection([4, 5], null), 4);
  assert.equal(keepSelection([], 2), null);
});
