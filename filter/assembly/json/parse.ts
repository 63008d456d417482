/**
 * A strict RFC 8259 JSON reader over UTF-8 bytes. Malformed input, trailing bytes, nesting deeper
 * than MAX_DEPTH or more than MAX_VALUES values give null — never a trap — because its input comes
 * from the network. Arrays of numbers are kept compact (JsonArray.numbers), so a document's memory
 * stays within a small multiple of its size.
 */
import { JsonArray, JsonBool, JsonKind, JsonNumber, JsonObject, JsonString, JsonValue } from "./value";

const MAX_DEPTH = 32;
/** Values other than elements of numeric arrays; each costs an object (a rule is about 20). */
export const MAX_VALUES = 100_000;

const QUOTE: u8 = 0x22;
const BACKSLASH: u8 = 0x5c;
const COMMA: u8 = 0x2c;
const COLON: u8 = 0x3a;
const MINUS: u8 = 0x2d;
const DOT: u8 = 0x2e;

export function parseJson(bytes: ArrayBuffer): JsonValue | null {
  // The reader only holds the address: keep the buffer from being collected meanwhile.
  const ptr = __pin(changetype<usize>(bytes));
  const value = parseJsonAt(ptr, bytes.byteLength);
  __unpin(ptr);
  return value;
}

let lastError = "";

/** Parses `len` bytes at `ptr` (memory the caller keeps valid, e.g. a host block) without copying them. */
export function parseJsonAt(ptr: usize, len: i32): JsonValue | null {
  const reader = new Reader(ptr, len);
  let value = reader.value(0);
  reader.skipSpace();
  if (value != null && !reader.atEnd()) value = null;
  lastError =
    value != null
      ? ""
      : reader.exhausted()
        ? "more than " + MAX_VALUES.toString() + " JSON values"
        : "malformed JSON";
  return value;
}

/** Why the last parse gave null ("" after a success). */
export function lastParseError(): string {
  return lastError;
}

class Reader {
  private pos: i32 = 0;
  /** Values that may still be created. */
  private budget: i32 = MAX_VALUES;
  /** Set by numberValue() when the text is not a number. */
  private badNumber: bool = false;
  private readonly len: i32;
  private readonly base: usize;

  constructor(base: usize, len: i32) {
    this.base = base;
    this.len = len;
  }

  exhausted(): bool {
    return this.budget < 0;
  }

  atEnd(): bool {
    return this.pos >= this.len;
  }

  /** The byte at the cursor, or 0 at the end (0 is never valid outside strings). */
  private peek(): u8 {
    return this.pos < this.len ? load<u8>(this.base + this.pos) : 0;
  }

