// The Claims view: verdicts from the runner's cache, or a quick run with progress.
import { getJSON, postJSON } from "./api.js";
import { str } from "./state.js";

const $ = (id) => document.getElementById(id);
const CLASS = { "confirmed": "ok", "confirmed with caveats": "warn", "refuted": "bad", "reproduced": "ok",
  "not reproduced": "bad" };
let ctx, list = [], report = false, poller = null, size = "quick";

export function params(p) { p.set("cs", size); }

export async function init(c, p) {
  ctx = c;
  size = str(p, "cs", "quick", ["quick", "default"]);
  $("cl-size").value = size;
  $("cl-size").addEventListener("change", () => { size = $("cl-size").value; ctx.save(); start("cached"); });
  const data = await getJSON("/api/claims");
  list = data.claims; report = data.report;
  table({});
  $("cl-cached").addEventListener("click", () => start("cached"));
  $("cl-run").addEventListener("click", () => start("run"));
  start("cached");
}

export function show() {}
export function hide() {}

async function start(mode) {
  try {
    await postJSON("/api/claims/run", { mode, size });
  } catch (err) {
    if (!/already/.test(err.message)) { ctx.notify(err.message); return; }
  }
  poll();
}

function poll() {
  clearTimeout(poller);
  getJSON("/api/claims/status").then((s) => {
    const bar = $("cl-progress");
    bar.hidden = !s.running;
    bar.max = s.total || 1; bar.value = s.done;
    $("cl-state").textContent = s.running
      ? `${s.mode === "run" ? "running" : "reading the cache"}: claim ${s.done + 1} of ${s.total}` +
        (s.current ? ` (${s.current}${s.cells ? `, ${s.cells} cells` : ""})` : "")
      : "";
    table(s);
    if (s.running) poller = setTimeout(poll, 700);
  }).catch((err) => ctx.notify(err.message));
}

function table(s) {
  const body = $("cl-body");
  body.textContent = "";
  for (const c of list) {
    const r = (s.results || {})[`${size}:${c.name}`];
    const err = (s.errors || {})[c.name];
    const tr = document.createElement("tr");
    tr.dataset.claim = c.name;
    const td = (text) => { const el = document.createElement("td"); el.textContent = text; tr.append(el); return el; };
    td(c.label);
    const claim = td("");
    const title = document.createElement("div"); title.textContent = c.claim;
    claim.append(title);
    if (r) {
      const d = document.createElement("details");
      const sm = document.createElement("summary"); sm.textContent = "why";
      const p = document.createElement("p"); p.textContent = r.reasoning;
      const t = document.createElement("table");
      for (const [k, v] of r.numbers) {
        const row = document.createElement("tr");
        const a = document.createElement("td"); a.textContent = k;
        const b = document.createElement("td"); b.textContent = v; b.className = "num";
        row.append(a, b); t.append(row);
      }
      d.append(sm, p, t);
      const note = document.createElement("p");
      note.textContent = `${r.size} size, ${r.cached} cells from the cache, ${r.computed} computed, ${r.seconds} s.`;
      d.append(note);
      claim.append(d);
    }
    if (report) {
      const a = document.createElement("a");
      a.href = `/report#claim-${c.name}`; a.textContent = "report section"; a.target = "_blank"; a.rel = "noopener";
      claim.append(" ", a);
    }
    td(c.tutorial);
    const v = td("");
    const badge = document.createElement("span");
    badge.className = `verdict ${r ? CLASS[r.verdict] : "none"}`;
    badge.textContent = r ? r.verdict : err ? "failed" : (s.running ? "…" : "not in the cache");
    if (err) badge.title = err;
    v.append(badge);
    td(r ? r.key : "");
    body.append(tr);
  }
}
