// Drafts: what a user types into a form marked `data-draft="<key>"` is kept in the tab's
// sessionStorage as they type (per user, page and form), and put back when the page opens
// again: after a reload, a re-login, a page that crashed. It is forgotten once the form was
// sent (after the form's submit, a write through api.js that succeeded; or the page resetting
// the form), on logout, and when another user logs in on this tab (relogin.js clears the tab's
// storage). sessionStorage, not localStorage: the text is personal data and leaves with the tab.
//
// The helpers take the form and the storage as arguments so that node's test runner can hand
// them fakes; `startDrafts()` wires them to the page.

const PREFIX = "seus.draft:";
const MAX_AGE_MS = 24 * 60 * 60 * 1000; // longer than a session's absolute lifetime
const SKIPPED_TYPES = new Set(["password", "hidden", "file", "submit", "button", "reset", "image"]);

/** The storage key of a form's draft: one user, one page, one form. */
export function draftKey(user, path, key) {
  return `${PREFIX}${user}:${path}:${key}`;
}

/** The controls of a form whose values a draft keeps (never passwords, hidden or file inputs;
 * a hidden input marked `data-draft-keep` is kept: a point picked on a map, lib/mappick.js). */
export function draftControls(form) {
  return [...form.elements].filter((el) => {
    if (!(el.name || el.id) || el.dataset?.draftSkip !== undefined) return false;
    const tag = String(el.tagName).toUpperCase();
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    const type = String(el.type || "text").toLowerCase();
    if (tag === "INPUT" && type === "hidden" && el.dataset?.draftKeep !== undefined) return true;
    return tag === "INPUT" && !SKIPPED_TYPES.has(type);
  });
}

const nameOf = (el) => el.name || el.id;
const kindOf = (el) => {
  const type = String(el.type || "").toLowerCase();
  if (type === "checkbox" || type === "radio") return type;
  if (String(el.tagName).toUpperCase() === "SELECT" && el.multiple) return "multiple";
  return "text";
};

/**
 * The form's values as {name: value}: a string for text, a select and a radio group (the
 * checked value, "" when none), a sorted list of the checked values for checkboxes and
 * multiple selects.
 */
