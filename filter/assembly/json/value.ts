/** A parsed JSON document. Readers check `kind` before casting, so a wrong type is a null, never a trap. */

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

export class JsonArray extends JsonValue {
  readonly items: JsonValue[] = [];
  constructor() {
    super(JsonKind.Array);
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
      if (unchecked(this.keys[i]) == key) return unchecked(this.values[i]);
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
