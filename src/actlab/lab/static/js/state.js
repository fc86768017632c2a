// The whole state lives in the URL fragment (#v=playground&ds=xor&seed=3&...), so a copied
// link reproduces a view and a run bit for bit: the server's runs are deterministic.
let written = "";

export function readHash() {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}

// Replace the fragment without adding a history entry per slider move.
export function writeHash(params) {
  const text = "#" + params.toString();
  if (text !== location.hash) {
    written = text;
    history.replaceState(null, "", text);
  }
}

export function isOurs(hash) { return hash === written; }

// Typed getters with bounds: a hand-edited link never yields NaN or an absurd value.
export function num(p, key, dflt, lo = -Infinity, hi = Infinity) {
  const v = Number(p.get(key));
  return p.has(key) && Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : dflt;
}
export function int(p, key, dflt, lo, hi) { return Math.round(num(p, key, dflt, lo, hi)); }
export function str(p, key, dflt, allowed = null) {
  const v = p.get(key);
  if (v === null) return dflt;
  return allowed && !allowed.includes(v) ? dflt : v;
}
export function bool(p, key, dflt) { return p.has(key) ? p.get(key) === "1" : dflt; }
