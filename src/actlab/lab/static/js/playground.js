// The Playground view: the TF Playground's controls and pictures, trained on the server by
// actlab's engine; one WebSocket session, frames drawn at most once per animation frame.
import { plotly, postText } from "./api.js";
import { rows } from "./frames.js";
import { NetworkView } from "./network.js";
import { LUT, bars, legend, NEG, POS, colorOf } from "./palette.js";
import { Session } from "./session.js";
import { INIT_LABELS, fillSelect, parseSpec, specOf, thin, activationSelect } from "./specs.js";
import { bool, int, num, str } from "./state.js";

const $ = (id) => document.getElementById(id);
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REGS = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const DATASETS = [["circle", "circle"], ["xor", "xor"], ["gauss", "two gaussians"], ["spiral", "spiral"],
  ["moons", "moons"], ["plane", "plane (regr.)"], ["multigauss", "gaussians (regr.)"]];
const LAYER_COLORS = ["#542788", "#b35806", "#1b7837", "#2166ac", "#c51b7d", "#4d4d4d", "#8c510a", "#01665e", "#999"];

let ctx, Plotly, session, net;
const st = {
  ds: "circle", n: 500, noise: 0, split: 50, batch: 10, feat: ["x1", "x2"],
  layers: [{ units: 4, name: "tanh", params: {} }, { units: 2, name: "tanh", params: {} }],
  init: "xavier_uniform", std: 0.01, opt: "sgd", lr: 0.03, l1: 0, l2: 0, bn: false, drop: 0, seed: 0,
  csv: null,
};
const run = { ready: null, latest: null, log: [], gnorm: [], fracs: [], playing: false, wantPlay: false,
  drawn: 0, chartsAt: 0, frames: 0, pending: false };
let sendTimer = null;

export function params(p) {
  p.set("ds", st.ds); p.set("n", st.n); p.set("noise", st.noise); p.set("split", st.split);
  p.set("batch", st.batch); p.set("feat", st.feat.join(","));
  p.set("layers", st.layers.map((l) => `${l.units}:${specOf(ctx.catalogue, l.name, l.params)}`).join(";"));
  p.set("init", st.init); p.set("std", st.std); p.set("opt", st.opt); p.set("lr", st.lr);
  p.set("l1", st.l1); p.set("l2", st.l2); p.set("bn", st.bn ? 1 : 0); p.set("drop", st.drop); p.set("seed", st.seed);
}

function readParams(p) {
  const L = ctx.limits;
  st.ds = str(p, "ds", "circle");
  if (!L.datasets.includes(st.ds) && !/^csv:[0-9a-f]{16}$/.test(st.ds)) st.ds = "circle";
  st.n = int(p, "n", 500, 10, L.max_rows);
  st.noise = int(p, "noise", 0, 0, 50);
  st.split = int(p, "split", 50, 10, 90);
  st.batch = int(p, "batch", 10, 1, 1000);
  const feat = str(p, "feat", "x1,x2").split(",").filter((f) => L.features.includes(f));
  st.feat = feat.length ? feat : ["x1", "x2"];
  if (p.has("layers")) {
    const layers = [];
    for (const part of p.get("layers").split(";").filter(Boolean).slice(0, L.max_layers)) {
      const i = part.indexOf(":");
      const s = parseSpec(ctx.catalogue, part.slice(i + 1));
      const units = Math.round(Number(part.slice(0, i)));
      if (s && units >= 1 && units <= L.max_units) layers.push({ units, name: s.name, params: s.params });
    }
    st.layers = layers;
  }
  st.init = str(p, "init", "xavier_uniform", L.inits);
  st.std = num(p, "std", 0.01, 1e-6, 10);
  st.opt = str(p, "opt", "sgd", L.optimizers);
  st.lr = num(p, "lr", 0.03, L.lr[0], L.lr[1]);
  st.l1 = num(p, "l1", 0, 0, 10); st.l2 = num(p, "l2", 0, 0, 10);
  st.bn = bool(p, "bn", false); st.drop = num(p, "drop", 0, 0, 0.9);
  st.seed = int(p, "seed", 0, 0, 2 ** 31 - 1);
}

