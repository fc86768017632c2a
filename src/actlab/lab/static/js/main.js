// The page: four views in tabs, the state in the URL fragment, nothing loaded from elsewhere.
import { getJSON } from "./api.js";
import { readHash, writeHash, isOurs } from "./state.js";
import * as activations from "./activations.js";
import * as playground from "./playground.js";
import * as mnist from "./mnist.js";
import * as claims from "./claims.js";

const VIEWS = { activations, playground, mnist, claims };
const ctx = { limits: null, catalogue: null, notify, save };
let current = null;
const started = new Set();

function notify(text, ms = 4000) {
  const el = document.getElementById("notice");
  el.textContent = text;
  el.hidden = !text;
  clearTimeout(notify.timer);
  if (text && ms) notify.timer = setTimeout(() => { el.hidden = true; }, ms);
}

// Every view writes its own keys; the fragment holds them all, so switching views and
// coming back (or sharing the link) keeps each view's settings.
function save() {
  const p = new URLSearchParams();
  p.set("v", current || "activations");
  for (const [name, mod] of Object.entries(VIEWS)) if (started.has(name)) mod.params(p);
  const old = readHash();
  for (const [k, v] of old) if (!p.has(k)) p.set(k, v);  // keys of views not opened yet stay
  writeHash(p);
}

async function show(name, params) {
  if (!VIEWS[name]) name = "activations";
  if (current && current !== name) VIEWS[current].hide?.();
  current = name;
  for (const v of Object.keys(VIEWS)) document.getElementById(`view-${v}`).hidden = v !== name;
  for (const a of document.querySelectorAll("#tabs a")) a.setAttribute("aria-selected", a.dataset.view === name);
  if (!started.has(name)) {
    started.add(name);
    await VIEWS[name].init(ctx, params);
  }
  VIEWS[name].show?.();
  save();
}

async function boot() {
  [ctx.limits, ctx.catalogue] = await Promise.all([getJSON("/api/limits"), getJSON("/api/catalogue")]);
  window.lab = { ctx, views: VIEWS };  // for the browser tests and the curious
  for (const a of document.querySelectorAll("#tabs a")) {
    a.addEventListener("click", (ev) => { ev.preventDefault(); show(a.dataset.view, readHash()); });
  }
  document.getElementById("share").addEventListener("click", async () => {
    save();
    try {
      await navigator.clipboard.writeText(location.href);
      notify("Link copied: it reproduces this view and, with the same seed, the same run.");
    } catch {
      notify(`Copy this link: ${location.href}`, 0);
    }
  });
  window.addEventListener("hashchange", () => {
    if (isOurs(location.hash)) return;
    location.reload();  // a link pasted into this tab: start from it
  });
  const p = readHash();
  await show(p.get("v") || "activations", p);
  window.lab.ready = true;
}

boot().catch((err) => notify(`The lab could not start: ${err.message}`, 0));
