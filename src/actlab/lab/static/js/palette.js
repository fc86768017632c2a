// The diverging palette (ColorBrewer PuOr, colour-blind safe) and canvas helpers.
// 0 -> orange (negative, class 0), 127.5 -> near white, 255 -> purple (positive, class 1).
const STOPS = ["#b35806", "#e08214", "#fdb863", "#fee0b6", "#f7f7f7", "#d8daeb", "#b2abd2", "#8073ac", "#542788"];

function hex(c) { return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)); }

// 256 RGBA entries, interpolated between the stops
export const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 4);
  const rgb = STOPS.map(hex);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (rgb.length - 1);
    const k = Math.min(Math.floor(t), rgb.length - 2);
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 4 + c] = Math.round(rgb[k][c] * (1 - f) + rgb[k + 1][c] * f);
    lut[i * 4 + 3] = 255;
  }
  return lut;
})();

export const NEG = STOPS[0];
export const POS = STOPS[STOPS.length - 1];

export function colorOf(u8) {
  const i = Math.max(0, Math.min(255, Math.round(u8))) * 4;
  return `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`;
}

// Paint a (h x w) uint8 array onto a canvas of exactly that size, through the palette.
// `discrete` snaps to the two ends (the Playground's "discretize output").
export function paint(canvas, values, w, h, discrete = false) {
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const d = img.data;
  for (let i = 0; i < w * h; i++) {
    let v = values[i];
    if (discrete) v = v >= 128 ? 255 : 0;
    d[i * 4] = LUT[v * 4]; d[i * 4 + 1] = LUT[v * 4 + 1]; d[i * 4 + 2] = LUT[v * 4 + 2]; d[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// Grey images (MNIST digits): 0 white, 255 black.
export function paintGrey(canvas, values, w, h) {
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const g = 255 - values[i];
    img.data[i * 4] = g; img.data[i * 4 + 1] = g; img.data[i * 4 + 2] = g; img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export function legend(canvas) {
  const w = 140;
  canvas.width = w; canvas.height = 1;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, 1);
  for (let i = 0; i < w; i++) {
    const v = Math.round((i / (w - 1)) * 255) * 4;
    img.data.set([LUT[v], LUT[v + 1], LUT[v + 2], 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
}

// A small bar chart of histogram counts on a canvas (device-pixel sharp).
export function bars(canvas, counts, color = "#542788") {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(10, Math.round(canvas.clientWidth * dpr)), h = Math.max(10, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  let max = 1;
  for (const c of counts) max = Math.max(max, c);
  const bw = w / counts.length;
  ctx.fillStyle = color;
  counts.forEach((c, i) => {
    const bh = (c / max) * (h - 2);
    ctx.fillRect(i * bw + 0.5, h - bh, Math.max(1, bw - 1), bh);
  });
}