export function config() {
  return {
    kind: "playground", dataset: st.ds, n: st.n, noise: st.noise / 100, train_frac: st.split / 100,
    features: st.feat, layers: st.layers.map((l) => ({ units: l.units, activation: specOf(ctx.catalogue, l.name, l.params) })),
    init: st.init, init_std: st.std, optimizer: st.opt, lr: st.lr, l1: st.l1, l2: st.l2, batchnorm: st.bn,
    dropout: st.drop, seed: st.seed, batch: st.batch,
  };
}

export async function init(c, p) {
  ctx = c;
  Plotly = await plotly();
  readParams(p);
  controls();
  net = new NetworkView($("pg-network"), { catalogue: ctx.catalogue, onLayers: (layers) => {
    st.layers = layers.map((l) => ({ ...l }));
    changed();
  } });
  session = new Session({
    onReady: ready, onFrame: frame,
    onError: (m) => status(`${m.field ? m.field + ": " : ""}${m.message}`),
    onBusy: (m) => { status(m); retryButton(); },
    onClose: (ev) => { run.playing = false; playButton(); if (ev.code !== 1013 && ev.code !== 1000) { status("The connection to the lab closed."); retryButton(); } },
  });
  window.lab.pg = run;
  window.lab.pgState = st;
  send();
}

export function show() { if (run.ready) net.build(run.ready, st.layers); }
export function hide() { if (run.playing || run.wantPlay) { run.wantPlay = false; session.send({ type: "pause" }); } }

function status(text, info = false) {
  const el = $("pg-status");
  el.textContent = text;
  el.classList.toggle("info", info);
}

function retryButton() {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = "Try again";
  b.addEventListener("click", () => { status(""); send(); });
  $("pg-status").append(" ", b);
}

// ------------------------------------------------------------------------- controls

function controls() {
  const L = ctx.limits;
  fillSelect($("pg-lr"), LRS, null, st.lr);
  if ($("pg-lr").value !== String(st.lr)) { fillSelect($("pg-lr"), [...new Set([...LRS, st.lr])].sort((a, b) => a - b), null, st.lr); }
  fillSelect($("pg-opt"), L.optimizers, ["SGD", "momentum", "Adam"], st.opt);
  fillSelect($("pg-init"), L.inits, L.inits.map((i) => INIT_LABELS[i] || i), st.init);
  fillSelect($("pg-l1"), REGS, null, st.l1);
  fillSelect($("pg-l2"), REGS, null, st.l2);
  $("pg-std").value = String(st.std);
  $("pg-drop").value = String(st.drop);
  $("pg-bn").checked = st.bn;
  $("pg-batch").value = st.batch; $("pg-seed").value = st.seed; $("pg-n").value = st.n;
  $("pg-split").value = st.split; $("pg-noise").value = st.noise;
  $("pg-split-out").textContent = `${st.split}%`; $("pg-noise-out").textContent = st.noise;
  $("pg-std-wrap").hidden = st.init !== "normal";
  const all = activationSelect(ctx.catalogue, "", "all layers");
  all.id = "pg-all-act";
  const blank = document.createElement("option"); blank.value = ""; blank.textContent = "…";
  all.prepend(blank); all.value = "";
  $("pg-all-act").replaceWith(all);
  all.addEventListener("change", () => {
    if (!all.value) return;
    st.layers = st.layers.map((l) => ({ units: l.units, name: all.value, params: {} }));
    all.value = "";
    changed();
  });

  const on = (id, ev, fn) => $(id).addEventListener(ev, () => { fn($(id)); changed(); });
  on("pg-lr", "change", (e) => { st.lr = Number(e.value); });
  on("pg-opt", "change", (e) => { st.opt = e.value; });
  on("pg-init", "change", (e) => { st.init = e.value; $("pg-std-wrap").hidden = st.init !== "normal"; });
  on("pg-std", "change", (e) => { st.std = Number(e.value); });
  on("pg-l1", "change", (e) => { st.l1 = Number(e.value); });
  on("pg-l2", "change", (e) => { st.l2 = Number(e.value); });
  on("pg-bn", "change", (e) => { st.bn = e.checked; });
  on("pg-drop", "change", (e) => { st.drop = Number(e.value); });
  on("pg-batch", "change", (e) => { st.batch = clampInt(e, 1, 1000, st.batch); });
  on("pg-seed", "change", (e) => { st.seed = clampInt(e, 0, 2 ** 31 - 1, st.seed); });
  on("pg-n", "change", (e) => { st.n = clampInt(e, 10, L.max_rows, st.n); });
  on("pg-split", "change", (e) => { st.split = Number(e.value); $("pg-split-out").textContent = `${st.split}%`; });
  on("pg-noise", "change", (e) => { st.noise = Number(e.value); $("pg-noise-out").textContent = st.noise; });
  $("pg-add-layer").addEventListener("click", () => {
    if (st.layers.length >= L.max_layers) return;
    const last = st.layers[st.layers.length - 1] || { name: "tanh", params: {} };
    st.layers.push({ units: 4, name: last.name, params: { ...last.params } });
    changed();
  });
  $("pg-del-layer").addEventListener("click", () => { if (st.layers.length) { st.layers.pop(); changed(); } });
  $("pg-play").addEventListener("click", () => {
    run.wantPlay = !run.playing;
    session.send({ type: run.wantPlay ? "play" : "pause" });
    run.playing = run.wantPlay;
    playButton();
  });
  $("pg-step").addEventListener("click", () => { run.wantPlay = false; session.send({ type: "step", count: 1 }); });
  $("pg-reset").addEventListener("click", () => { run.wantPlay = false; session.send({ type: "reset" }); });
  $("pg-show-test").addEventListener("change", () => draw(true));
  $("pg-discrete").addEventListener("change", () => draw(true));
  $("pg-csv").addEventListener("change", upload);
  datasets();
  legend($("pg-legend").appendChild(document.createElement("canvas")));
  const [lo, hi] = [document.createElement("span"), document.createElement("span")];
  lo.textContent = "−"; hi.textContent = "+";
  $("pg-legend").prepend(lo); $("pg-legend").append(hi);
}

