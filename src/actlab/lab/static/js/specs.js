// Activation specs as the catalogue reads them: "elu(alpha=0.5)" <-> {name, params}, and
// typed formulas ("x * tanh(softplus(x))"), whose name is their text. The server parses
// and validates every spec again; this only builds and splits the strings.
import { getJSON } from "./api.js";

export function entry(catalogue, name) { return catalogue.find((e) => e.name === name); }

// A spec that names the variable x is a formula (as the server decides).
export function isFormula(text) { return /(^|[^A-Za-z0-9_])x([^A-Za-z0-9_]|$)/.test(String(text)); }

// Asks the server whether a formula builds (and, with hidden, whether it can be a hidden
// layer): resolves to its canonical spec, or throws the server's one-line reason
// (position, token, a close match for a misspelt name).
export async function checkFormula(text, hidden = false) {
  const t = String(text).trim();
  if (!isFormula(t)) throw new Error("A formula uses the variable x, e.g. x * tanh(softplus(x)).");
  const r = await getJSON("/api/check", { spec: t });
  if (!r.ok) throw new Error(r.error);
  if (hidden && r.hidden) throw new Error(r.hidden);
  return r.spec;
}

export function specOf(catalogue, name, params = {}) {
  const e = entry(catalogue, name);
  if (!e || !e.params.length) return name;
  return `${name}(${e.params.map((p) => `${p.name}=${params[p.name] ?? p.default}`).join(", ")})`;
}

export function parseSpec(catalogue, text) {
  const t = String(text).trim();
  const m = /^([a-z0-9_]+)(?:\((.*)\))?$/.exec(t);
  if (!m || !entry(catalogue, m[1])) {
    return isFormula(t) ? { name: t, params: {} } : null;
  }
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
  const option = (v, text, title = "") => {
    const o = document.createElement("option");
    o.value = v; o.textContent = text; o.title = title;
    return o;
  };
  for (const [fam, items] of families) {
    const g = document.createElement("optgroup");
    g.label = fam;
    for (const e of items) g.append(option(e.name, e.name));
    sel.append(g);
  }
  const own = document.createElement("optgroup");
  own.label = "your own";
  if (value && !entry(catalogue, value)) own.append(option(value, short(value), value));
  own.append(option(TYPE_FORMULA, "type a formula…"));
  sel.append(own);
  sel.value = value;
  typedFormula(sel, own, value);
  return sel;
}

const TYPE_FORMULA = "\u0000formula";
const short = (t) => (t.length > 28 ? `${t.slice(0, 27)}…` : t);

// "type a formula…": a text box after the select; once the server accepts the formula it
// becomes the select's value and the select's own change event fires, so the callers'
// handlers need not know formulas exist. A refused formula keeps the old value and shows
// the server's reason under the box.
function typedFormula(sel, own, value) {
  let previous = value;
  sel.addEventListener("change", (ev) => {
    if (sel.value !== TYPE_FORMULA) { previous = sel.value; return; }
    ev.stopImmediatePropagation();
    sel.value = previous;
    if (sel.nextElementSibling?.classList.contains("formula-box")) { sel.nextElementSibling.querySelector("input").focus(); return; }
    const box = document.createElement("span");
    box.className = "formula-box";
    const inp = document.createElement("input");
    inp.type = "text"; inp.placeholder = "x * tanh(softplus(x))";
    inp.setAttribute("aria-label", `${sel.getAttribute("aria-label")}: formula in x`);
    const err = document.createElement("small");
    err.className = "msg bad"; err.setAttribute("role", "alert");
    box.append(inp, err);
    sel.after(box);
    inp.focus();
    inp.addEventListener("keydown", async (e) => {
      if (e.key === "Escape") { box.remove(); return; }
      if (e.key !== "Enter") return;
      e.preventDefault();
      try {
        const spec = await checkFormula(inp.value, true);
        const o = document.createElement("option");
        o.value = spec; o.textContent = short(spec); o.title = spec;
        own.prepend(o);
        box.remove();
        sel.value = spec; previous = spec;
        sel.dispatchEvent(new Event("change"));
      } catch (x) { err.textContent = x.message; }
    });
  });
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
