/** Shared pieces of the RuleSet readers: the first failure as a field path, and typed member access. */
import { JsonArray, JsonBool, JsonKind, JsonNumber, JsonObject, JsonValue } from "../json";

const MAX_SAFE_INTEGER: f64 = 9007199254740991;

/** Integers outside every range a reader asks for, returned when a member is not what was expected. */
export const NOT_AN_INTEGER: i64 = i64.MIN_VALUE;

/** Base of the readers: keeps the first failure as "field: expected …". */
export class FieldReader {
  error: string = "";

  /** Records the failure; always false, so callers can `return this.fail(…)` where a bool is due. */
  protected fail(field: string, expected: string): bool {
    this.error = field + ": expected " + expected;
    return false;
  }
}

/** A member that is present and not JSON null. */
export function optional(obj: JsonObject, key: string): JsonValue | null {
  const v = obj.get(key);
  return v != null && v.kind != JsonKind.Null ? v : null;
}

/** An optional boolean member: 0 false or absent/null, 1 true, -1 anything else. */
export function optionalFlag(obj: JsonObject, key: string): i32 {
  const v = optional(obj, key);
  if (v == null) return 0;
  return v.kind == JsonKind.Bool ? (changetype<JsonBool>(v).value ? 1 : 0) : -1;
}

export function isInteger(x: f64): bool {
  return Math.abs(x) <= MAX_SAFE_INTEGER && Math.floor(x) == x;
}

/** `value` as an integer in [min, max], or NOT_AN_INTEGER. */
export function integerIn(value: JsonValue | null, min: i64, max: i64): i64 {
  if (value == null || value.kind != JsonKind.Number) return NOT_AN_INTEGER;
  return checkedInteger(changetype<JsonNumber>(value).value, min, max);
}

/** Element `i` of `array` as an integer in [min, max], or NOT_AN_INTEGER. */
export function integerAt(array: JsonArray, i: i32, min: i64, max: i64): i64 {
  return checkedInteger(array.numberAt(i), min, max);
}

function checkedInteger(x: f64, min: i64, max: i64): i64 {
  if (!isInteger(x) || x < <f64>min || x > <f64>max) return NOT_AN_INTEGER;
  return <i64>x;
}

/** Non-empty visible ASCII: safe to send back as the x-hfi-fault header value. */
export function isHeaderValue(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Non-empty, no upper-case ASCII: Envoy hands header names to the filter lower-cased. */
export function isLowerCaseName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return false;
  }
  return true;
}
