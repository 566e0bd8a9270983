// static/js/lib/durations.js: an SLA target as typed on the policies page, read into seconds or
// working days, with each problem in Italian and the fields it is about.
import assert from "node:assert/strict";
import { test } from "node:test";

import { readTarget, readWorkingDays } from "../../static/js/lib/durations.js";

test("hours and minutes become seconds; empty fields count as zero", () => {
  assert.deepEqual(readTarget("2", "30"), { seconds: 9000 });
  assert.deepEqual(readTarget("", "5"), { seconds: 300 });
  assert.deepEqual(readTarget("24", ""), { seconds: 86400 });
  assert.deepEqual(readTarget(" 0 ", "90"), { seconds: 5400 });
  assert.deepEqual(readTarget("0", "0", "2"), { seconds: 2 });
});

test("nothing, zero, letters or more than 30 days are refused in Italian at their field", () => {
  assert.deepEqual(readTarget("", "").fields, ["hours", "minutes"]);
  assert.match(readTarget("", "").problem, /Indicare l'obiettivo/);
  assert.match(readTarget("0", "0").problem, /almeno un minuto/);
  assert.deepEqual(readTarget("due", "30"), { problem: "Le ore vanno scritte in cifre, senza decimali (es. 2).", fields: ["hours"] });
  assert.deepEqual(readTarget("1", "2,5").fields, ["minutes"]);
  assert.deepEqual(readTarget("-1", "").fields, ["hours"]);
  assert.match(readTarget("721", "").problem, /720 ore/);
});

test("working days are a whole number from 1 to 30", () => {
  assert.deepEqual(readWorkingDays("1"), { days: 1 });
  assert.deepEqual(readWorkingDays(" 30 "), { days: 30 });
  assert.match(readWorkingDays("").problem, /Indicare il numero/);
  assert.match(readWorkingDays("uno").problem, /in cifre/);
  assert.match(readWorkingDays("0").problem, /Da 1 a 30/);
  assert.match(readWorkingDays("31").problem, /Da 1 a 30/);
});
