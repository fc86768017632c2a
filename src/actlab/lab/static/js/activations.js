// The Activations view: pick catalogue entries or type formulas, overlay f, f', f''; every
// number comes from the server (/api/curve, /api/properties, /api/eval, /api/accuracy).
import { getJSON, plotly } from "./api.js";
import { checkFormula, entry as entryOf, parseSpec as parse, specOf as spec } from "./specs.js";
import { num, str } from "./state.js";

const COLORS = ["#542788", "#b35806", "#1b7837", "#2166ac", "#c51b7d", "#4d4d4d", "#8c510a", "#01665e"];
const PANELS = [["f", "f(x)"], ["df", "f'(x)"], ["d2f", "f''(x)"]];
const $ = (id) => document.getElementById(id);

let ctx, Plotly;
const st = { chosen: [], lo: -5, hi: 5, show: { f: true, df: true, d2f: false }, x: 1, focus: null };
const curves = new Map();  // spec -> curve arrays
let aborter = null;
let timer = null;

// a chosen curve is {name, params}: a catalogue entry, or a typed formula (its name is its text)
const entry = (name) => entryOf(ctx.catalogue, name);
const specOf = (c) => spec(ctx.catalogue, c.name, c.params);
const parseSpec = (text) => parse(ctx.catalogue, text);
const paramsOf = (name) => entry(name)?.params ?? [];
const short = (t) => (t.length > 40 ? `${t.slice(0, 39)}…` : t);

export function params(p) {
  p.set("a", st.chosen.map(specOf).join(";"));
  p.set("lo", st.lo); p.set("hi", st.hi);
  p.set("d", Object.keys(st.show).filter((k) => st.show[k]).join(","));
  p.set("x", st.x);
}

export async function init(c, p) {
  ctx = c;
  Plotly = await plotly();
  const specs = (p.get("a") ?? "relu;tanh").split(";").map(parseSpec).filter(Boolean);
  st.chosen = specs.slice(0, 8);
  st.lo = num(p, "lo", -5, -1e4, 1e4); st.hi = num(p, "hi", 5, -1e4, 1e4);
  if (!(st.lo < st.hi)) { st.lo = -5; st.hi = 5; }
  const d = str(p, "d", "f,df").split(",");
  for (const k of Object.keys(st.show)) st.show[k] = d.includes(k);
  st.x = num(p, "x", 1, -1e300, 1e300);
  st.focus = st.chosen.length ? st.chosen[st.chosen.length - 1].name : null;

  $("act-lo").value = st.lo; $("act-hi").value = st.hi; $("act-x").value = st.x;
  for (const k of Object.keys(st.show)) {
    const box = $(`act-show-${k}`);
    box.checked = st.show[k];
    box.addEventListener("change", () => { st.show[k] = box.checked; layoutPanels(); draw(); ctx.save(); });
  }
  const range = () => {
    const lo = Number($("act-lo").value), hi = Number($("act-hi").value);
    if (Number.isFinite(lo) && Number.isFinite(hi) && lo < hi && Math.abs(lo) <= 1e4 && Math.abs(hi) <= 1e4) {
      st.lo = lo; st.hi = hi; refresh(); ctx.save();
    } else ctx.notify("The range needs from < to, both within ±10,000.");
  };
  $("act-lo").addEventListener("change", range);
  $("act-hi").addEventListener("change", range);
  $("act-x").addEventListener("change", () => { st.x = Number($("act-x").value) || 0; exact(); ctx.save(); });
  $("act-search").addEventListener("input", list);
  $("act-formula-form").addEventListener("submit", (ev) => { ev.preventDefault(); addFormula(); });
  list();
  layoutPanels();
  refresh();
}

export function show() { for (const [k] of PANELS) Plotly.Plots.resize($(`act-plot-${k}`)); }

function list() {
  const q = $("act-search").value.trim().toLowerCase();
  const words = q.split(/\s+/).filter(Boolean);
  const ul = $("act-list");
  ul.textContent = "";
  for (const e of ctx.catalogue) {
    const hay = [e.name, ...e.aliases, e.family, ...e.words].join(" ").toLowerCase();
    if (!words.every((w) => hay.includes(w))) continue;
    const li = document.createElement("li");
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.dataset.name = e.name;
    box.checked = st.chosen.some((c) => c.name === e.name);
    box.addEventListener("change", () => toggle(e.name, box.checked));
    const small = document.createElement("small");
    small.textContent = ` ${e.family}${e.aliases.length ? " · " + e.aliases.join(", ") : ""} · ${e.smoothness}`;
    label.append(box, " ", e.name, small);
    li.append(label);
    ul.append(li);
  }
}

