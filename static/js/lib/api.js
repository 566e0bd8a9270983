// The one JSON API client the pages share: same-origin credentials, the CSRF token on every
// write, JSON in and out, and the API's error JSON ({error, detail, errors: [{field, message}]})
// turned into Italian text. It never throws: a fetch that fails (network down, timeout) comes
// back as status 0, so a caller can tell "the server said no" from "no answer".
// A 401 means the session is over: the page's re-login dialog opens (session.js, relogin.js)
// and the caller gets the 401 with a text that says so; once logged in again, the user sends
// the same thing again (the page keeps what they typed). Every write's outcome is told to the
// `onWrite` listeners (drafts.js forgets a draft once its form was sent).

import { session } from "./session.js";

export const UNREACHABLE = "Server non raggiungibile: riprova.";
export const EXPIRED = "Sessione scaduta: accedi di nuovo, poi riprova.";

const writeListeners = new Set();

/** `listener({method, url, ok, status})` after every write (not GET) that got an answer or none. */
export function onWrite(listener) {
  writeListeners.add(listener);
  return () => writeListeners.delete(listener);
}

function told(outcome) {
  if (outcome.method === "GET") return;
  for (const listener of [...writeListeners]) {
    try { listener(outcome); } catch (error) { console.error(error); }
  }
}

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

/**
 * Call the API. Options:
 * - headers: extra headers (e.g. Idempotency-Key);
 * - timeoutMs: abort when there is no answer in time (answers as a failed fetch, status 0);
 * - fallback(status): the text when the error JSON has no detail (default "Errore N.");
 * - fieldErrors: how errors[] is added to the text: "field" ("campo: messaggio", default),
 *   "message" (the messages only) or "none".
 * Returns {ok, status, data, detail, errors}: data is the JSON answer (or null), errors the
 * answer's errors[] (or []), detail the Italian text of a failure.
 */
export async function api(method, url, body, options = {}) {
  const { headers = {}, timeoutMs = 0, fallback = (status) => `Errore ${status}.`, fieldErrors = "field" } = options;
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET") init.headers["X-CSRF-Token"] = csrf();
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const controller = timeoutMs ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  if (controller) init.signal = controller.signal;
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    told({ method, url, ok: false, status: 0 });
    return { ok: false, status: 0, data: null, detail: UNREACHABLE, errors: [] };
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  const errors = Array.isArray(data?.errors) ? data.errors : [];
  let detail = typeof data?.detail === "string" && data.detail ? data.detail : fallback(response.status);
  if (response.status === 401 && session.canRelogin) {
    session.expire({ reopen: method !== "GET" }); // a refused save asks again; a background read does not
    detail = EXPIRED;
  }
  if (errors.length && fieldErrors !== "none") {
    const parts = errors.map((e) => (fieldErrors === "message" ? e.message : `${e.field}: ${e.message}`));
    detail += " " + parts.join("; ");
  }
  told({ method, url, ok: response.ok, status: response.status });
  return { ok: response.ok, status: response.status, data, detail, errors };
}
