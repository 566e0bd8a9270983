// The login session as the page's scripts share it. Whoever learns first that the session is
// over (the live stream's close 4001 or its 401 probe, an API call's 401) reports it here with
// `expire()`. The re-login dialog (relogin.js) is the one provider of a new login; every
// subscriber hears "expired" at once and, when the same person has logged in again (the new
// CSRF token is already in the page by then), "renewed"; or "ended" when the provider says no
// new login is to be asked for here (the user logged out in another tab): the page ends as it
// did before there was a dialog. A provider that sends the page elsewhere never answers. A page
// without a provider (a unit tablet) gets `false` back and falls back to its login page.

export class SessionWatch {
  constructor() {
    this._listeners = new Set();
    this._relogin = null;
    this._reopen = null;
    this._pending = null;
  }

  /**
   * relogin.js: `relogin()` asks for a new login and resolves true once the same user is back;
   * `reopen()` shows the question again when the user had put it aside.
   */
  provide(relogin, reopen = null) {
    this._relogin = relogin;
    this._reopen = reopen;
  }

  /** Can this page log in again without leaving it? */
  get canRelogin() { return this._relogin !== null; }

  /** Is a new login being waited for? */
  get expired() { return this._pending !== null; }

  /** `listener("expired" | "renewed" | "ended")`; returns the function that unsubscribes it. */
  subscribe(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /**
   * The session is over. Resolves true once the same user has logged in again, false when this
   * page cannot or must not log in again by itself. Reports arriving while the dialog is open share it; one
   * with `reopen` (the user tried to save something) shows it again if it was put aside.
   */
  expire({ reopen = false } = {}) {
    if (!this._relogin) return Promise.resolve(false);
    if (this._pending) {
      if (reopen) this._reopen?.();
      return this._pending;
    }
    let settle;
    this._pending = new Promise((resolve) => { settle = resolve; });
    const pending = this._pending;
    this._notify("expired");
    Promise.resolve()
      .then(() => this._relogin())
      .then((renewed) => Boolean(renewed), () => false)
      .then((renewed) => {
        this._pending = null;
        this._notify(renewed ? "renewed" : "ended");
        settle(renewed);
      });
    return pending;
  }

  _notify(state) {
    for (const listener of [...this._listeners]) {
      try {
        listener(state);
      } catch (error) {
        console.error(error);
      }
    }
  }
}

/** The page's one session watch: live.js, api.js and relogin.js meet here. */
export const session = new SessionWatch();
