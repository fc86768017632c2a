// The Playground's network drawing: input features, hidden units as small heatmaps,
// outputs; links coloured by sign and sized by |weight|; dead / saturated units marked.
import { paint, colorOf, NEG, POS } from "./palette.js";
import { activationSelect, paramInputs, specOf } from "./specs.js";

const SVG = "http://www.w3.org/2000/svg";
const HEAD = 96;  // room above the columns for each layer's controls

export class NetworkView {
  constructor(el, { catalogue, onLayers }) {
    this.el = el;
    this.catalogue = catalogue;
    this.onLayers = onLayers;  // called with the edited layers [{units, act}]
    this.units = [];
    this.links = [];
    this.frameNo = 0;
  }

  // (Re)build the drawing for a run described by its ready message.
  build(ready, layers) {
    this.ready = ready;
    this.layers = layers;
    const el = this.el;
    el.textContent = "";
    const sizes = ready.meta.sizes;  // [features, hidden..., outputs]
    const maxN = Math.max(...sizes);
    const s = maxN <= 8 ? 30 : maxN <= 16 ? 20 : 13;
    const gap = s <= 13 ? 3 : 5;
    const H = Math.max(HEAD + maxN * (s + gap) + 10, 280);
    el.style.height = `${H}px`;
    const W = el.clientWidth || 600;
    const pad = 40;
    const xs = sizes.map((_, i) => pad + (i * (W - 2 * pad)) / Math.max(1, sizes.length - 1));
    const pos = sizes.map((n, i) => {
      const top = HEAD + ((maxN - n) * (s + gap)) / 2;
      return Array.from({ length: n }, (_, j) => [xs[i], top + j * (s + gap) + s / 2]);
    });
    this.pos = pos;
    this.s = s;
    // each layer's controls get the room between two columns (phones: narrow)
    this.ctlW = Math.max(60, Math.min(124, (W - 2 * pad) / Math.max(1, sizes.length - 1) - 6));

    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("preserveAspectRatio", "none");
    el.append(svg);
    this.links = [];
    for (let L = 0; L + 1 < sizes.length; L++) {
      const layerLinks = [];
      for (let i = 0; i < sizes[L]; i++) {
        for (let j = 0; j < sizes[L + 1]; j++) {
          const line = document.createElementNS(SVG, "line");
          const [x1, y1] = pos[L][i], [x2, y2] = pos[L + 1][j];
          line.setAttribute("x1", x1 + s / 2); line.setAttribute("y1", y1);
          line.setAttribute("x2", x2 - s / 2); line.setAttribute("y2", y2);
          line.setAttribute("stroke", "#ccc");
          svg.append(line);
          layerLinks.push(line);
        }
      }
      this.links.push(layerLinks);
    }

    // input features: their maps over the plane (from the ready message)
    const fm = ready.arrays.fmaps, all = ready.meta.all_features, ug = ready.meta.unit_grid;
    ready.meta.features.forEach((f, i) => {
      const k = all.indexOf(f);
      const c = this.canvas(pos[0][i], s, `feature ${f}`);
      paint(c, fm.data.subarray(k * ug * ug, (k + 1) * ug * ug), ug, ug);
      const lab = document.createElement("div");
      lab.className = "colhead";
      lab.textContent = f.replace("_", " ");
      lab.style.left = `${pos[0][i][0] - s / 2 - 46}px`; lab.style.top = `${pos[0][i][1] - 7}px`;
      lab.style.width = "42px"; lab.style.textAlign = "right";
      el.append(lab);
    });
    const headIn = this.head(xs[0], "inputs");
    headIn.style.top = `${HEAD - 18}px`;

    // hidden units and each layer's controls
    this.units = [];
    for (let k = 1; k + 1 < sizes.length; k++) {
      const layer = layers[k - 1];
      for (let j = 0; j < sizes[k]; j++) {
        const c = this.canvas(pos[k][j], s, "");
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.hidden = true;
        badge.style.left = `${pos[k][j][0] + s / 2 - 6}px`; badge.style.top = `${pos[k][j][1] - s / 2 - 6}px`;
        el.append(badge);
        this.units.push({ canvas: c, badge, layer: k - 1, unit: j, spec: specOf(this.catalogue, layer.name, layer.params) });
      }
      this.controls(xs[k], k - 1, layer);
    }
    // outputs
    const out = sizes[sizes.length - 1];
    const names = ready.meta.task === "classification" ? ["class 0", "class 1"] : ["y"];
    for (let j = 0; j < out; j++) {
      const [x, y] = pos[sizes.length - 1][j];
      const box = document.createElement("div");
      box.className = "unit";
      Object.assign(box.style, { left: `${x - s / 2}px`, top: `${y - s / 2}px`, width: `${s}px`, height: `${s}px`,
        background: ready.meta.task === "classification" ? (j ? POS : NEG) : "#888" });
      box.title = `output: logit of ${names[j]}`;
      el.append(box);
    }
    this.head(xs[sizes.length - 1], "output").style.top = `${HEAD - 18}px`;
  }

