/**
 * Request-body conditions (`match.body`), evaluated on the buffered body once every other condition
 * of the rule holds. A body longer than the condition's `maxBytes` never matches; a json condition
 * on a body that is not JSON is false (counted), never a trap.
 */
import { JsonArray, JsonKind, JsonObject, JsonString, JsonValue, parseJsonAt, serializeJson } from "./json";
import { equalBytes, walkDfa } from "./matcher";
import { Metrics } from "./metrics";
import { BodyMatch, BodyMatchType, Dfa } from "./rules";

/** Whether the `len` bytes at `ptr` (the whole request body) meet `match`. */
export function bodyMatches(match: BodyMatch, ptr: usize, len: usize, metrics: Metrics | null): bool {
  if (len > <usize>match.maxBytes) return false;
  const type = match.type;
  if (type == BodyMatchType.Contains) return contains(ptr, len, match.value);
  if (type == BodyMatchType.Regex) return searchDfa(changetype<Dfa>(match.dfa), ptr, len);
  const document = parseJsonAt(ptr, <i32>len);
  if (document == null) {
    if (metrics != null) metrics.bodyNotJson();
    return false;
  }
  const value = follow(document, match.path);
  if (value == null) return false;
  let text: ArrayBuffer;
  if (value.kind == JsonKind.String) text = String.UTF8.encode(changetype<JsonString>(value).value);
  else if (value.kind == JsonKind.Object || value.kind == JsonKind.Array) return false;
  else text = serializeJson(value);
  const textPtr = changetype<usize>(text);
  const textLen = <usize>text.byteLength;
  const dfa = match.dfa;
  return dfa != null ? walkDfa(dfa, textPtr, textLen) : equalBytes(textPtr, textLen, match.value);
}

/** The DFA starts with a search loop: the body matches at the first accepting state. */
function searchDfa(dfa: Dfa, ptr: usize, len: usize): bool {
  const classes = dfa.byteClasses;
  const transitions = dfa.transitions;
  const classCount = dfa.classCount;
  let state = 0;
  if (unchecked(dfa.accepting[0]) != 0) return true;
  for (let i: usize = 0; i < len; i++) {
    state = unchecked(transitions[state * classCount + <i32>unchecked(classes[load<u8>(ptr + i)])]);
    if (state < 0) return false;
    if (unchecked(dfa.accepting[state]) != 0) return true;
  }
  return false;
}

function contains(ptr: usize, len: usize, needle: ArrayBuffer): bool {
  const n = <usize>needle.byteLength;
  if (n > len) return false;
  const needlePtr = changetype<usize>(needle);
  const first = load<u8>(needlePtr);
  for (let i: usize = 0, last = len - n; i <= last; i++) {
    if (load<u8>(ptr + i) == first && memory.compare(ptr + i, needlePtr, n) == 0) return true;
  }
  return false;
}

/** The value at `path`: object members by name, array elements by decimal index; null if absent. */
function follow(document: JsonValue, path: string[]): JsonValue | null {
  let value: JsonValue = document;
  for (let i = 0, n = path.length; i < n; i++) {
    const segment = unchecked(path[i]);
    if (value.kind == JsonKind.Object) {
      const next = member(changetype<JsonObject>(value), segment);
      if (next == null) return null;
      value = next;
    } else if (value.kind == JsonKind.Array) {
      const array = changetype<JsonArray>(value);
      const index = arrayIndex(segment);
      if (index < 0 || index >= array.length) return null;
      value = array.at(index);
    } else {
      return null;
    }
  }
  return value;
}

/** The last member named `key`, as JSON.parse keeps it (read directly: this is no RuleSet decode). */
function member(obj: JsonObject, key: string): JsonValue | null {
  const keys = obj.keys;
  for (let i = keys.length - 1; i >= 0; i--) if (unchecked(keys[i]) == key) return unchecked(obj.values[i]);
  return null;
}

/** A segment of decimal digits as an index; -1 otherwise (or when too long to be one). */
function arrayIndex(segment: string): i32 {
  const n = segment.length;
  if (n == 0 || n > 9) return -1;
  let index = 0;
  for (let i = 0; i < n; i++) {
    const c = segment.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    index = index * 10 + c;
  }
  return index;
}
