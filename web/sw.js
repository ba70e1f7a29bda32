/*
 * The service worker: keeps the page, TF.js (the WebAssembly backend) and the model, so the
 * page opens and recognises in browser mode with no network after one visit.
 *
 * The page registers it as sw.js?version=<the model card's version>, and the version names
 * the cache: a new model means a new worker, which fetches everything afresh into a new
 * cache and, once in charge, deletes the old one. Requests for the API (/predict, /health,
 * ...) are never touched.
 *
 *   page, scripts, style, card:  the network first (so changes show at once), else the cache
 *   libraries, model weights:    the cache first (they change only with a new version)
 */
"use strict";

const VERSION = new URL(self.location.href).searchParams.get("version") || "unversioned";
const CACHE = `digits-${VERSION}`;
const SHELL = [
  "./", "index.html", "manifest.webmanifest", "css/style.css",
  "icons/icon-192.png", "icons/icon-512.png",
  "vendor/jquery.min.js",
  "js/boot.js", "js/preprocessing.js", "js/paper.js", "js/segmentation.js", "js/drawing.js", "js/picture.js",
  "js/api.js", "js/uncertainty.js", "js/model-card.js", "js/tf-engine.js", "js/classifier.js", "js/inference-worker.js",
  "js/ink-worker.js", "js/ui.js", "js/app.js",
  "model/card.json", "model/model.json",
];
// Browser mode's default backend; WebGL and the CPU backend are kept once they have been used.
const LIBRARIES = [
  "vendor/tf-core.es2017.min.js", "vendor/tf-converter.es2017.min.js", "vendor/tf-backend-wasm.es2017.min.js",
  "vendor/tfjs-backend-wasm-simd.wasm",
];
const CACHE_FIRST = /\/(vendor|model)\/[^/]+\.(js|wasm|bin)$/;

function scoped(path) {
  return new URL(path, self.registration.scope).href;
}

/* The weight files the model names (their names do not change between versions). */
async function weightFiles() {
  const response = await fetch(scoped("model/model.json"), { cache: "no-cache" });
  const model = await response.json();
  return model.weightsManifest.flatMap((group) => group.paths.map((path) => `model/${path}`));
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const files = [...SHELL, ...LIBRARIES, ...(await weightFiles())];
    // Revalidated (ETag), so a file already in the browser's HTTP cache costs a 304.
    await cache.addAll(files.map((path) => new Request(scoped(path), { cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith("digits-") && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

function isAppFile(url) {
  if (url.origin !== self.location.origin || !url.href.startsWith(self.registration.scope)) return false;
  const path = url.href.slice(self.registration.scope.length).split("?")[0];
  return path === "" || SHELL.includes(path) || /^(vendor|model|icons|js|css)\//.test(path);
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: request.mode === "navigate" })
      || (request.mode === "navigate" && await cache.match(scoped("index.html")));
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!isAppFile(url)) return;
  event.respondWith(CACHE_FIRST.test(url.pathname) ? cacheFirst(request) : networkFirst(request));
});
