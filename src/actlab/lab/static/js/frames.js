// Decode a binary frame (actlab/lab/frames.py): "ALF1", u32 meta length, JSON meta, blobs.
// Arrays are views into the message's buffer (no copy), aligned to 8 bytes.
const TYPES = { u8: Uint8Array, i8: Int8Array, u16: Uint16Array, u32: Uint32Array, f32: Float32Array,
  f64: Float64Array };

export function decodeFrame(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== "ALF1") throw new Error("not an actlab frame");
  const n = new DataView(buffer).getUint32(4, true);
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const arrays = {};
  for (const [name, [dt, shape, offset, nbytes]] of Object.entries(meta.blobs)) {
    const T = TYPES[dt];
    arrays[name] = { data: new T(buffer, offset, nbytes / T.BYTES_PER_ELEMENT), shape };
  }
  delete meta.blobs;
  return { meta, arrays };
}

// Rows of a 2-D blob as arrays of numbers.
export function rows(blob) {
  const [r, c] = blob.shape.length === 2 ? blob.shape : [blob.shape[0], 1];
  const out = [];
  for (let i = 0; i < r; i++) out.push(Array.from(blob.data.subarray(i * c, (i + 1) * c)));
  return out;
}
