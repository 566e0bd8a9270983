// Logging in again without leaving the page. Loaded by base.html on every page of a logged-in
// user. When the session ends (session.js: the live stream's close 4001, an API call's 401),
// a dialog asks for the user name and password and sends them to POST /api/v1/session (JSON,
// the login's own rate limit and argon2 check; errors next to their field). The same user back:
// the page takes the new CSRF token and carries on (the live stream resumes after its last seq,
// the forms keep their text, a refused write can be sent again). Another user: nothing of the
// previous one stays on this tab (its storage is cleared) and the browser goes to the new
// user's first screen. A session ended by a logout in another tab of this browser is no expiry:
// that page goes to the login page, as the user asked. It also starts the page's drafts
// (drafts.js), which keep what was typed across a reload.

import { onWrite } from "./api.js";
import { forgetDrafts, startDrafts } from "./drafts.js";
import { session } from "./session.js";

const LOGIN_URL = "/api/v1/session";
const WHO_URL = "/api/v1/me";
const UNREACHABLE = "Server non raggiungibile: riprova.";
const REQUIRED = { username: "Inserisci il nome utente.", password: "Inserisci la password." };
const LOGGED_OUT_KEY = "seus.loggedOutAt"; // localStorage: every tab of the browser reads it
const loadedAt = Date.now();

const meta = (name) => document.querySelector(`meta[name="${name}"]`);
const user = meta("seus-user")?.content ?? "";
const template = document.getElementById("relogin-template");

/** "Riprova tra N minuti." from a Retry-After header in seconds; "" when there is none. */
export function retryText(header) {
  const seconds = Number(header);
  if (!Number.isFinite(seconds) || seconds <= 0) return "";
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return minutes === 1 ? "Riprova tra un minuto." : `Riprova tra ${minutes} minuti.`;
}

/** The page's CSRF token, where the API client and the forms read it. */
function setCsrf(token) {
  meta("csrf-token")?.setAttribute("content", token);
  for (const input of document.querySelectorAll('input[name="csrf_token"]')) input.value = token;
}

/** Another user now holds this tab: nothing of the previous one stays in it. */
function leaveFor(home) {
  try { sessionStorage.clear(); } catch { /* storage unavailable */ }
  location.assign(home);
}

async function call(method, url, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = meta("csrf-token")?.content ?? "";
    init.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(url, init);
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    return { status: response.status, data, retryAfter: response.headers.get("retry-after") };
  } catch {
    return { status: 0, data: null, retryAfter: null };
  }
}

/**
 * The browser holds a live session after all (the same user logged in again in another tab,
 * or someone else did): this page's CSRF token is stale. True when the page is leaving.
 */
async function sessionElsewhere() {
  const who = await call("GET", WHO_URL);
  if (who.status !== 200) return false;
  if (String(who.data?.user_id ?? "") === user) location.reload(); // the drafts come back
  else leaveFor("/");
  return true;
}

let parts = null;
let settle = null; // resolves the pending relogin() with true once the same user is back
let busy = false;

