/** A parsed JSON document. Readers check `kind` before casting, so a wrong type is a null, never a trap. */
import { noteRead, STRICT_DECODE } from "./strict";

export const enum JsonKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

export class JsonValue {
  constructor(readonly kind: JsonKind) {}
}

export class JsonBool extends JsonValue {
  constructor(readonly value: bool) {
    super(JsonKind.Bool);
  }
}

export class JsonNumber extends JsonValue {
  constructor(readonly value: f64) {
    super(JsonKind.Number);
  }
}

export class JsonString extends JsonValue {
  constructor(readonly value: string) {
    super(JsonKind.String);
  }
}

/**
 * Elements live in `items`, or — while every element is a number, as in the RuleSet's DFA tables —
 * in `numbers`, 8 bytes each instead of an object each. One of the two is always empty.
 */
export class JsonArray extends JsonValue {
  readonly items: JsonValue[] = [];
  readonly numbers: f64[] = [];
  constructor() {
    super(JsonKind.Array);
  }

  get length(): i32 {
    return this.items.length + this.numbers.length;
  }

  /** Element `i` (0 ≤ i < length); an element of a numeric array is boxed on demand. */
  at(i: i32): JsonValue {
    const numbers = this.numbers;
    return numbers.length > 0 ? new JsonNumber(numbers[i]) : this.items[i];
  }

  /** Element `i` (0 ≤ i < length) as a number; NaN when it is not one. */
  numberAt(i: i32): f64 {
    const numbers = this.numbers;
    if (numbers.length > 0) return numbers[i];
    const v = this.items[i];
    return v.kind == JsonKind.Number ? changetype<JsonNumber>(v).value : NaN;
  }

  /** Makes room for `count` numbers at once, so a large table is not grown (and copied) step by step. */
  reserveNumbers(count: i32): void {
    const numbers = this.numbers;
    numbers.length = count;
    numbers.length = 0;
  }

  /** Moves a numeric array's elements into `items`, once a non-number element turns up. */
  box(): void {
    const numbers = this.numbers;
    for (let i = 0, n = numbers.length; i < n; i++) this.items.push(new JsonNumber(unchecked(numbers[i])));
    numbers.length = 0;
  }
}

export class JsonObject extends JsonValue {
  readonly keys: string[] = [];
  readonly values: JsonValue[] = [];
  constructor() {
    super(JsonKind.Object);
  }

  /** The member named `key` (the last one, like JSON.parse), or null when absent. */
  get(key: string): JsonValue | null {
    for (let i = this.keys.length - 1; i >= 0; i--) {
      const name = unchecked(this.keys[i]);
      if (name == key) {
        if (STRICT_DECODE) noteRead(name);
        return unchecked(this.values[i]);
      }
    }
    return null;
  }

  /** A string member; null when absent or not a string. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v != null && v.kind == JsonKind.String ? changetype<JsonString>(v).value : null;
  }

  /** A number member; NaN when absent or not a number. */
  getNumber(key: string): f64 {
    const v = this.get(key);
    return v != null && v.kind == JsonKind.Number ? changetype<JsonNumber>(v).value : NaN;
  }

  /** An object member; null when absent or not an object. */
  getObject(key: string): JsonObject | null {
    const v = this.get(key);
    return v != null && v.kind == JsonKind.Object ? changetype<JsonObject>(v) : null;
  }

  /** An array member; null when absent or not an array. */
  getArray(key: string): JsonArray | null {
    const v = this.get(key);
    return v != null && v.kind == JsonKind.Array ? changetype<JsonArray>(v) : null;
  }

  has(key: string): bool {
    return this.get(key) != null;
  }
}

/** `value` as an object, or null when it is something else. */
export function asObject(value: JsonValue | null): JsonObject | null {
  return value != null && value.kind == JsonKind.Object ? changetype<JsonObject>(value) : null;
}
