// What an administrator types for an SLA target, read into the API's form: hours and minutes
// (and seconds, for a target stored below the minute) into seconds, or a number of working
// days. Pure: the policies page (policies.js) shows each problem, in Italian, at its field.

export const MAX_SECONDS = 30 * 86400; // the API's ceiling for a duration target
const DIGITS = /^\d+$/;

const NOT_DIGITS = {
  hours: "Le ore vanno scritte in cifre, senza decimali (es. 2).",
  minutes: "I minuti vanno scritti in cifre, senza decimali (es. 30).",
  seconds: "I secondi vanno scritti in cifre (es. 30).",
};

/**
 * A duration target from its fields' text: {seconds}, or {problem, fields} (the Italian
 * message and which of "hours", "minutes", "seconds" it is about). Empty fields count as 0,
 * minutes beyond 59 are fine (90 min is 1 h 30 min); the total must be positive and at most
 * 30 days.
 */
export function readTarget(hours, minutes, seconds = "") {
  const typed = { hours: String(hours ?? "").trim(), minutes: String(minutes ?? "").trim(), seconds: String(seconds ?? "").trim() };
  if (!typed.hours && !typed.minutes && !typed.seconds) {
    return { problem: "Indicare l'obiettivo in ore e minuti (es. 2 ore e 30 minuti).", fields: ["hours", "minutes"] };
  }
  for (const name of ["hours", "minutes", "seconds"]) {
    if (typed[name] && !DIGITS.test(typed[name])) return { problem: NOT_DIGITS[name], fields: [name] };
  }
  const total = Number(typed.hours || 0) * 3600 + Number(typed.minutes || 0) * 60 + Number(typed.seconds || 0);
  if (total === 0) {
    return { problem: "L'obiettivo deve essere di almeno un minuto.", fields: ["hours", "minutes"] };
  }
  if (total > MAX_SECONDS) {
    return { problem: "L'obiettivo può essere al massimo di 720 ore (30 giorni).", fields: ["hours", "minutes"] };
  }
  return { seconds: total };
}

/** A working-days target from its field's text: {days} (1 to 30), or {problem}. */
export function readWorkingDays(text) {
  const typed = String(text ?? "").trim();
  if (!typed) return { problem: "Indicare il numero di giorni lavorativi (da 1 a 30)." };
  if (!DIGITS.test(typed)) return { problem: "I giorni lavorativi vanno scritti in cifre (es. 1)." };
  const days = Number(typed);
  if (days < 1 || days > 30) return { problem: "Da 1 a 30 giorni lavorativi." };
  return { days };
}
