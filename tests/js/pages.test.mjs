// Every page script's imports resolve: each file it names exists under static/js/ and exports
// what it takes. Node links a module (and fails on a missing file or export) before running it;
// running a page then stops at once on the missing `document`, which is expected here.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";

const JS = new URL("../../static/js/", import.meta.url);
const pages = readdirSync(JS).filter((name) => name.endsWith(".js"));

test("there are page scripts", () => {
  assert.ok(pages.length >= 10, pages.join(", "));
});

for (const page of pages) {
  test(`${page} links: every import resolves`, async () => {
    try {
      await import(new URL(page, JS));
    } catch (error) {
      assert.ok(!(error instanceof SyntaxError), `${page}: ${error.message}`);
      assert.notEqual(error.code, "ERR_MODULE_NOT_FOUND", `${page}: ${error.message}`);
      assert.match(String(error.message), /document is not defined/, `${page}: ${error.message}`);
    }
  });
}
