// The Italian labels the page scripts show, in one place: each table maps a code (a status, an
// urgency, a kind...) to its text. The tables marked "= dispatch/..." copy the server's own
// labels; tests/unit/test_js.py compares them with the Python tables, so the two cannot drift.
// Labels the server sends with the data (status_label, trigger_label...) or renders in the page
// need no copy here. The tables are frozen: a page that needs more spreads one into its own.

/** The live stream's status (static/js/lib/live.js), as the status line shows it. */
export const LIVE_STATUS_LABELS = Object.freeze({
  connecting: "Connessione…",
  live: "In linea",
  reconnecting: "Connessione persa: riconnessione…",
  offline: "Non in linea",
  ended: "Sessione terminata",
  expired: "Sessione scaduta", // waiting for a new login on the page (relogin.js)
});

/** = dispatch/referrals.py URGENCY_LABELS */
export const URGENCY_LABELS = Object.freeze({ rosso: "Rosso", giallo: "Giallo", verde: "Verde" });

/** = dispatch/referrals.py PROGRESS_LABELS: a referral's status as its referrer reads it. */
export const PROGRESS_LABELS = Object.freeze({
  received: "Ricevuta",
  in_assessment: "In valutazione",
  activated: "Presa in carico attivata",
  unit_on_scene: "Unità sul posto",
  handed_over: "Passata al servizio territoriale",
  closed: "Chiusa",
  not_pertinent: "Non pertinente",
  withdrawn: "Ritirata",
});

/** = dispatch/referrals.py URGENCIES: the one urgency order, most urgent first. */
export const URGENCIES = Object.freeze(Object.keys(URGENCY_LABELS));

/** Position in the urgency order (the most urgent is 0); `fallback` for no or an unknown code. */
export function urgencyRank(urgency, fallback = URGENCIES.length) {
  const rank = URGENCIES.indexOf(urgency);
  return rank < 0 ? fallback : rank;
}

/** A count without an urgency code (supervision's queues: the urgency "none"). */
export const NO_URGENCY_LABEL = "Senza codice";

/** Where a queue entry's urgency comes from (GET /api/v1/queue `urgency_source`). */
export const URGENCY_SOURCE_LABELS = Object.freeze({
  assessment: "valutato",
  proposal: "proposto dall'ente",
  default: "senza proposta",
});

/** = dispatch/referrals.py STATUS_LABELS */
export const REFERRAL_STATUS_LABELS = Object.freeze({
  received: "In attesa",
  in_assessment: "In valutazione",
  activated: "Presa in carico attivata",
  not_pertinent: "Non pertinente",
  redirected: "Reindirizzata",
  merged: "Unita a un'altra segnalazione",
  withdrawn: "Ritirata dal segnalante",
});

/** = dispatch/units.py STATUS_LABELS */
export const UNIT_STATUS_LABELS = Object.freeze({
  off_duty: "Fuori servizio",
  available: "Disponibile",
  assigned: "Assegnata",
  acknowledged: "Presa visione",
  en_route: "In viaggio",
  on_scene: "Sul posto",
  returning: "In rientro",
});

/** = dispatch/units.py SKILL_LABELS */
export const SKILL_LABELS = Object.freeze({
  cultural_mediation: "mediazione culturale",
  minors: "minori",
  psychological_first_aid: "primo soccorso psicologico",
  disability: "disabilità",
  codice_rosa: "Codice Rosa",
});

/** = dispatch/units.py LANGUAGE_LABELS */
export const LANGUAGE_LABELS = Object.freeze({
  it: "italiano", en: "inglese", fr: "francese", es: "spagnolo", de: "tedesco", pt: "portoghese",
  ro: "rumeno", sq: "albanese", ar: "arabo", zh: "cinese", uk: "ucraino", ru: "russo",
  pl: "polacco", ur: "urdu", bn: "bengalese", pa: "punjabi", hi: "hindi", wo: "wolof",
  tl: "tagalog", fa: "persiano", tr: "turco", ti: "tigrino", so: "somalo",
});

/** What an SLA clock times (dispatch/sla.py Kind), as the supervisor's list names it. */
export const CLOCK_KIND_LABELS = Object.freeze({
  referral: "Segnalazione",
  case: "Caso",
  assignment: "Intervento unità",
});

/** A resource request's booking status (dispatch/basket.py Status), as the unit's tablet says it. */
export const REQUEST_STATUS_LABELS = Object.freeze({
  requested: "richiesta",
  held: "bloccata",
  confirmed: "confermata",
  in_use: "in uso",
  released: "liberata",
  expired: "scaduta",
  cancelled: "annullata",
});

/** Why a session ended (user.logged_out's reason); anything else is shown as sent. */
export const LOGOUT_REASON_LABELS = Object.freeze({
  logout: "uscita dall'utente",
  expired: "sessione scaduta",
  idle: "inattività",
  revoked: "sessione revocata",
  device_revoked: "tablet revocato",
});
