import type { Context } from "hono";
import { HfiError } from "../errors.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The request body as text, at most `maxBytes` long (413 PayloadTooLarge beyond, counted as it
 * arrives, so a body without Content-Length is cut off too), without losing a byte: each byte that is not part of a valid UTF-8
 * sequence becomes the lone surrogate U+DC80–U+DCFF (as Python's "surrogateescape" does) instead of
 * U+FFFD. Validation refuses lone surrogates naming the field (src/policy/unicode.ts), so a body that
 * is not UTF-8 is a 400 for the field that holds the bad bytes, never stored in a changed form.
 */
export async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  return decodeUtf8Escaped(await readBodyBytes(c, maxBytes));
}

/** The request body's bytes, at most `maxBytes` (413 PayloadTooLarge beyond, counted as it arrives). */
export async function readBodyBytes(c: Context, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new HfiError("PayloadTooLarge", `request body exceeds ${maxBytes} bytes`);
  if (Number(c.req.header("content-length") ?? 0) > maxBytes) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export function decodeUtf8Escaped(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // Not UTF-8 throughout: decode the valid runs and escape the bytes between them.
  }
  let text = "";
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    text +=
      strictUtf8.decode(bytes.subarray(runStart, i)) + String.fromCharCode(0xdc00 + (bytes[i] as number));
    i += 1;
    runStart = i;
  }
  return text + strictUtf8.decode(bytes.subarray(runStart));
}

/** The length of the valid UTF-8 sequence at `i` (RFC 3629: no overlongs, surrogates or > U+10FFFF), or 0. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i] as number;
  if (lead < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f;
  } else return 0;
  const second = bytes[i + 1];
  if (second === undefined || second < low || second > high) return 0;
  for (let k = 2; k < length; k++) {
    const next = bytes[i + k];
    if (next === undefined || next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}
