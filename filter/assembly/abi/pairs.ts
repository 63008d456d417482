/**
 * Header maps in the ABI's "pairs" layout (docs/PROXY_WASM_ABI.md), little-endian:
 * u32 count, count × (u32 key_len, u32 value_len), then each key and value followed by a NUL byte.
 * The host silently drops a malformed map, so the layout must be exact.
 */

/** Header list as alternating names and values: [name0, value0, name1, value1, …]. */
export function serializePairs(flat: string[]): ArrayBuffer {
  const count = flat.length >> 1;
  let size = 4 + count * 8;
  for (let i = 0; i < flat.length; i++) size += String.UTF8.byteLength(flat[i]) + 1;

  const buf = new ArrayBuffer(size);
  const base = changetype<usize>(buf);
  store<u32>(base, count);
  let lens = base + 4;
  let data = base + 4 + <usize>count * 8;
  for (let i = 0; i < flat.length; i++) {
    const s = flat[i];
    const n = String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, data);
    store<u32>(lens, <u32>n);
    store<u8>(data + n, 0);
    lens += 4;
    data += n + 1;
  }
  return buf;
}

/**
 * A pairs map as alternating keys and values, or null when the layout does not add up (a property
 * that is not a map comes as plain bytes).
 */
export function parsePairs(bytes: ArrayBuffer): string[] | null {
  const end = <u64>bytes.byteLength;
  if (end < 4) return null;
  const base = changetype<usize>(bytes);
  const count = <u64>load<u32>(base);
  let offset = 4 + count * 8;
  if (offset > end) return null;
  const flat = new Array<string>(0);
  for (let i: u64 = 0; i < count; i++) {
    const keyLen = <u64>load<u32>(base + 4 + <usize>(i << 3));
    const valueLen = <u64>load<u32>(base + 8 + <usize>(i << 3));
    if (offset + keyLen + valueLen + 2 > end) return null;
    flat.push(String.UTF8.decodeUnsafe(base + <usize>offset, <usize>keyLen));
    offset += keyLen + 1;
    flat.push(String.UTF8.decodeUnsafe(base + <usize>offset, <usize>valueLen));
    offset += valueLen + 1;
  }
  return flat;
}
