// The MNIST view: the tutorials' 784-64-10 network (up to 3 hidden layers) training live.
import { plotly } from "./api.js";
import { rows } from "./frames.js";
import { bars, paint, paintGrey, NEG, POS } from "./palette.js";
import { Session } from "./session.js";
import { INIT_LABELS, activationSelect, fillSelect, paramInputs, parseSpec, specOf, thin } from "./specs.js";
import { bool, int, num, str } from "./state.js";

const $ = (id) => document.getElementById(id);
const LRS = [0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REGS = [0, 0.0001, 0.001, 0.01, 0.1];
let ctx, Plotly, session;
const st = { layers: [{ units: 64, name: "relu", params: {} }], init: "he_normal", std: 0.01, opt: "sgd", lr: 0.1,
  batch: 64, train: 60000, l2: 0, bn: false, drop: 0, seed: 0 };
const run = { ready: null, latest: null, log: [], fracs: [], playing: false, wantPlay: false, pending: false,
  chartsAt: 0, frames: 0 };
let sendTimer = null;

export function params(p) {
  p.set("m_layers", st.layers.map((l) => `${l.units}:${specOf(ctx.catalogue, l.name, l.params)}`).join(";"));
  p.set("m_init", st.init); p.set("m_std", st.std); p.set("m_opt", st.opt); p.set("m_lr", st.lr);
  p.set("m_batch", st.batch); p.set("m_train", st.train); p.set("m_l2", st.l2); p.set("m_bn", st.bn ? 1 : 0);
  p.set("m_drop", st.drop); p.set("m_seed", st.seed);
}

function readParams(p) {
  const L = ctx.limits;
  if (p.has("m_layers")) {
    const layers = [];
    for (const part of p.get("m_layers").split(";").filter(Boolean).slice(0, L.mnist_max_layers)) {
      const i = part.indexOf(":");
      const s = parseSpec(ctx.catalogue, part.slice(i + 1));
      const units = Math.round(Number(part.slice(0, i)));
      if (s && units >= 1 && units <= L.mnist_max_units) layers.push({ units, name: s.name, params: s.params });
    }
    st.layers = layers;
  }
  st.init = str(p, "m_init", "he_normal", L.inits); st.std = num(p, "m_std", 0.01, 1e-6, 10);
  st.opt = str(p, "m_opt", "sgd", L.optimizers); st.lr = num(p, "m_lr", 0.1, L.lr[0], L.lr[1]);
  st.batch = int(p, "m_batch", 64, 1, 1024); st.train = int(p, "m_train", 60000, 1000, 60000);
  st.l2 = num(p, "m_l2", 0, 0, 10); st.bn = bool(p, "m_bn", false); st.drop = num(p, "m_drop", 0, 0, 0.9);
  st.seed = int(p, "m_seed", 0, 0, 2 ** 31 - 1);
}

function config() {
  return { kind: "mnist", layers: st.layers.map((l) => ({ units: l.units, activation: specOf(ctx.catalogue, l.name, l.params) })),
    init: st.init, init_std: st.std, optimizer: st.opt, lr: st.lr, batch: st.batch, train_size: st.train,
    l2: st.l2, batchnorm: st.bn, dropout: st.drop, seed: st.seed };
}

export async function init(c, p) {
  ctx = c;
  Plotly = await plotly();
  readParams(p);
  const L = ctx.limits;
  fillSelect($("mn-init"), L.inits, L.inits.map((i) => INIT_LABELS[i] || i), st.init);
  fillSelect($("mn-opt"), L.optimizers, ["SGD", "momentum", "Adam"], st.opt);
  fillSelect($("mn-lr"), [...new Set([...LRS, st.lr])].sort((a, b) => a - b), null, st.lr);
  fillSelect($("mn-l2"), [...new Set([...REGS, st.l2])].sort((a, b) => a - b), null, st.l2);
  $("mn-std").value = String(st.std); $("mn-std-wrap").hidden = st.init !== "normal";
  $("mn-batch").value = st.batch; $("mn-train").value = String(st.train); $("mn-bn").checked = st.bn;
  $("mn-drop").value = String(st.drop); $("mn-seed").value = st.seed;
  const on = (id, ev, fn) => $(id).addEventListener(ev, () => { fn($(id)); changed(); });
  on("mn-init", "change", (e) => { st.init = e.value; $("mn-std-wrap").hidden = st.init !== "normal"; });
  on("mn-std", "change", (e) => { st.std = Number(e.value); });
  on("mn-opt", "change", (e) => { st.opt = e.value; });
  on("mn-lr", "change", (e) => { st.lr = Number(e.value); });
  on("mn-l2", "change", (e) => { st.l2 = Number(e.value); });
  on("mn-bn", "change", (e) => { st.bn = e.checked; });
  on("mn-drop", "change", (e) => { st.drop = Number(e.value); });
  on("mn-train", "change", (e) => { st.train = Number(e.value); });
  on("mn-batch", "change", (e) => { st.batch = Math.min(1024, Math.max(1, Math.round(Number(e.value)) || 64)); e.value = st.batch; });
  on("mn-seed", "change", (e) => { st.seed = Math.max(0, Math.round(Number(e.value)) || 0); e.value = st.seed; });
  $("mn-add-layer").addEventListener("click", () => {
    if (st.layers.length < L.mnist_max_layers) { st.layers.push({ units: 32, name: "relu", params: {} }); layersUI(); changed(); }
  });
  $("mn-del-layer").addEventListener("click", () => { if (st.layers.length) { st.layers.pop(); layersUI(); changed(); } });
  $("mn-play").addEventListener("click", () => {
    run.wantPlay = !run.playing;
    session.send({ type: run.wantPlay ? "play" : "pause" });
    run.playing = run.wantPlay;
    playButton();
  });
  $("mn-step").addEventListener("click", () => { run.wantPlay = false; session.send({ type: "step", count: 1 }); });
  $("mn-reset").addEventListener("click", () => { run.wantPlay = false; session.send({ type: "reset" }); });
  layersUI();
  session = new Session({
    onReady: ready, onFrame: frame,
    onError: (m) => status(`${m.field ? m.field + ": " : ""}${m.message}`),
    onBusy: (m) => status(m),
    onClose: (ev) => { run.playing = false; playButton(); if (ev.code !== 1013 && ev.code !== 1000) status("The connection to the lab closed."); },
  });
  window.lab.mnist = run;
  send();
}

export function show() {}
export function hide() { if (run.playing || run.wantPlay) { run.wantPlay = false; session.send({ type: "pause" }); } }

function status(text) { $("mn-status").textContent = text; }

function layersUI() {
  const box = $("mn-layers");
  box.textContent = "";
  st.layers.forEach((l, k) => {
    const row = document.createElement("div");
    row.className = "mn-layer";
    const units = document.createElement("input");
    units.type = "number"; units.min = 1; units.max = ctx.limits.mnist_max_units; units.value = l.units;
    units.setAttribute("aria-label", `layer ${k + 1} units`);
    units.addEventListener("change", () => {
      l.units = Math.min(ctx.limits.mnist_max_units, Math.max(1, Math.round(Number(units.value)) || 1));
      units.value = l.units; changed();
    });
    const sel = activationSelect(ctx.catalogue, l.name, `layer ${k + 1} activation`);
    sel.addEventListener("change", () => { l.name = sel.value; l.params = {}; layersUI(); changed(); });
    const label = document.createElement("span");
    label.textContent = `hidden layer ${k + 1}:`;
    row.append(label, units, " units, ", sel, ...paramInputs(ctx.catalogue, l.name, l.params, changed));
    box.append(row);
  });
  $("mn-arch").textContent = [784, ...st.layers.map((l) => l.units), 10].join("-");
}

function playButton() {
  $("mn-play").textContent = run.playing ? "❚❚ Pause" : "▶ Play";
}

function changed() {
  ctx.save();
  clearTimeout(sendTimer);
  sendTimer = setTimeout(send, 150);
}

function send() {
  status("");
  session.send({ type: "config", config: config() });
  if (run.wantPlay) session.send({ type: "play" });
}

function ready(fr) {
  run.ready = fr;
  run.log = []; run.fracs = []; run.latest = null; run.frames = 0;
  const strip = $("mn-strip");
  strip.textContent = "";
  const img = fr.arrays.strip.data, labels = fr.arrays.strip_labels.data;
  for (let i = 0; i < labels.length; i++) {
    const f = document.createElement("figure");
    const c = document.createElement("canvas");
    paintGrey(c, img.subarray(i * 784, (i + 1) * 784), 28, 28);
    const cap = document.createElement("figcaption");
    cap.textContent = `${labels[i]}`;
    f.append(c, cap);
    strip.append(f);
  }
  const units = $("mn-units");
  units.textContent = "";
  fr.meta.sizes.slice(1, -1).forEach((n, k) => {
    const row = document.createElement("div");
    row.className = "unitrow";
    const t = document.createElement("div");
    const c = document.createElement("canvas");
    row.append(t, c);
    units.append(row);
  });
}

function frame(fr) {
  run.frames++;
  for (const r of rows(fr.arrays.log)) run.log.push(r);
  if (fr.meta.layers.length) run.fracs.push([fr.meta.step, fr.meta.layers.map((l) => l.dead)]);
  run.playing = fr.meta.playing;
  if (fr.meta.stopped) { status(fr.meta.stopped); run.wantPlay = false; }
  run.latest = fr;
  if (!run.pending) { run.pending = true; requestAnimationFrame(() => { run.pending = false; draw(); }); }
}

function draw() {
  const fr = run.latest;
  if (!fr) return;
  const m = fr.meta, a = fr.arrays;
  $("mn-stepno").textContent = m.step.toLocaleString();
  $("mn-epoch").textContent = m.epoch.toFixed(2);
  $("mn-sps").textContent = Math.round(m.sps).toLocaleString();
  $("mn-acc").textContent = `${(100 * m.accuracy).toFixed(1)}%`;
  playButton();
  // per-layer statistics
  const rowsEl = $("mn-units").children;
  const bins = a.hist.shape[1];
  m.layers.forEach((l, k) => {
    if (!rowsEl[k]) return;
    const flags = a.uflags.data;
    rowsEl[k].firstChild.textContent = `layer ${k + 1}: ${l.dead === null ? "n/a" : `${(100 * l.dead).toFixed(0)}% dead, ` +
      `${(100 * l.sat).toFixed(0)}% saturated`} (${l.lo === l.hi ? `all ${l.lo.toPrecision(2)}`
      : `${l.lo.toPrecision(2)} … ${l.hi.toPrecision(2)}`})`;
    bars(rowsEl[k].lastChild, a.hist.data.subarray(k * bins, (k + 1) * bins));
    rowsEl[k].dataset.dead = String(l.dead);
    void flags;
  });
  // first-layer weights as a grid of 28x28 images
  const w = a.w_images, n = w.shape[0], cols = Math.ceil(Math.sqrt(n)), rowsN = Math.ceil(n / cols);
  const canvas = $("mn-weights");
  canvas.width = cols * 29; canvas.height = rowsN * 29;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, canvas.width, canvas.height);
  const tile = document.createElement("canvas");
  for (let i = 0; i < n; i++) {
    paint(tile, w.data.subarray(i * 784, (i + 1) * 784), 28, 28);
    g.drawImage(tile, (i % cols) * 29, Math.floor(i / cols) * 29);
  }
  confusion(a.confusion.data);
  const figs = $("mn-strip").children;
  const labels = run.ready.arrays.strip_labels.data;
  for (let i = 0; i < figs.length; i++) {
    const p = a.strip_pred.data[i], ok = p === labels[i];
    figs[i].classList.toggle("wrong", !ok);
    figs[i].lastChild.textContent = `${ok ? "✓" : "✗"} ${p} (${Math.round((a.strip_conf.data[i] / 255) * 100)}%)`;
  }
  const now = performance.now();
  if (now - run.chartsAt > 400 || !m.playing) { run.chartsAt = now; charts(); }
}