  skipSpace(): void {
    while (this.pos < this.len) {
      const c = load<u8>(this.base + this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return;
      this.pos++;
    }
  }

  value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH || --this.budget < 0) return null;
    this.skipSpace();
    const c = this.peek();
    if (c == 0x7b) return this.object(depth + 1);
    if (c == 0x5b) return this.array(depth + 1);
    if (c == QUOTE) {
      const s = this.string();
      return s != null ? new JsonString(s) : null;
    }
    if (c == MINUS || isDigit(c)) return this.number();
    if (this.literal("true")) return new JsonBool(true);
    if (this.literal("false")) return new JsonBool(false);
    if (this.literal("null")) return new JsonValue(JsonKind.Null);
    return null;
  }

  private object(depth: i32): JsonObject | null {
    this.pos++; // '{'
    const obj = new JsonObject();
    this.skipSpace();
    if (this.peek() == 0x7d) {
      this.pos++;
      return obj;
    }
    while (true) {
      this.skipSpace();
      if (this.peek() != QUOTE) return null;
      const key = this.string();
      if (key == null) return null;
      this.skipSpace();
      if (this.peek() != COLON) return null;
      this.pos++;
      const v = this.value(depth);
      if (v == null) return null;
      obj.keys.push(key);
      obj.values.push(v);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x7d) return obj;
      if (c != COMMA) return null;
    }
  }

  private array(depth: i32): JsonArray | null {
    this.pos++; // '['
    const arr = new JsonArray();
    this.skipSpace();
    if (this.peek() == 0x5d) {
      this.pos++;
      return arr;
    }
    while (true) {
      this.skipSpace();
      const c = this.peek();
      if (arr.items.length == 0 && (c == MINUS || isDigit(c))) {
        if (arr.numbers.length == 0) arr.reserveNumbers(this.countNumbers());
        const x = this.numberValue();
        if (this.badNumber) return null;
        arr.numbers.push(x);
      } else {
        if (arr.numbers.length > 0) {
          this.budget -= arr.numbers.length;
          arr.box();
        }
        const v = this.value(depth);
        if (v == null) return null;
        arr.items.push(v);
      }
      this.skipSpace();
      const next = this.peek();
      this.pos++;
      if (next == 0x5d) return arr;
      if (next != COMMA) return null;
    }
  }

  /** A string starting at the opening quote. Runs without escapes are decoded straight from the bytes. */
  private string(): string | null {
    this.pos++; // opening quote
    let out = "";
    let runStart = this.pos;
    while (this.pos < this.len) {
      const c = load<u8>(this.base + this.pos);
      if (c == QUOTE) {
        const run = this.decodeRun(runStart);
        this.pos++;
        return out.length == 0 ? run : out + run;
      }
      if (c < 0x20) return null;
      if (c != BACKSLASH) {
        this.pos++;
        continue;
      }
      out += this.decodeRun(runStart);
      this.pos++;
      const unit = this.escape();
      if (unit < 0) return null;
      out += String.fromCharCode(unit);
      runStart = this.pos;
    }
    return null;
  }

  private decodeRun(start: i32): string {
    return start < this.pos ? String.UTF8.decodeUnsafe(this.base + start, this.pos - start) : "";
  }

  /** The UTF-16 code unit of the escape after a backslash, or -1. Surrogate pairs arrive as two escapes. */
  private escape(): i32 {
    const c = this.peek();
    this.pos++;
    if (c == QUOTE || c == BACKSLASH || c == 0x2f) return c;
    if (c == 0x62) return 0x08; // b
    if (c == 0x66) return 0x0c; // f
    if (c == 0x6e) return 0x0a; // n
    if (c == 0x72) return 0x0d; // r
    if (c == 0x74) return 0x09; // t
    if (c != 0x75 || this.pos + 4 > this.len) return -1; // u
    let unit = 0;
    for (let i = 0; i < 4; i++) {
      const h = hexValue(load<u8>(this.base + this.pos++));
      if (h < 0) return -1;
      unit = (unit << 4) | h;
    }
    return unit;
  }

  private number(): JsonNumber | null {
    const x = this.numberValue();
    return this.badNumber ? null : new JsonNumber(x);
  }

  /**
   * A number, converted without strtod (which would double the module's size): exact for integers
   * up to 2^53 — all the RuleSet has — and the nearest double for up to 15 significant digits with
   * an exponent within ±22 (scaleByPowerOfTen); within a few ulps otherwise. Sets badNumber on failure.
   */
  private numberValue(): f64 {
    this.badNumber = true;
    const negative = this.peek() == MINUS;
    if (negative) this.pos++;
    let mantissa: f64 = 0;
    let exponent: i32 = 0;
    if (this.peek() == 0x30) {
      this.pos++; // no further integer digits after a leading zero
    } else if (isDigit(this.peek())) {
      while (isDigit(this.peek())) mantissa = mantissa * 10 + <f64>(this.take() - 0x30);
    } else {
      return NaN;
    }
    if (this.peek() == DOT) {
      this.pos++;
      if (!isDigit(this.peek())) return NaN;
      while (isDigit(this.peek())) {
        mantissa = mantissa * 10 + <f64>(this.take() - 0x30);
        exponent--;
      }
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign == 0x2b || sign == MINUS) this.pos++;
      if (!isDigit(this.peek())) return NaN;
      let digits = 0;
      while (isDigit(this.peek())) digits = min(digits * 10 + (this.take() - 0x30), 100_000);
      exponent += sign == MINUS ? -digits : digits;
    }
    const value = scaleByPowerOfTen(mantissa, exponent);
    this.badNumber = false;
    return negative ? -value : value;
  }

  /**
   * How many elements the numeric array starting at the cursor has, if it is one through to its
   * `]` (a look-ahead over number characters and commas); 0 when something else turns up.
   */
  private countNumbers(): i32 {
    let count = 1;
    for (let i = this.pos; i < this.len; i++) {
      const c = load<u8>(this.base + i);
      if (c == 0x5d) return count;
      if (c == COMMA) count++;
      else if (!isDigit(c) && c != MINUS && c != DOT && c != 0x2b && (c | 0x20) != 0x65 && c > 0x20) return 0;
    }
    return 0;
  }

  private take(): i32 {
    return load<u8>(this.base + this.pos++);
  }

  /** Consumes one or more digits; false when there were none. */
  private digits(): bool {
    const start = this.pos;
    while (isDigit(this.peek())) this.pos++;
    return this.pos > start;
  }

  private literal(word: string): bool {
    const n = word.length;
    if (this.pos + n > this.len) return false;
    for (let i = 0; i < n; i++) {
      if (<i32>load<u8>(this.base + this.pos + i) != word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }
}

/** Every power of ten a double holds exactly. */
const EXACT_POWERS_OF_TEN: StaticArray<f64> = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];
/** Every integer up to this is a double exactly. */
const EXACT_MANTISSA: f64 = 9007199254740992;

/**
 * x·10^exponent. With an exact mantissa (at most 2^53: 15 significant digits always are) and an
 * exact power (|exponent| ≤ 22), one correctly rounded multiplication or division gives the nearest
 * double, as strtod would (Clinger's fast path): so a body's `12.5` or `-3e-7` is written back as it
 * came. Beyond that, repeated steps: within a few ulps.
 */
function scaleByPowerOfTen(x: f64, exponent: i32): f64 {
  if (x <= EXACT_MANTISSA && exponent >= -22 && exponent <= 22) {
    return exponent >= 0
      ? x * unchecked(EXACT_POWERS_OF_TEN[exponent])
      : x / unchecked(EXACT_POWERS_OF_TEN[-exponent]);
  }
  for (; exponent > 0 && x != 0 && x != Infinity; exponent--) x *= 10;
  for (; exponent < 0 && x != 0; exponent++) x /= 10;
  return x;
}

function isDigit(c: u8): bool {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
