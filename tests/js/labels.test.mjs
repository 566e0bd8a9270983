// static/js/lib/labels.js: the one JS copy of the Italian labels. (Those copied from dispatch/
// are compared with the Python tables by tests/unit/test_js.py.)
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import * as labels from "../../static/js/lib/labels.js";

const JS = new URL("../../static/js/", import.meta.url);
const tables = Object.entries(labels).filter(([, value]) => typeof value === "object");

/** Every script under static/js/ but labels.js, as [name, source]. */
function scripts() {
  return readdirSync(JS, { recursive: true })
    .filter((name) => name.endsWith(".js") && !name.endsWith("labels.js"))
    .map((name) => [name, readFileSync(new URL(name, JS), "utf8")]);
}

test("every table maps codes to non-empty texts and cannot be changed by a page", () => {
  assert.ok(tables.length >= 10);
  for (const [name, table] of tables) {
    assert.ok(Object.isFrozen(table), `${name} is not frozen`);
    assert.ok(Object.keys(table).length > 0, `${name} is empty`);
    for (const [code, text] of Object.entries(table)) {
      assert.equal(typeof text, "string", `${name}.${code}`);
      assert.ok(code && text.trim() && text === text.trim(), `${name}.${code}: "${text}"`);
    }
  }
});

test("the live status labels name every status the live client reports, and only those", () => {
  const source = readFileSync(new URL("lib/live.js", JS), "utf8");
  const reported = new Set();
  for (const match of source.matchAll(/(?:_setStatus|_connect)\(\s*"(\w+)"|\? "(\w+)" :/g)) {
    reported.add(match[1] ?? match[2]);
  }
  assert.deepEqual([...reported].sort(), ["connecting", "ended", "expired", "live", "offline", "reconnecting"]);
  assert.deepEqual(Object.keys(labels.LIVE_STATUS_LABELS).sort(), [...reported].sort());
});

test("no other script keeps a copy of a table's entries", () => {
  const copies = [];
  for (const [file, source] of scripts()) {
    for (const [name, table] of tables) {
      for (const [code, text] of Object.entries(table)) {
        const quoted = JSON.stringify(text).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const key = code.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        if (new RegExp(`["']?${key}["']?\\s*:\\s*${quoted}`).test(source)) copies.push(`${file}: ${name}.${code}`);
      }
    }
  }
  assert.deepEqual(copies, []);
});

test("the check above finds a copied entry", () => {
  const sample = 'const URGENCY = { rosso: "Rosso", "giallo": "Giallo" };';
  const found = Object.entries(labels.URGENCY_LABELS).filter(([code, text]) =>
    new RegExp(`["']?${code}["']?\\s*:\\s*${JSON.stringify(text)}`).test(sample));
  assert.deepEqual(found.map(([code]) => code), ["rosso", "giallo"]);
});

test("urgencyRank follows the one urgency order and puts no code where the caller says", () => {
  assert.deepEqual([...labels.URGENCIES], ["rosso", "giallo", "verde"]);
  assert.deepEqual(["verde", "rosso", "giallo"].sort((a, b) => labels.urgencyRank(a) - labels.urgencyRank(b)),
    ["rosso", "giallo", "verde"]);
  assert.equal(labels.urgencyRank(null), 3);
  assert.equal(labels.urgencyRank("none"), 3);
  assert.equal(labels.urgencyRank(undefined, 1), 1);
});
