// The audible alert of the live pages, with its mute toggle kept in localStorage. Browsers only
// start audio after a user gesture: the toggle and the first gesture on the page arm it, and
// until then the toggle says "Audio non attivo" (a page that says "Audio attivo" while it
// cannot sound would lie to a wall screen nobody has touched since it was loaded).

function storageGet(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}
function storageSet(key, value) {
  try { localStorage.setItem(key, value); } catch { /* ignore */ }
}

/**
 * toggle: the mute button; storageKey: where "1" (muted) or "0" is kept;
 * tones: [[offset s, pitch Hz], ...] (one per beep); peak: the loudest gain; attack, decay,
 * length: seconds from each tone's start to full volume, to silence, to its end;
 * gapMs: the least time between two alerts; unlockOn: the gestures that unlock audio;
 * prompt: an element shown while audio is neither armed nor muted, whose [data-arm] button
 * arms it. Returns { play(tones?), armed() }: an alert, with these tones instead of the
 * default ones if given; whether audio can sound now.
 */
export function createSound({
  toggle,
  storageKey,
  tones = [[0, 880]],
  peak = 0.2,
  attack = 0.01,
  decay = 0.25,
  length = 0.3,
  gapMs = 0,
  unlockOn = ["pointerdown", "keydown"],
  prompt = null,
}) {
  let muted = storageGet(storageKey) === "1";
  let audioContext = null;
  let last = 0;

  function audio() {
    if (!audioContext) {
      const Context = window.AudioContext ?? window.webkitAudioContext;
      if (!Context) return null;
      audioContext = new Context();
      audioContext.addEventListener("statechange", showState);
    }
    if (audioContext.state === "suspended") audioContext.resume().then(showState, () => {});
    showState();
    return audioContext;
  }

  const armed = () => audioContext !== null && audioContext.state === "running";

  function play(these = tones) {
    const now = Date.now();
    if (muted || now - last < gapMs) return;
    last = now;
    const ctx = audio();
    if (!ctx || ctx.state !== "running") return;
    for (const [offset, pitch] of these) {
      const start = ctx.currentTime + offset;
      const oscillator = ctx.createOscillator();
      const gain = ctx.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = pitch;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(peak, start + attack);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + decay);
      oscillator.connect(gain).connect(ctx.destination);
      oscillator.start(start);
      oscillator.stop(start + length);
    }
  }

  function showState() {
    const on = !muted && armed();
    toggle.setAttribute("aria-pressed", String(on));
    toggle.textContent = muted ? "Audio disattivato" : on ? "Audio attivo" : "Audio non attivo";
    toggle.title = muted || on ? "" : "Il browser attiva l'audio solo dopo un clic: clicca per attivarlo";
    toggle.classList.toggle("is-off", !on);
    if (prompt) prompt.hidden = muted || on;
  }

  // Whether audio was armed before this press of the toggle (the page's own first-gesture
  // listener below may arm it between the press and the click).
  let armedBefore = null;
  for (const type of ["pointerdown", "keydown"]) {
    toggle.addEventListener(type, () => { armedBefore = armed(); });
  }
  toggle.addEventListener("click", () => {
    const was = armedBefore ?? armed();
    armedBefore = null;
    if (!muted && !was) { // not yet armed: this click arms it (a user gesture)
      audio();
      return;
    }
    muted = !muted;
    storageSet(storageKey, muted ? "1" : "0");
    if (!muted) audio(); // a click is a user gesture: browsers let audio start now
    showState();
  });
  prompt?.querySelector("[data-arm]")?.addEventListener("click", () => audio());
  const unlock = () => { if (!muted) audio(); };
  for (const type of unlockOn) document.addEventListener(type, unlock, { once: true });
  showState();
  return { play, armed };
}