function clampInt(el, lo, hi, dflt) {
  const v = Math.round(Number(el.value));
  const ok = Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : dflt;
  el.value = ok;
  return ok;
}

function datasets() {
  const box = $("pg-datasets");
  box.textContent = "";
  for (const [name, label] of DATASETS) {
    const b = document.createElement("button");
    b.type = "button"; b.dataset.ds = name;
    b.setAttribute("aria-pressed", st.ds === name);
    b.textContent = label;
    b.addEventListener("click", () => { st.ds = name; datasets(); changed(); });
    box.append(b);
  }
  if (st.ds.startsWith("csv:")) {
    const b = document.createElement("button");
    b.type = "button"; b.setAttribute("aria-pressed", "true"); b.textContent = `your CSV (${st.ds.slice(4, 10)}…)`;
    box.append(b);
  }
}

function features() {
  const box = $("pg-features");
  box.textContent = "";
  if (!run.ready) return;
  const { fmaps } = run.ready.arrays;
  const ug = run.ready.meta.unit_grid;
  ctx.limits.features.forEach((f, k) => {
    const b = document.createElement("button");
    b.type = "button"; b.dataset.feature = f;
    b.setAttribute("aria-pressed", st.feat.includes(f));
    const c = document.createElement("canvas");
    c.width = ug; c.height = ug;
    const img = c.getContext("2d").createImageData(ug, ug);
    const v = fmaps.data.subarray(k * ug * ug, (k + 1) * ug * ug);
    for (let i = 0; i < ug * ug; i++) img.data.set(LUT.subarray(v[i] * 4, v[i] * 4 + 4), i * 4);
    c.getContext("2d").putImageData(img, 0, 0);
    const label = document.createElement("span");
    label.textContent = f.replace("_", " ");
    b.append(c, label);
    b.addEventListener("click", () => {
      const on = !st.feat.includes(f);
      if (!on && st.feat.length === 1) { ctx.notify("Keep at least one input feature."); return; }
      st.feat = on ? [...st.feat, f] : st.feat.filter((x) => x !== f);
      st.feat = ctx.limits.features.filter((x) => st.feat.includes(x));
      changed();
    });
    box.append(b);
  });
}