// A typed formula joins the chosen curves once the server accepts it; if not, its reason
// (position, token, a close match) shows under the box and nothing changes.
async function addFormula() {
  const inp = $("act-formula"), err = $("act-formula-error");
  err.textContent = "";
  try {
    const name = await checkFormula(inp.value);
    if (!st.chosen.some((c) => c.name === name)) toggle(name, true);
    st.focus = name;
    inp.value = "";
    sheet(); accuracy();
  } catch (x) { err.textContent = x.message; }
}

function toggle(name, on) {
  if (on && !st.chosen.some((c) => c.name === name)) {
    if (st.chosen.length >= 8) { ctx.notify("At most 8 curves at once."); list(); return; }
    st.chosen.push({ name, params: {} });
    st.focus = name;
  } else if (!on) {
    st.chosen = st.chosen.filter((c) => c.name !== name);
    if (st.focus === name) st.focus = st.chosen.length ? st.chosen[st.chosen.length - 1].name : null;
  }
  refresh();
  ctx.save();
}

// A slider's span: the parameter's interval, or a window around its default if unbounded.
function sliderRange(p) {
  const lo = p.low ?? Math.min(p.default - 5, -5);
  const hi = p.high ?? Math.max(p.default * 3, p.default + 5, 5);
  return [lo, hi];
}

function chips() {
  const box = $("act-chosen");
  box.textContent = "";
  st.chosen.forEach((c, i) => {
    const chip = document.createElement("div");
    chip.className = "chip";
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = COLORS[i % COLORS.length];
    const name = document.createElement("button");
    name.type = "button"; name.className = "small"; name.textContent = short(c.name);
    name.title = `${c.name}: show its property sheet and accuracy`;
    name.addEventListener("click", () => { st.focus = c.name; sheet(); accuracy(); });
    chip.append(sw, name);
    if (!entry(c.name)) {  // a typed formula: removed here (it has no box in the list)
      const x = document.createElement("button");
      x.type = "button"; x.className = "small"; x.textContent = "×";
      x.title = "Remove this formula"; x.setAttribute("aria-label", `remove ${c.name}`);
      x.addEventListener("click", () => toggle(c.name, false));
      chip.append(x);
    }
    for (const p of paramsOf(c.name)) {
      const [lo, hi] = sliderRange(p);
      const label = document.createElement("label");
      const slider = document.createElement("input");
      slider.type = "range"; slider.min = lo; slider.max = hi; slider.step = (hi - lo) / 200;
      slider.value = c.params[p.name] ?? p.default;
      slider.setAttribute("aria-label", `${c.name} ${p.name}`);
      const out = document.createElement("output");
      out.textContent = Number(slider.value).toPrecision(3);
      slider.addEventListener("input", () => {
        c.params[p.name] = Number(slider.value);
        out.textContent = Number(slider.value).toPrecision(3);
        clearTimeout(timer);
        timer = setTimeout(() => { refresh(false); ctx.save(); }, 40);  // live redraw, debounced
      });
      label.append(` ${p.name} `, slider, " ", out);
      chip.append(label);
    }
    box.append(chip);
  });
}

function layoutPanels() {
  for (const [k] of PANELS) $(`act-plot-${k}`).parentElement.hidden = !st.show[k];
  const n = Object.values(st.show).filter(Boolean).length || 1;
  document.querySelector(".charts3").style.gridTemplateColumns =
    window.matchMedia("(max-width: 900px)").matches ? "1fr" : `repeat(${n}, 1fr)`;
}

async function refresh(all = true) {
  if (all) chips();
  if (aborter) aborter.abort();
  aborter = new AbortController();
  const signal = aborter.signal;
  try {
    const results = await Promise.all(st.chosen.map((c) => fetchCurve(specOf(c), signal)));
    if (signal.aborted) return;
    st.chosen.forEach((c, i) => curves.set(specOf(c), results[i]));
    draw();
    exact();
    if (all || st.focus) { sheet(); accuracy(); }
  } catch (err) {
    if (err.name !== "AbortError") ctx.notify(err.message);
  }
}

