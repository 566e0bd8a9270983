// static/js/lib/mappick.js (the pure part) and drafts.js keeping a picked point: the Italian
// warning for a locate answer, the coordinates the form sends, the locate address.
import assert from "node:assert/strict";
import { test } from "node:test";

import { draftControls } from "../../static/js/lib/drafts.js";
import { OUTSIDE_TUSCANY, locateUrl, pickWarning, roundCoordinate } from "../../static/js/lib/mappick.js";

const PRATO = { istat_code: "100005", name: "Prato" };

test("a point outside Tuscany is said in Italian, the API's own sentence first", () => {
  const outside = { inside_tuscany: false, municipality: null, zone: null, warnings: [{ type: "outside_tuscany", message: "the point lies outside Tuscany" }] };
  assert.equal(pickWarning(outside), OUTSIDE_TUSCANY);
  const told = { ...outside, warnings: [{ type: "outside_tuscany", message_it: "Fuori." }] };
  assert.equal(pickWarning(told), "Fuori.");
});

test("a point in another municipality names both, as dispatch/places.py does", () => {
  const elsewhere = { inside_tuscany: true, municipality: PRATO, warnings: [{ type: "outside_municipality" }] };
  assert.equal(pickWarning(elsewhere, "Firenze"), "Il punto cade nel comune di Prato, non in quello indicato (Firenze).");
});

test("a point where it is said to be warns of nothing", () => {
  assert.equal(pickWarning({ inside_tuscany: true, municipality: PRATO, warnings: [] }, "Prato"), "");
  assert.equal(pickWarning(null), "");
});

test("coordinates go with six decimals and the locate address escapes the municipality", () => {
  assert.equal(roundCoordinate(43.88051234567), 43.880512);
  assert.equal(locateUrl(43.88, 11.09), "/api/v1/geo/locate?lat=43.88&lon=11.09");
  assert.equal(locateUrl(43.88, 11.09, "Reggello & C"), "/api/v1/geo/locate?lat=43.88&lon=11.09&municipality=Reggello+%26+C");
});

test("a draft keeps a hidden field only when it is marked data-draft-keep", () => {
  const input = (props) => ({ tagName: "INPUT", name: "", id: "", value: "", dataset: {}, ...props });
  const form = {
    elements: [
      input({ type: "hidden", name: "place.lat", dataset: { draftKeep: "" } }),
      input({ type: "hidden", name: "csrf_token" }),
      input({ type: "text", name: "place.municipality" }),
    ],
  };
  assert.deepEqual(draftControls(form).map((el) => el.name), ["place.lat", "place.municipality"]);
});
