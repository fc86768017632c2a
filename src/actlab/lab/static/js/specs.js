// Activation specs as the catalogue reads them: "elu(alpha=0.5)" <-> {name, params}.
// The server validates every spec again; this only builds and splits the strings.

export function entry(catalogue, name) { return catalogue.find((e) => e.name === name); }

export function specOf(catalogue, name, params = {}) {
  const e = entry(catalogue, name);
  if (!e || !e.params.length) return name;
  return `${name}(${e.params.map((p) => `${p.name}=${params[p.name] ?? p.default}`).join(", ")})`;
}

export function parseSpec(catalogue, text) {
  const m = /^([a-z0-9_]+)(?:\((.*)\))?$/.exec(String(text).trim());
  if (!m || !entry(catalogue, m[1])) return null;
  const params = {};
  for (const part of (m[2] || "").split(",")) {
    const kv = part.split("=");
    if (kv.length === 2 && kv[1].trim() !== "" && Number.isFinite(Number(kv[1]))) params[kv[0].trim()] = Number(kv[1]);
  }
  return { name: m[1], params };
}

// A <select> of every entry usable as a hidden layer, grouped by family.
export function activationSelect(catalogue, value, label = "Activation") {
  const sel = document.createElement("select");
  sel.setAttribute("aria-label", label);
  const families = new Map();
  for (const e of catalogue) {
    if (!e.hidden_ok) continue;
    if (!families.has(e.family)) families.set(e.family, []);
    families.get(e.family).push(e);
  }
  for (const [fam, items] of families) {
    const g = document.createElement("optgroup");
    g.label = fam;
    for (const e of items) {
      const o = document.createElement("option");
      o.value = e.name; o.textContent = e.name;
      g.append(o);
    }
    sel.append(g);
  }
  sel.value = value;
  return sel;
}

// Number inputs for an entry's parameters (none for most entries).
export function paramInputs(catalogue, name, params, onChange) {
  const e = entry(catalogue, name);
  const out = [];
  for (const p of e ? e.params : []) {
    const inp = document.createElement("input");
    inp.type = "number"; inp.step = "any";
    inp.value = params[p.name] ?? p.default;
    inp.title = `${p.name}${p.doc ? ": " + p.doc : ""}`;
    inp.setAttribute("aria-label", `${name} ${p.name}`);
    inp.addEventListener("change", () => {
      const v = Number(inp.value);
      if (Number.isFinite(v)) { params[p.name] = v; onChange(); }
    });
    out.push(inp);
  }
  return out;
}

export function fillSelect(sel, values, labels = null, value = undefined) {
  sel.textContent = "";
  values.forEach((v, i) => {
    const o = document.createElement("option");
    o.value = String(v); o.textContent = labels ? labels[i] : String(v);
    sel.append(o);
  });
  if (value !== undefined) sel.value = String(value);
}

export const INIT_LABELS = {
  xavier_uniform: "Xavier / Glorot (uniform)", xavier_normal: "Xavier / Glorot (normal)", he_normal: "He (normal)",
  he_uniform: "He (uniform)", lecun_normal: "LeCun (normal)", orthogonal: "orthogonal", normal: "normal, std …",
  playground: "uniform ±0.5 (TF Playground)", zeros: "zeros",
};

// Downsample a long series for drawing (every k-th point and the last one).
export function thin(xs, max = 1500) {
  if (xs.length <= max) return xs;
  const k = Math.ceil(xs.length / max);
  const out = xs.filter((_, i) => i % k === 0);
  if (out[out.length - 1] !== xs[xs.length - 1]) out.push(xs[xs.length - 1]);
  return out;
}
