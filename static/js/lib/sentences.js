// An event of the live log as a sentence a person in the room reads: case numbers, people and
// units by name, in Italian. Never an event type, an id of the log or a sequence number; events
// nobody needs to read (a clock started, a unit's status echoed by its case) are not shown.
//
//   import { sentence } from "./lib/sentences.js";
//   const said = sentence(event);  // null, or { text, attention, author?, body? }
//
// `attention`: someone must act on it (a new referral, a breach, a rejected handover...); the
// room's page sounds only for those.
import { LOGOUT_REASON_LABELS, PROGRESS_LABELS, REQUEST_STATUS_LABELS, URGENCY_LABELS } from "./labels.js";

/** The words of each event type: (payload, event) -> text, or [text, attention]. */
const SAY = {
  "referral.received": (p) => [
    `${p.case_number} ricevuta da ${p.referrer?.name ?? "un ente"}`
      + (p.municipality ? ` · ${p.municipality}` : "") + (p.summary ? `: ${p.summary}` : ""),
    true,
  ],
  "referral.claimed": (p) => `${p.case_number} presa in carico da ${p.holder_name}`,
  "referral.released": (p) => `${p.case_number} rimessa in coda da ${p.released_by_name}`
    + (p.reason ? ` (${p.reason})` : ""),
  "referral.reassigned": (p) => `${p.case_number} affidata a ${p.to_name} da ${p.by_name}`,
  "referral.decided": (p) => `${p.case_number}: ${decided(p)} (${p.by_name})`,
  "referral.progressed": (p) => `${p.case_number}: ${PROGRESS_LABELS[p.status] ?? p.status}`,
  "referral.addendum_added": (p) => [`${p.case_number}: nuove informazioni da ${p.referrer_name ?? "il segnalante"}`, true],
  "referral.withdrawn": (p) => `${p.case_number} ritirata da ${p.referrer_name ?? "il segnalante"}`
    + (p.reason ? ` (${p.reason})` : ""),
  "case.unit_dispatched": (p) => `${p.unit_name} inviata per ${p.case_number}`,
  "case.unit_on_scene": (p) => `${p.unit_name} sul posto per ${p.case_number}`,
  "case.unit_released": (p) => p.how === "recalled"
    ? `${p.unit_name} richiamata da ${p.case_number}`
    : `${p.unit_name} ha concluso l'intervento per ${p.case_number}`,
  "unit.status_changed": (p) => (p.case_number ? null : `${p.unit_name}: ${lower(p.status_label)}`),
  "unit.checked_in": (p) => `${p.unit_name} ha fatto il check-in per ${p.case_number}`,
  "unit.message_sent": (p) => `${p.author_name} ha scritto a ${p.unit_name}`
    + (p.case_number ? ` per ${p.case_number}` : ""),
  "unit.message_acknowledged": (p) => `${p.unit_name} ha letto il messaggio della sala`
    + (p.case_number ? ` per ${p.case_number}` : ""),
  "unit.position_reported": () => null,
  "case.status_changed": (p) => (p.status === "resources_in_place"
    ? `${p.case_number}: risorse attivate` : null),
  "case.handover_sent": (p) => `${p.case_number} passata al servizio territoriale`
    + (p.zone_name ? ` (${p.zone_name})` : ""),
  "handover.sent": (p) => [`${p.case_number}: nuovo passaggio in carico da valutare`, true],
  "handover.accepted": (p) => `${p.case_number}: passaggio in carico accettato`,
  "handover.rejected": (p) => [`${p.case_number}: passaggio in carico respinto`
    + (p.reason ? ` (${p.reason})` : ""), true],
  "case.closed": (p) => `${p.case_number} chiuso` + (p.reason ? ` (${p.reason})` : ""),
  "case.note_added": (p) => `${p.author_name} ha aggiunto una nota a ${p.case_number}`,
  "case.urgency_changed": (p) => `${p.case_number}: codice ${lower(URGENCY_LABELS[p.urgency] ?? p.urgency)}`
    + (p.previous ? ` (era ${lower(URGENCY_LABELS[p.previous] ?? p.previous)})` : ""),
  "case.reassigned": (p) => `${p.case_number} affidato a ${p.to_name} da ${p.by_name}`,
  "clock.breached": (p) => [`${p.case_number}: tempo scaduto per ${lower(p.label ?? "una scadenza")}`, true],
  "escalation.raised": (p) => [`Escalation: ${p.label ?? "tempo scaduto"}`
    + (p.case_number ? ` per ${p.case_number}` : ""), true],
  "escalation.acknowledged": (p) => `Escalation${p.case_number ? ` per ${p.case_number}` : ""}`
    + ` presa in carico da ${p.by_name}`,
  "shift_note.written": (p) => `Consegna di turno da ${p.author_name}`,
  "user.logged_in": (p) => `${p.username} è entrato`,
  "user.logged_out": (p) => `${p.username} è uscito`
    + (p.reason && p.reason !== "logout" ? ` (${LOGOUT_REASON_LABELS[p.reason] ?? p.reason})` : ""),
  "unit.crew_changed": (p) => `${p.unit_name}: equipaggio aggiornato da ${p.by}`,
  "device.pairing_code_issued": (p) => `${p.unit_name}: codice di abbinamento del tablet generato da ${p.by}`,
  "device.paired": (p) => `${p.unit_name}: tablet abbinato`,
  "device.pairing_refused": (p) => `Abbinamento di un tablet rifiutato`
    + (p.unit_name ? ` (${p.unit_name})` : "") + ` · ${PAIRING_REFUSALS[p.reason] ?? "codice non valido"}`,
  "device.revoked": (p) => `${p.unit_name}: ${p.every ? "tutti i tablet revocati" : "un tablet revocato"} da ${p.by}`,
  "sla.policy_changed": (p) => `Tempi di servizio ${p.restored_from ? "ripristinati a una versione precedente" : "cambiati"}: `
    + lower(p.label ?? p.milestone ?? ""),
};

const PAIRING_REFUSALS = { unknown: "codice inesistente", expired: "codice scaduto", used: "codice già usato" };

function bookingSentence(type, p) {
  const step = REQUEST_STATUS_LABELS[p.status] ?? p.status;
  return [`${p.case_number}: ${p.resource_name} ${step}`, type === "booking.expired"];
}

function decided(p) {
  switch (p.decision) {
    case "activate": return "presa in carico attivata";
    case "not_pertinent": return "non pertinente";
    case "redirect": return p.redirect_to ? `indirizzata a ${p.redirect_to}` : "indirizzata ad altri";
    case "merge": return "unita a un'altra segnalazione";
    default: return "decisione presa";
  }
}

function lower(text) {
  return String(text ?? "").toLowerCase();
}

/** The event in words, or null when nobody needs to read it. */
export function sentence(event) {
  const type = String(event?.type ?? "");
  const payload = event?.payload ?? {};
  if (type === "room.message_posted") {
    return { text: "Messaggio", attention: false, author: String(payload.author ?? ""), body: String(payload.body ?? "") };
  }
  if (type === "shift_note.written") {
    return { text: SAY[type](payload), attention: false, body: String(payload.body ?? "") };
  }
  if (type === "referral.addendum_added") {
    const [text, attention] = SAY[type](payload);
    return { text, attention, body: String(payload.body ?? "") };
  }
  let said = null;
  if (type.startsWith("booking.")) said = bookingSentence(type, payload);
  else if (SAY[type]) said = SAY[type](payload, event);
  if (said === null || said === undefined) return null;
  const [text, attention] = Array.isArray(said) ? said : [said, false];
  return { text, attention };
}