function confusion(c) {
  const canvas = $("mn-confusion");
  const dpr = window.devicePixelRatio || 1;
  const S = Math.round((canvas.clientWidth || 330) * dpr);
  canvas.width = S; canvas.height = S;
  const g = canvas.getContext("2d");
  const pad = 22 * dpr, cell = (S - pad) / 10;
  g.fillStyle = "#fff"; g.fillRect(0, 0, S, S);
  const rowSum = Array.from({ length: 10 }, (_, i) => c.slice(i * 10, i * 10 + 10).reduce((s, v) => s + v, 0) || 1);
  g.font = `${10 * dpr}px system-ui`; g.textAlign = "center"; g.textBaseline = "middle";
  for (let i = 0; i < 10; i++) {
    g.fillStyle = "#555";
    g.fillText(String(i), pad / 2, pad + (i + 0.5) * cell);
    g.fillText(String(i), pad + (i + 0.5) * cell, pad / 2);
    for (let j = 0; j < 10; j++) {
      const f = c[i * 10 + j] / rowSum[i];
      const t = Math.sqrt(f);
      g.fillStyle = i === j ? `rgba(84,39,136,${t})` : `rgba(179,88,6,${t})`;
      g.fillRect(pad + j * cell, pad + i * cell, cell - 1, cell - 1);
      if (c[i * 10 + j]) {
        g.fillStyle = t > 0.6 ? "#fff" : "#222";
        g.fillText(String(c[i * 10 + j]), pad + (j + 0.5) * cell, pad + (i + 0.5) * cell);
      }
    }
  }
}

function charts() {
  const log = thin(run.log);
  const layout = (extra) => ({ margin: { l: 45, r: 8, t: 8, b: 32 }, xaxis: { title: { text: "step" } },
    legend: { x: 1, xanchor: "right", y: 1, bgcolor: "rgba(255,255,255,0.7)", font: { size: 10 } }, ...extra });
  const cfg = { responsive: true, displaylogo: false, displayModeBar: false };
  const x = log.map((r) => r[0]);
  Plotly.react($("mn-loss-chart"), [
    { x, y: log.map((r) => r[2]), name: "training", mode: "lines", line: { color: POS } },
    { x, y: log.map((r) => r[4]), name: "test", mode: "lines", line: { color: NEG, dash: "dot" } },
  ], layout({ yaxis: { title: { text: "loss" }, rangemode: "tozero" } }), cfg);
  Plotly.react($("mn-acc-chart"), [
    { x, y: log.map((r) => r[3]), name: "training", mode: "lines", line: { color: POS } },
    { x, y: log.map((r) => r[5]), name: "test", mode: "lines", line: { color: NEG, dash: "dot" } },
  ], layout({ yaxis: { title: { text: "accuracy" }, tickformat: ".0%" } }), cfg);
}
