// The tablet's offline app shell: a service worker, served at /tablet-sw.js with its manifest
// filled in by pages.py beside it (so it is not a static file); scope /tablet.
//
// - The tablet page: from the network while there is one (each good answer is kept), else the
//   last copy kept, so a reload without signal still shows the page. Its data (the assignment,
//   the outbox) live in the page's localStorage, not here.
// - The page's scripts and styles: kept at install, served from the cache, refreshed by a new
//   version of this worker (the manifest's hash changes with any file).
// - Everything else (the API, the live stream, logins) goes to the network untouched.
const MANIFEST = "__MANIFEST__";
const { version, files } = MANIFEST;
const PREFIX = "seus-tablet-";
const CACHE = `${PREFIX}${version}`;
const PAGE = "/tablet";
const PAGE_TIMEOUT_MS = 5000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(files)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error) => { clearTimeout(timer); reject(error); });
  });
}

async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), PAGE_TIMEOUT_MS);
    // Only the page itself is kept: never a login page a lapsed session was sent to.
    if (response.ok && !response.redirected && new URL(response.url).pathname === PAGE) {
      await cache.put(PAGE, response.clone());
    }
    return response;
  } catch (error) {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw error;
  }
}

async function asset(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreSearch: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE && request.mode === "navigate") event.respondWith(page(request));
  else if (url.pathname.startsWith("/static/")) event.respondWith(asset(request));
});