  canvas([x, y], s, title) {
    const c = document.createElement("canvas");
    c.className = "unit";
    Object.assign(c.style, { left: `${x - s / 2}px`, top: `${y - s / 2}px`, width: `${s}px`, height: `${s}px` });
    c.title = title;
    this.el.append(c);
    return c;
  }

  head(x, text) {
    const h = document.createElement("div");
    h.className = "colhead";
    h.textContent = text;
    h.style.left = `${x - 40}px`; h.style.width = "80px";
    this.el.append(h);
    return h;
  }

  controls(x, k, layer) {
    const box = document.createElement("div");
    box.className = "layerctl";
    box.style.left = `${x - this.ctlW / 2}px`; box.style.width = `${this.ctlW}px`; box.style.top = "0px";
    const sel = activationSelect(this.catalogue, layer.name, `layer ${k + 1} activation`);
    sel.dataset.layer = k;
    sel.style.maxWidth = `${this.ctlW}px`;
    sel.addEventListener("change", () => {
      this.layers[k] = { ...layer, name: sel.value, params: {} };
      this.onLayers(this.layers);
    });
    const row = document.createElement("div");
    const minus = document.createElement("button"), plus = document.createElement("button");
    minus.type = plus.type = "button"; minus.className = plus.className = "small";
    minus.textContent = "−"; plus.textContent = "+";
    minus.title = "fewer units"; plus.title = "more units";
    const n = document.createElement("span");
    n.textContent = this.ctlW < 100 ? ` ${layer.units} ` : ` ${layer.units} units `;
    minus.addEventListener("click", () => this.resize(k, -1));
    plus.addEventListener("click", () => this.resize(k, +1));
    row.append(minus, n, plus);
    box.append(sel, row);
    const inputs = paramInputs(this.catalogue, layer.name, layer.params, () => this.onLayers(this.layers));
    if (inputs.length) {
      const pr = document.createElement("div");
      pr.append(...inputs);
      box.append(pr);
    }
    this.el.append(box);
  }

  resize(k, d) {
    const u = this.layers[k].units + d;
    if (u < 1 || u > 32) return;
    this.layers[k] = { ...this.layers[k], units: u };
    this.onLayers(this.layers);
  }

  // Paint one frame: unit maps and marks, link colours and widths.
  update(frame) {
    const a = frame.arrays;
    this.frameNo++;
    const ug = this.ready.meta.unit_grid;
    if (a.units) {
      const flags = a.uflags.data, scale = a.uscale.data;
      this.units.forEach((u, i) => {
        paint(u.canvas, a.units.data.subarray(i * ug * ug, (i + 1) * ug * ug), ug, ug);
        const f = flags[i];
        const dead = (f & 1) === 1, sat = (f & 2) === 2;
        u.canvas.classList.toggle("dead", dead);
        u.canvas.classList.toggle("sat", sat && !dead);
        u.badge.hidden = !(dead || sat);
        u.badge.textContent = dead ? "✕" : "S";
        u.canvas.dataset.state = dead ? "dead" : sat ? "saturated" : f & 4 ? "n/a" : "ok";
        u.canvas.title = `layer ${u.layer + 1}, unit ${u.unit + 1}: ${u.spec}; max |output| on the plane ` +
          `${scale[i].toPrecision(3)}` + (dead ? "; DEAD: f' ≈ 0 on every training point" : "") +
          (sat && !dead ? "; SATURATED: |f'| < 0.01 on 90% of the training points" : "") +
          (f & 4 ? "; a vector activation: no per-unit diagnosis" : "");
      });
    }
    const nLinks = this.links.reduce((t, l) => t + l.length, 0);
    if (nLinks > 2000 && this.frameNo % 3) return;  // big nets: links every third frame
    const q = a.weights.data, sc = a.wscale.data;
    let off = 0;
    this.links.forEach((layerLinks, L) => {
      for (let i = 0; i < layerLinks.length; i++) {
        const w = q[off + i] / 127;
        const line = layerLinks[i];
        line.setAttribute("stroke", colorOf(127.5 + 127.5 * w));
        line.setAttribute("stroke-width", (0.4 + 3.6 * Math.abs(w)).toFixed(2));
        line.setAttribute("stroke-opacity", (0.25 + 0.75 * Math.abs(w)).toFixed(2));
      }
      line0title(layerLinks, L, sc[L]);
      off += layerLinks.length;
    });
  }
}

function line0title(links, L, scale) {
  // the links' scale, for a hover on any link of the layer
  const t = `weights of layer ${L + 1}: width ∝ |w|, largest |w| ${scale.toPrecision(3)}`;
  for (const l of links) if (!l.firstChild) {
    const title = document.createElementNS(SVG, "title");
    title.textContent = t;
    l.append(title);
  } else l.firstChild.textContent = t;
}

