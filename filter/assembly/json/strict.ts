/**
 * The strict decode of the tests' twin of the filter (compileFilter's `strictDecode`, which defines
 * HFI_STRICT_DECODE): every object member a reader looks up is noted, and firstUnreadMember names one
 * nobody looked up — a field the control plane sends and this filter would silently ignore. In the
 * release build STRICT_DECODE is false and all of this compiles away.
 */
import { JsonArray, JsonKind, JsonObject, JsonValue } from "./value";

// @ts-ignore: a compile-time constant that only the tests' build defines (`--use HFI_STRICT_DECODE=1`)
export const STRICT_DECODE: bool = isDefined(HFI_STRICT_DECODE);

/**
 * Addresses of the key strings looked up since the last forgetReads (keys are distinct objects).
 * Created on first use, so that the release build, which never uses it, carries no Set.
 */
let readKeys: Set<usize> | null = null;

export function noteRead(key: string): void {
  let keys = readKeys;
  if (keys == null) readKeys = keys = new Set<usize>();
  keys.add(changetype<usize>(key));
}

export function forgetReads(): void {
  readKeys = null;
}

/** The path of the first member under `value` that was never looked up, or "" when there is none. */
export function firstUnreadMember(value: JsonValue, path: string): string {
  if (value.kind == JsonKind.Object) {
    const obj = changetype<JsonObject>(value);
    for (let i = 0, n = obj.keys.length; i < n; i++) {
      const key = unchecked(obj.keys[i]);
      const at = path == "" ? key : path + "." + key;
      const keys = readKeys;
      if (keys == null || !keys.has(changetype<usize>(key))) return at;
      const inner = firstUnreadMember(unchecked(obj.values[i]), at);
      if (inner != "") return inner;
    }
  } else if (value.kind == JsonKind.Array) {
    const items = changetype<JsonArray>(value).items;
    for (let i = 0, n = items.length; i < n; i++) {
      const inner = firstUnreadMember(unchecked(items[i]), path + "[" + i.toString() + "]");
      if (inner != "") return inner;
    }
  }
  return "";
}