export function readFields(form) {
  const values = {};
  for (const el of draftControls(form)) {
    const name = nameOf(el);
    switch (kindOf(el)) {
      case "checkbox":
        values[name] ??= [];
        if (el.checked) values[name].push(el.value);
        break;
      case "radio":
        values[name] ??= "";
        if (el.checked) values[name] = el.value;
        break;
      case "multiple":
        values[name] = [...el.options].filter((o) => o.selected).map((o) => o.value);
        break;
      default:
        values[name] = String(el.value ?? "");
    }
  }
  for (const value of Object.values(values)) if (Array.isArray(value)) value.sort();
  return values;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Put `values` into the form; returns the controls it changed (names it does not know are ignored). */
export function writeFields(form, values) {
  const changed = [];
  for (const el of draftControls(form)) {
    const name = nameOf(el);
    if (!Object.hasOwn(values, name)) continue;
    const wanted = values[name];
    switch (kindOf(el)) {
      case "checkbox": {
        const on = Array.isArray(wanted) && wanted.includes(el.value);
        if (el.checked !== on) { el.checked = on; changed.push(el); }
        break;
      }
      case "radio": {
        const on = el.value === wanted;
        if (el.checked !== on) { el.checked = on; changed.push(el); }
        break;
      }
      case "multiple": {
        const chosen = Array.isArray(wanted) ? wanted : [];
        let moved = false;
        for (const option of el.options) {
          const on = chosen.includes(option.value);
          if (option.selected !== on) { option.selected = on; moved = true; }
        }
        if (moved) changed.push(el);
        break;
      }
      default:
        if (typeof wanted === "string" && el.value !== wanted) { el.value = wanted; changed.push(el); }
    }
  }
  return changed;
}

/** Forget the drafts of `user` in `storage` (every user's when `user` is omitted). */
export function forgetDrafts(storage, user) {
  const prefix = user === undefined ? PREFIX : `${PREFIX}${user}:`;
  try {
    const keys = [];
    for (let i = 0; i < storage.length; i += 1) {
      const key = storage.key(i);
      if (key?.startsWith(prefix)) keys.push(key);
    }
    for (const key of keys) storage.removeItem(key);
  } catch { /* storage unavailable */ }
}

/** One form's draft: restore on attach, save as the user types, forget once sent. */
export class Draft {
  constructor(form, { storage, key, now = () => Date.now() }) {
    this.form = form;
    this.key = key;
    this.pending = false; // submitted, the answer not yet known
    this._storage = storage;
    this._now = now;
    this.initial = readFields(form); // what the page rendered: a draft equal to it is no draft
    const save = () => {
      this.pending = false; // typing again after a send that failed
      this.save();
    };
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", () => { this.pending = true; }, true);
    form.addEventListener("reset", () => this.clear());
  }

  /** The stored values, or null (none, unreadable, or older than a day). */
  stored() {
    try {
      const raw = this._storage.getItem(this.key);
      if (raw === null) return null;
      const draft = JSON.parse(raw);
      if (!draft || typeof draft.fields !== "object" || !(this._now() - draft.at < MAX_AGE_MS)) {
        this._storage.removeItem(this.key);
        return null;
      }
      return draft.fields;
    } catch {
      return null;
    }
  }

  save() {
    const fields = readFields(this.form);
    if (same(fields, this.initial)) {
      this.clear();
      return;
    }
    try {
      this._storage.setItem(this.key, JSON.stringify({ at: this._now(), fields }));
    } catch { /* storage full or unavailable: the page still has the text */ }
  }

  clear() {
    try { this._storage.removeItem(this.key); } catch { /* storage unavailable */ }
  }

  /** Put the stored draft back; returns the controls it changed (none: nothing to restore). */
  restore() {
    const fields = this.stored();
    if (!fields) return [];
    return writeFields(this.form, fields);
  }

  /** Back to what the page rendered, and no draft. */
  discard() {
    const changed = writeFields(this.form, this.initial);
    this.clear();
    return changed;
  }

  /** A write's outcome (api.js): after this form's submit, a success means it was sent. */
  written({ ok }) {
    if (!this.pending) return;
    this.pending = false;
    if (ok) this.clear();
  }
}

/** Tell the page's scripts that a control changed, as if the user had changed it. */
function announce(controls) {
  for (const el of controls) {
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }
}

/** The note shown above a restored form, with a button to throw the draft away. */
function restoredNote(doc, draft) {
  const note = doc.createElement("p");
  note.className = "draft-note";
  note.setAttribute("role", "status");
  note.append("Ripristinato il testo non inviato. ");
  const button = doc.createElement("button");
  button.type = "button";
  button.className = "button button-quiet draft-discard";
  button.textContent = "Scarta";
  button.addEventListener("click", () => {
    note.remove();
    announce(draft.discard());
  });
  note.append(button);
  draft.form.prepend(note);
  const gone = () => note.remove();
  draft.form.addEventListener("submit", gone);
  draft.form.addEventListener("reset", gone);
}

/**
 * Wire every `form[data-draft]` of the page: restore, save, forget once sent or on logout.
 * `user` is the logged-in user's id (base.html's `<meta name="seus-user">`).
 */
export function startDrafts({ doc = document, storage = globalThis.sessionStorage, user, path = location.pathname, onWrite } = {}) {
  if (!user || !storage) return [];
  const drafts = [...doc.querySelectorAll("form[data-draft]")].map((form) => {
    const draft = new Draft(form, { storage, key: draftKey(user, path, form.dataset.draft) });
    const restored = draft.restore();
    if (restored.length) {
      announce(restored);
      draft.save(); // the page's own input handlers ran: keep what is now in the form
      restoredNote(doc, draft);
    }
    return draft;
  });
  onWrite?.((outcome) => { for (const draft of drafts) draft.written(outcome); });
  doc.querySelector("form.logout-form")?.addEventListener("submit", () => forgetDrafts(storage, user));
  return drafts;
}