function build() {
  const fragment = template.content.cloneNode(true);
  const dialog = fragment.querySelector("dialog");
  const banner = fragment.querySelector(".session-banner");
  document.body.append(dialog);
  (document.querySelector("main") ?? document.body.firstElementChild).before(banner); // in the flow: it hides nothing
  const form = dialog.querySelector("form");
  parts = {
    dialog,
    banner,
    form,
    username: form.elements.namedItem("username"),
    password: form.elements.namedItem("password"),
    general: dialog.querySelector("#relogin-error"),
    submit: form.querySelector('button[type="submit"]'),
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  // The page's keyboard shortcuts listen on the document: a password typed here (say "1", "p")
  // must not choose an urgency or claim a referral behind the dialog. Escape still closes it.
  dialog.addEventListener("keydown", (event) => event.stopPropagation());
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  banner.querySelector("button").addEventListener("click", () => open());
  for (const name of ["username", "password"]) {
    parts[name].addEventListener("input", () => fieldError(name, ""));
  }
}

function fieldError(name, text) {
  const input = parts[name];
  const slot = document.getElementById(`relogin-${name}-error`);
  slot.textContent = text;
  slot.hidden = !text;
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function generalError(text) {
  parts.general.textContent = text;
  parts.general.hidden = !text;
}

function open() {
  if (!parts) build();
  parts.banner.hidden = false;
  if (!parts.dialog.open) parts.dialog.showModal();
  (parts.username.value ? parts.password : parts.username).focus();
}

/** Put each of the API's field problems next to its field; true when all had one. */
function showProblems(errors) {
  let placed = errors.length > 0;
  for (const problem of errors) {
    const name = String(problem.field ?? "").split(".").pop();
    if (name === "username" || name === "password") fieldError(name, String(problem.message ?? ""));
    else placed = false;
  }
  return placed;
}

async function send() {
  if (busy) return;
  generalError("");
  const username = parts.username.value.trim();
  const password = parts.password.value;
  fieldError("username", username ? "" : REQUIRED.username);
  fieldError("password", password ? "" : REQUIRED.password);
  if (!username || !password) {
    (username ? parts.password : parts.username).focus();
    return;
  }
  busy = true;
  parts.submit.disabled = true;
  parts.form.setAttribute("aria-busy", "true");
  try {
    const answer = await call("POST", LOGIN_URL, { username, password });
    const detail = typeof answer.data?.detail === "string" ? answer.data.detail : "";
    if (answer.status === 201) {
      loggedIn(answer.data);
    } else if (answer.status === 401 || answer.status === 429) {
      const wait = answer.status === 429 ? retryText(answer.retryAfter) : "";
      fieldError("password", [detail || "Credenziali non valide.", wait].filter(Boolean).join(" "));
      parts.password.value = "";
      parts.password.focus();
    } else if (answer.status === 422 && showProblems(answer.data?.errors ?? [])) {
      parts.form.querySelector('[aria-invalid="true"]')?.focus();
    } else if (answer.status === 403 && (await sessionElsewhere())) {
      // leaving: the page reloads with its drafts
    } else {
      generalError(answer.status === 0 ? UNREACHABLE : detail || `Accesso non riuscito (errore ${answer.status}).`);
    }
  } finally {
    busy = false;
    parts.submit.disabled = false;
    parts.form.removeAttribute("aria-busy");
  }
}

function loggedIn(data) {
  if (String(data?.user?.user_id ?? "") !== user) {
    leaveFor(typeof data?.home === "string" && data.home.startsWith("/") ? data.home : "/");
    return;
  }
  setCsrf(data.csrf_token);
  parts.form.reset();
  fieldError("username", "");
  fieldError("password", "");
  parts.dialog.close();
  parts.banner.hidden = true;
  settle?.(true);
  settle = null;
}

/** Did someone log out in a tab of this browser since this page was opened? */
function loggedOutSinceLoad() {
  try {
    return Number(localStorage.getItem(LOGGED_OUT_KEY)) >= loadedAt;
  } catch {
    return false;
  }
}

/** session.js's provider: resolves true once the same user has logged in again. */
function relogin() {
  return new Promise((resolve) => {
    settle = resolve;
    sessionElsewhere().then((leaving) => {
      if (leaving) return; // never settles: the page is going away
      if (loggedOutSinceLoad()) {
        // A logout, not an expiry: the page ends (the live stream goes to the login page).
        try { forgetDrafts(sessionStorage, user); } catch { /* storage unavailable */ }
        settle = null;
        resolve(false);
        location.assign("/login");
      } else {
        open();
      }
    });
  });
}

if (user) {
  document.querySelector("form.logout-form")?.addEventListener("submit", () => {
    try { localStorage.setItem(LOGGED_OUT_KEY, String(Date.now())); } catch { /* storage unavailable */ }
  });
}
if (user && template) session.provide(relogin, () => { if (settle) open(); });
// Module scripts have all run before DOMContentLoaded: the page's own handlers are in place
// when a draft is put back.
if (user) {
  document.addEventListener("DOMContentLoaded", () => startDrafts({ user, onWrite }));
}
