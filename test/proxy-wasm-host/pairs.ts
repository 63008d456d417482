/** proxy-wasm header-map serialization: u32 count, count × (u32 keyLen, u32 valueLen), then "key\0value\0"… (LE). */
export type HeaderPairs = [string, string][];

const utf8 = new TextEncoder();
const text = new TextDecoder();

export function encodePairs(pairs: HeaderPairs): Uint8Array {
  const encoded = pairs.map(([k, v]) => [utf8.encode(k), utf8.encode(v)] as const);
  const size = 4 + encoded.length * 8 + encoded.reduce((n, [k, v]) => n + k.length + v.length + 2, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, encoded.length, true);
  let sizes = 4;
  let data = 4 + encoded.length * 8;
  for (const [k, v] of encoded) {
    view.setUint32(sizes, k.length, true);
    view.setUint32(sizes + 4, v.length, true);
    sizes += 8;
    out.set(k, data);
    data += k.length + 1;
    out.set(v, data);
    data += v.length + 1;
  }
  return out;
}

/** Decodes like the real host: anything malformed reads as an empty map. */
export function decodePairs(bytes: Uint8Array): HeaderPairs {
  if (bytes.length < 4) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  let data = 4 + count * 8;
  if (data > bytes.length) return [];
  const pairs: HeaderPairs = [];
  for (let i = 0; i < count; i++) {
    const kLen = view.getUint32(4 + i * 8, true);
    const vLen = view.getUint32(8 + i * 8, true);
    if (
      data + kLen + vLen + 2 > bytes.length ||
      bytes[data + kLen] !== 0 ||
      bytes[data + kLen + 1 + vLen] !== 0
    ) {
      return [];
    }
    const key = text.decode(bytes.subarray(data, data + kLen));
    const value = text.decode(bytes.subarray(data + kLen + 1, data + kLen + 1 + vLen));
    pairs.push([key, value]);
    data += kLen + vLen + 2;
  }
  return data === bytes.length ? pairs : [];
}