async function upload() {
  const file = $("pg-csv").files[0];
  const msg = $("pg-csv-msg");
  msg.className = "msg"; msg.textContent = "";
  if (!file) return;
  if (file.size > ctx.limits.max_csv_bytes) {
    msg.className = "msg bad"; msg.textContent = `The file is larger than 1 MB (${file.size.toLocaleString()} bytes).`;
    return;
  }
  try {
    const res = await postText("/api/csv", await file.text(), { task: $("pg-csv-task").value });
    msg.textContent = `${res.rows.toLocaleString()} rows (${res.task}).`;
    st.ds = res.name;
    datasets();
    changed();
  } catch (err) {
    msg.className = "msg bad";
    msg.textContent = err.message;
  }
}

function playButton() {
  const b = $("pg-play");
  b.textContent = run.playing ? "❚❚ Pause" : "▶ Play";
  b.setAttribute("aria-pressed", run.playing);
}

// A setting changed: rebuild the run (paused at step 0, or playing on if it was).
function changed() {
  ctx.save();
  clearTimeout(sendTimer);
  sendTimer = setTimeout(send, 120);
}

function send() {
  status("");
  session.send({ type: "config", config: config() });
  if (run.wantPlay) session.send({ type: "play" });
}

// ------------------------------------------------------------------------- frames

function ready(fr) {
  run.ready = fr;
  run.log = []; run.gnorm = []; run.fracs = []; run.latest = null; run.frames = 0;
  datasets();
  features();
  $("pg-nlayers").textContent = st.layers.length;
  net.build(fr, st.layers.map((l) => ({ ...l, params: { ...l.params } })));
  histFigures(fr.meta.sizes.length - 2);
}

function frame(fr) {
  const m = fr.meta;
  run.frames++;
  for (const r of rows(fr.arrays.log)) run.log.push(r);
  for (const r of rows(fr.arrays.gnorm)) run.gnorm.push([m.epoch, ...r]);
  if (m.layers.length) run.fracs.push([m.epoch, m.layers.map((l) => l.dead), m.layers.map((l) => l.sat)]);
  run.playing = m.playing;
  if (!m.playing && !run.wantPlay) playButton();
  if (m.stopped) { status(m.stopped); run.wantPlay = false; }
  run.latest = fr;
  if (!run.pending) {
    run.pending = true;
    requestAnimationFrame(() => { run.pending = false; draw(false); });
  }
}

function draw(force) {
  const fr = run.latest;
  if (!fr || !run.ready) return;
  const m = fr.meta;
  $("pg-epoch").textContent = Math.floor(m.epoch).toLocaleString();
  $("pg-stepno").textContent = m.step.toLocaleString();
  $("pg-sps").textContent = Math.round(m.sps).toLocaleString();
  const last = run.log[run.log.length - 1];
  if (last) {
    $("pg-train-loss").textContent = last[1].toFixed(3);
    $("pg-test-loss").textContent = last[2].toFixed(3);
  }
  boundary(fr);
  net.update(fr);
  hists(fr);
  playButton();
  const now = performance.now();
  if (force || now - run.chartsAt > 300 || !m.playing) { run.chartsAt = now; charts(); }
}

function boundary(fr) {
  const canvas = $("pg-boundary");
  const dpr = window.devicePixelRatio || 1;
  const size = Math.round((canvas.clientWidth || 320) * dpr);
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
  const g = run.ready.meta.grid;
  const off = document.createElement("canvas");
  off.width = g; off.height = g;
  const octx = off.getContext("2d");
  const img = octx.createImageData(g, g);
  const v = fr.arrays.boundary.data, discrete = $("pg-discrete").checked;
  for (let i = 0; i < g * g; i++) {
    const k = (discrete ? (v[i] >= 128 ? 255 : 0) : v[i]) * 4;
    img.data[i * 4] = LUT[k]; img.data[i * 4 + 1] = LUT[k + 1]; img.data[i * 4 + 2] = LUT[k + 2];
    img.data[i * 4 + 3] = 200;
  }
  octx.putImageData(img, 0, 0);
  const c = canvas.getContext("2d");
  c.fillStyle = "#fff"; c.fillRect(0, 0, size, size);
  c.imageSmoothingEnabled = true;
  c.drawImage(off, 0, 0, size, size);
  const [x0, x1, y0, y1] = run.ready.meta.domain;
  const pts = run.ready.arrays.points.data, lab = run.ready.arrays.labels.data;
  const nTrain = run.ready.meta.n_train, showTest = $("pg-show-test").checked;
  const cls = run.ready.meta.task === "classification", ys = run.ready.meta.yscale || 1;
  const r = 2.6 * dpr;
  for (let i = 0; i < lab.length; i++) {
    const test = i >= nTrain;
    if (test && !showTest) continue;
    const px = ((pts[2 * i] - x0) / (x1 - x0)) * size, py = ((y1 - pts[2 * i + 1]) / (y1 - y0)) * size;
    c.beginPath();
    c.arc(px, py, r, 0, 2 * Math.PI);
    c.fillStyle = cls ? (lab[i] > 0.5 ? POS : NEG) : colorOf(127.5 + 127.5 * Math.max(-1, Math.min(1, lab[i] / ys)));
    c.fill();
    c.lineWidth = 1.2 * dpr;
    c.strokeStyle = test ? "#000" : "#fff";
    c.stroke();
  }
}