async function fetchCurve(spec, signal) {
  const q = new URLSearchParams({ spec, lo: st.lo, hi: st.hi, n: 801 });
  const res = await fetch(`/api/curve?${q}`, { signal });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error);
  return body;
}

function draw() {
  for (const [which, title] of PANELS) {
    if (!st.show[which]) continue;
    const traces = [];
    st.chosen.forEach((c, i) => {
      const cv = curves.get(specOf(c));
      if (!cv || !cv[which]) return;
      const color = COLORS[i % COLORS.length];
      traces.push({ x: cv.x, y: cv[which], name: cv.label, mode: "lines", line: { color, width: 2 },
        connectgaps: false, hovertemplate: `${cv.label}<br>x = %{x:.9g}<br>${title} = %{y:.17g}<extra></extra>` });
      const at = [], open = [];
      for (const k of cv.kinks) {
        const v = k[which];
        if (!v) continue;
        if (v.at !== null) at.push([k.x, v.at]);
        for (const s of v.sides) if (s !== null) open.push([k.x, s]);
      }
      if (at.length) traces.push({ x: at.map((p) => p[0]), y: at.map((p) => p[1]), mode: "markers", showlegend: false,
        marker: { color, size: 8 }, hovertemplate: `${cv.label} at the kink: ${title} = %{y:.17g}<extra></extra>` });
      if (open.length) traces.push({ x: open.map((p) => p[0]), y: open.map((p) => p[1]), mode: "markers",
        showlegend: false, marker: { color: "#fff", size: 8, line: { color, width: 2 } },
        hovertemplate: `${cv.label} one-sided limit: %{y:.17g}<extra></extra>` });
    });
    Plotly.react($(`act-plot-${which}`), traces, {
      title: { text: title, font: { size: 13 } }, margin: { l: 45, r: 10, t: 30, b: 35 },
      xaxis: { zeroline: true, title: { text: "x" } }, yaxis: { zeroline: true },
      legend: { orientation: "h", y: -0.25 }, hovermode: "closest", showlegend: which === "f",
    }, { responsive: true, displaylogo: false });
  }
}

async function exact() {
  const el = $("act-exact");
  if (!st.chosen.length) { el.textContent = ""; return; }
  const rows = await Promise.all(st.chosen.map((c) => getJSON("/api/eval", { spec: specOf(c), x: st.x })
    .catch((err) => ({ spec: specOf(c), error: err.message }))));
  const table = document.createElement("table");
  table.innerHTML = "<thead><tr><th>entry</th><th>dtype</th><th>f(x)</th><th>f'(x)</th><th>f''(x)</th></tr></thead>";
  const body = document.createElement("tbody");
  for (const r of rows) {
    for (const dt of ["float64", "float32"]) {
      const tr = document.createElement("tr");
      const cells = r.error ? [r.spec, dt, r.error, "", ""] :
        [r.spec, dt, r[dt].f, r[dt].df ?? "–", r[dt].d2f ?? "–"];
      cells.forEach((v, j) => {
        const td = document.createElement("td");
        td.textContent = v;
        if (j >= 2) td.className = "num";
        tr.append(td);
      });
      body.append(tr);
    }
  }
  table.append(body);
  el.textContent = `Exact values at x = ${st.x} (as the catalogue returns them):`;
  el.append(table);
}

async function sheet() {
  const el = $("act-props");
  const c = st.chosen.find((x) => x.name === st.focus);
  $("act-prop-name").textContent = c ? specOf(c) : "";
  if (!c) { el.textContent = "Pick an entry."; return; }
  let p;
  try { p = await getJSON("/api/properties", { spec: specOf(c) }); } catch (err) { el.textContent = err.message; return; }
  const rows = [
    ["formula", p.formula, true],
    ["range", `(${p.range[0]}, ${p.range[1]})`],
    ["domain", `(${p.domain[0]}, ${p.domain[1]})`],
    ["monotone", p.monotonic ? "yes" : "no"],
    ["zero-centred", p.zero_centred ? "yes (odd)" : "no"],
    ["smoothness", p.smoothness + (p.vector ? " (vector: drawn along " + p.label + ")" : "")],
    ["f' at each kink", p.kinks.length ? p.kinks.map((k) => `f'(${k.x}) = ${k.df}`).join("; ") : "no kink"],
    ["limits at -∞, +∞", Object.entries(p.limits).map(([w, v]) => `${w === "f" ? "f" : "f'"}: ${v[0]}, ${v[1]}`).join("; ")],
    ["initialisation gain", p.gain ?? "–"],
    ["naive version", p.naive_source ?? "none in the tutorials"],
  ];
  const table = document.createElement("table");
  for (const [k, v, code] of rows) {
    const tr = document.createElement("tr");
    const th = document.createElement("th"); th.textContent = k;
    const td = document.createElement("td");
    if (code) { const pre = document.createElement("code"); pre.className = "formula"; pre.textContent = v; td.append(pre); }
    else td.textContent = v;
    tr.append(th, td);
    table.append(tr);
  }
  el.textContent = "";
  el.append(table);
  const doc = document.createElement("details");
  const sum = document.createElement("summary"); sum.textContent = "docstring";
  const pre = document.createElement("pre"); pre.textContent = p.doc; pre.style.whiteSpace = "pre-wrap";
  doc.append(sum, pre);
  el.append(doc);
}

