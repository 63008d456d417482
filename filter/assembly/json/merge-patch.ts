/** RFC 7386 JSON merge patch, applied in place to a parsed document. */
import { JsonKind, JsonObject, JsonValue } from "./value";

/**
 * `target` with `patch` merged in (RFC 7386 §2): an object patch sets its members recursively and
 * removes those it gives as null; anything else replaces the target. A target that is not an object
 * is replaced by the patch's members. Objects of `target` are changed in place.
 */
export function mergePatch(target: JsonValue | null, patch: JsonValue): JsonValue {
  if (patch.kind != JsonKind.Object) return patch;
  const object =
    target != null && target.kind == JsonKind.Object ? changetype<JsonObject>(target) : new JsonObject();
  const members = changetype<JsonObject>(patch);
  for (let i = 0, n = members.keys.length; i < n; i++) {
    const name = unchecked(members.keys[i]);
    const value = unchecked(members.values[i]);
    const at = lastIndexOf(object, name);
    if (value.kind == JsonKind.Null) {
      removeAll(object, name);
    } else if (at >= 0) {
      // Earlier duplicates of the name (JSON.parse keeps the last) go, so the result has one.
      unchecked((object.values[at] = mergePatch(unchecked(object.values[at]), value)));
      removeAllBefore(object, name, at);
    } else {
      object.keys.push(name);
      object.values.push(mergePatch(null, value));
    }
  }
  return object;
}

function lastIndexOf(object: JsonObject, name: string): i32 {
  const keys = object.keys;
  for (let i = keys.length - 1; i >= 0; i--) if (unchecked(keys[i]) == name) return i;
  return -1;
}

function removeAll(object: JsonObject, name: string): void {
  removeAllBefore(object, name, object.keys.length);
}

/** Removes every member named `name` at an index below `end`. */
function removeAllBefore(object: JsonObject, name: string, end: i32): void {
  const keys = object.keys;
  const values = object.values;
  let kept = 0;
  for (let i = 0, n = keys.length; i < n; i++) {
    if (i < end && unchecked(keys[i]) == name) continue;
    unchecked((keys[kept] = unchecked(keys[i])));
    unchecked((values[kept] = unchecked(values[i])));
    kept++;
  }
  keys.length = kept;
  values.length = kept;
}