function histFigures(n) {
  const box = $("pg-hist");
  box.textContent = "";
  for (let k = 0; k < n; k++) {
    const f = document.createElement("figure");
    const c = document.createElement("canvas");
    const cap = document.createElement("figcaption");
    f.append(c, cap);
    box.append(f);
  }
}

function hists(fr) {
  const figs = $("pg-hist").children;
  const h = fr.arrays.hist;
  if (!h) return;
  const bins = h.shape[1];
  fr.meta.layers.forEach((l, k) => {
    if (!figs[k]) return;
    bars(figs[k].firstChild, h.data.subarray(k * bins, (k + 1) * bins), LAYER_COLORS[k % LAYER_COLORS.length]);
    figs[k].lastChild.textContent = l.lo === l.hi ? `layer ${k + 1}: all ${l.lo.toPrecision(2)}`
      : `layer ${k + 1}: ${l.lo.toPrecision(2)} … ${l.hi.toPrecision(2)}`;
  });
}

function charts() {
  const layout = (extra) => ({ margin: { l: 45, r: 8, t: 8, b: 32 }, xaxis: { title: { text: "epoch" } },
    legend: { x: 1, xanchor: "right", y: 1, bgcolor: "rgba(255,255,255,0.7)", font: { size: 10 } }, ...extra });
  const cfg = { responsive: true, displaylogo: false, displayModeBar: false };
  const log = thin(run.log);
  Plotly.react($("pg-loss-chart"), [
    { x: log.map((r) => r[0]), y: log.map((r) => r[1]), name: "training", mode: "lines", line: { color: POS } },
    { x: log.map((r) => r[0]), y: log.map((r) => r[2]), name: "test", mode: "lines", line: { color: NEG, dash: "dot" } },
  ], layout({ yaxis: { rangemode: "tozero" } }), cfg);
  const g = thin(run.gnorm);
  const nd = g.length ? g[0].length - 1 : 0;
  const gt = [];
  for (let k = 0; k < nd; k++) {
    gt.push({ x: g.map((r) => r[0]), y: g.map((r) => (r[k + 1] > 0 ? r[k + 1] : null)), mode: "lines",
      name: k === nd - 1 ? "output layer" : `layer ${k + 1}`, line: { color: LAYER_COLORS[k % LAYER_COLORS.length] } });
  }
  Plotly.react($("pg-grad-chart"), gt, layout({ yaxis: { type: "log", exponentformat: "power" } }), cfg);
  const f = thin(run.fracs);
  const nl = f.length ? f[0][1].length : 0;
  const ft = [];
  for (let k = 0; k < nl; k++) {
    const color = LAYER_COLORS[k % LAYER_COLORS.length];
    ft.push({ x: f.map((r) => r[0]), y: f.map((r) => r[1][k]), name: `dead ${k + 1}`, mode: "lines", line: { color } });
    ft.push({ x: f.map((r) => r[0]), y: f.map((r) => r[2][k]), name: `saturated ${k + 1}`, mode: "lines",
      line: { color, dash: "dot" } });
  }
  Plotly.react($("pg-dead-chart"), ft, layout({ yaxis: { range: [-0.02, 1.02], tickformat: ".0%" } }), cfg);
}
