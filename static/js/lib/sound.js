// The audible alert of the live pages, with its mute toggle kept in localStorage. Browsers only
// start audio after a user gesture: the toggle and the first gesture on the page unlock it.

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
 * gapMs: the least time between two alerts; unlockOn: the gestures that unlock audio.
 * Returns { play(tones?) }: an alert, with these tones instead of the default ones if given.
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
}) {
  let muted = storageGet(storageKey) === "1";
  let audioContext = null;
  let last = 0;

  function audio() {
    if (!audioContext) {
      const Context = window.AudioContext ?? window.webkitAudioContext;
      if (!Context) return null;
      audioContext = new Context();
    }
    if (audioContext.state === "suspended") audioContext.resume().catch(() => {});
    return audioContext;
  }

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

  function showMuted() {
    toggle.setAttribute("aria-pressed", String(!muted));
    toggle.textContent = muted ? "Audio disattivato" : "Audio attivo";
    toggle.classList.toggle("is-off", muted);
  }

  toggle.addEventListener("click", () => {
    muted = !muted;
    storageSet(storageKey, muted ? "1" : "0");
    showMuted();
    if (!muted) audio(); // a click is a user gesture: browsers let audio start now
  });
  const unlock = () => { if (!muted) audio(); };
  for (const type of unlockOn) document.addEventListener(type, unlock, { once: true });
  showMuted();
  return { play };
}
