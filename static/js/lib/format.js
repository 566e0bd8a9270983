// Small helpers the pages share: element creation, screen-reader announcements and times in
// Europe/Rome. (The labels are in labels.js.)

export const TIME_ZONE = "Europe/Rome";

/** A new element; text (when given) is always set as text, never as HTML. */
export function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

/** Say `text` in a live region (emptied first, so the same text is said again). */
export function announce(node, text) {
  node.textContent = "";
  setTimeout(() => { node.textContent = text; }, 50);
}

/** "14:05" in Rome (or "dd/mm/yy, 14:05" withDate); "—" when there is no valid time. */
export function romeTime(iso, withDate = false) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "—";
  return withDate
    ? date.toLocaleString("it-IT", { timeZone: TIME_ZONE, dateStyle: "short", timeStyle: "short" })
    : date.toLocaleTimeString("it-IT", { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
}

/** "Equipaggio: Anna Neri, Luca Bruni · Tel. +39 333 000 0001", or "" when neither is known. */
export function crewText(crew, phone) {
  const names = (crew ?? []).map((m) => m.name).filter(Boolean);
  const parts = [];
  if (names.length) parts.push(`Equipaggio: ${names.join(", ")}`);
  if (phone) parts.push(`Tel. ${phone}`);
  return parts.join(" · ");
}