async function accuracy() {
  const plotEl = $("act-acc-plot"), tableEl = $("act-acc-table");
  const c = st.chosen.find((x) => x.name === st.focus);
  if (!c) { Plotly.purge(plotEl); tableEl.textContent = ""; return; }
  let a;
  try {
    a = await getJSON("/api/accuracy", { spec: specOf(c), lo: st.lo, hi: st.hi, n: 121 });
  } catch (err) { tableEl.textContent = err.message; return; }
  $("act-acc-title").textContent = a.typed ? "The formula as typed vs actlab (float64)" : "Naive formula vs actlab (float32)";
  if (!a.naive) {
    Plotly.purge(plotEl);
    tableEl.textContent = `The tutorials wrote no naive version of ${a.spec}.`;
    return;
  }
  const theirs = a.typed ? "as typed" : "naive";
  const traces = [];
  for (const [which, dash] of [["f", "solid"], ["df", "dot"]]) {
    if (!a[which]) continue;
    const floor = (v) => (v === null ? 1e6 : Math.max(v, 0.01));  // log axis: 0 ulp drawn at 0.01, inf at 1e6
    traces.push({ x: a[which].x, y: a[which].naive.map(floor), name: `${theirs} ${which === "f" ? "f" : "f'"}`,
      mode: "lines", line: { color: "#b35806", dash } });
    traces.push({ x: a[which].x, y: a[which].actlab.map(floor), name: `actlab ${which === "f" ? "f" : "f'"}`,
      mode: "lines", line: { color: "#542788", dash } });
  }
  Plotly.react(plotEl, traces, { margin: { l: 50, r: 10, t: 10, b: 35 }, yaxis: { type: "log", title: { text: "ulp" } },
    xaxis: { title: { text: "x" } }, legend: { orientation: "h", y: -0.3 } }, { responsive: true, displaylogo: false });
  const t = document.createElement("table");
  t.innerHTML = `<thead><tr><th></th><th>x</th><th>exact</th><th>actlab</th><th>${theirs}</th></tr></thead>`;
  const body = document.createElement("tbody");
  for (const r of a.hard) {
    const tr = document.createElement("tr");
    for (const v of [r.which === "f" ? "f" : "f'", r.x, r.exact, r.actlab, r.naive]) {
      const td = document.createElement("td"); td.textContent = v; td.className = "num"; tr.append(td);
    }
    const bad = (s) => s === "NaN" || s === "inf" || s === "-inf";
    if (bad(r.naive) && !bad(r.exact)) tr.lastChild.classList.add("bad");
    body.append(tr);
  }
  t.append(body);
  const fmt = (v) => (v === undefined ? "–" : Number.isFinite(Number(v)) ? Number(v).toPrecision(3) : v);
  tableEl.textContent = `Worst error on the range (${a.dtype} ulp): actlab f ${fmt(a.f?.max_actlab)}, ` +
    `${theirs} f ${fmt(a.f?.max_naive)}` +
    (a.df ? `; actlab f' ${fmt(a.df.max_actlab)}, ${theirs} f' ${fmt(a.df.max_naive)}` : "") +
    (a.typed ? ` (the formula as typed: ${a.source}, evaluated directly in NumPy).` : ` (naive formula: ${a.source}).`) +
    ` Hard inputs, ${a.dtype}:`;
  const box = document.createElement("div");
  box.className = "scrollbox";
  box.append(t);
  tableEl.append(box);
}
