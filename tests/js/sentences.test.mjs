// static/js/lib/sentences.js: the room's feed speaks of case numbers, people and units, never of
// event types, log ids or sequence numbers, and asks for attention only when someone must act.
import assert from "node:assert/strict";
import { test } from "node:test";

import { sentence } from "../../static/js/lib/sentences.js";

const CN = "SEUS-2026-000007";
const said = (type, payload) => sentence({ seq: 223, type, actor: "user:11", payload });

test("a claim names the case number and the operator, as the room says it", () => {
  assert.deepEqual(said("referral.claimed", { id: 7, case_number: CN, holder_name: "Operatrice demo" }),
    { text: "SEUS-2026-000007 presa in carico da Operatrice demo", attention: false });
});

test("what a referrer adds is read with its words and asks for attention; a withdrawal says why", () => {
  assert.deepEqual(
    said("referral.addendum_added", { id: 7, case_number: CN, referrer_name: "PS Careggi", body: "Ora è al bar" }),
    { text: "SEUS-2026-000007: nuove informazioni da PS Careggi", attention: true, body: "Ora è al bar" });
  assert.deepEqual(
    said("referral.withdrawn", { id: 7, case_number: CN, referrer_name: "PS Careggi", reason: "Tornata a casa" }),
    { text: "SEUS-2026-000007 ritirata da PS Careggi (Tornata a casa)", attention: false });
});

test("every sentence is about things people know: no type names, no user:N, no seq", () => {
  const events = [
    ["referral.received", { case_number: CN, referrer: { name: "PS Careggi" }, municipality: "Firenze", summary: "Donna sola" }],
    ["referral.released", { case_number: CN, released_by_name: "Anna", reason: "fine turno" }],
    ["referral.reassigned", { case_number: CN, to_name: "Luca", by_name: "Sara" }],
    ["referral.decided", { case_number: CN, decision: "activate", by_name: "Anna" }],
    ["referral.decided", { case_number: CN, decision: "redirect", redirect_to: "Caritas", by_name: "Anna" }],
    ["referral.progressed", { case_number: CN, status: "unit_on_scene" }],
    ["case.unit_dispatched", { case_number: CN, unit_name: "UTES Prato 1" }],
    ["case.unit_on_scene", { case_number: CN, unit_name: "UTES Prato 1" }],
    ["case.unit_released", { case_number: CN, unit_name: "UTES Prato 1", how: "recalled" }],
    ["unit.checked_in", { case_number: CN, unit_name: "UTES Prato 1" }],
    ["booking.held", { case_number: CN, resource_name: "Posti letto", status: "held" }],
    ["case.handover_sent", { case_number: CN, zone_name: "Firenze" }],
    ["handover.rejected", { case_number: CN, reason: "Non residente" }],
    ["case.closed", { case_number: CN, reason: "Concluso" }],
    ["case.note_added", { case_number: CN, author_name: "Anna" }],
    ["case.urgency_changed", { case_number: CN, urgency: "rosso", previous: "giallo" }],
    ["clock.breached", { case_number: CN, label: "Presa visione" }],
    ["escalation.raised", { case_number: CN, label: "Presa visione" }],
    ["user.logged_out", { username: "Anna", reason: "idle" }],
  ];
  for (const [type, payload] of events) {
    const { text } = said(type, payload);
    assert.ok(text.length > 5, type);
    assert.doesNotMatch(text, /\b(referral|case|clock|booking|unit|handover|user)[._:]/, `${type}: ${text}`);
    assert.doesNotMatch(text, /\b223\b|undefined|null/, `${type}: ${text}`);
  }
  assert.equal(said("case.unit_released", { case_number: CN, unit_name: "UTES Prato 1", how: "recalled" }).text,
    "UTES Prato 1 richiamata da SEUS-2026-000007");
  assert.equal(said("case.urgency_changed", { case_number: CN, urgency: "rosso", previous: "giallo" }).text,
    "SEUS-2026-000007: codice rosso (era giallo)");
});

test("clock starts, echoes of a case's own events and unknown types are not shown", () => {
  for (const type of ["clock.started", "clock.stopped", "clock.warned", "case.opened", "resource.availability_changed", "something.new"]) {
    assert.equal(said(type, { case_number: CN }), null, type);
  }
  // a unit's status during a case is told by the case's own event
  assert.equal(said("unit.status_changed", { case_number: CN, unit_name: "UTES Prato 1", status_label: "In viaggio" }), null);
  assert.equal(said("unit.status_changed", { unit_name: "UTES Prato 1", status_label: "Fuori servizio" }).text,
    "UTES Prato 1: fuori servizio");
});

test("only what someone must act on asks for attention", () => {
  const attention = (type, payload = { case_number: CN }) => said(type, payload).attention;
  assert.equal(attention("referral.received", { case_number: CN, referrer: { name: "PS" } }), true);
  assert.equal(attention("clock.breached"), true);
  assert.equal(attention("handover.rejected"), true);
  assert.equal(attention("booking.expired", { case_number: CN, resource_name: "Letto", status: "expired" }), true);
  assert.equal(attention("referral.claimed", { case_number: CN, holder_name: "Anna" }), false);
  assert.equal(attention("booking.held", { case_number: CN, resource_name: "Letto", status: "held" }), false);
  assert.equal(attention("case.unit_on_scene", { case_number: CN, unit_name: "U" }), false);
});

test("a message to the room keeps its author and its text apart", () => {
  assert.deepEqual(said("room.message_posted", { author: "Sara", body: "Allerta meteo" }),
    { text: "Messaggio", attention: false, author: "Sara", body: "Allerta meteo" });
});
