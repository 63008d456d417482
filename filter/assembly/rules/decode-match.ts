/**
 * Reading a rule's `match`: path, method, headers, and the DFAs of regex matches. Every table index
 * the matcher will follow is checked here, so the matcher's table walk needs no bounds checks.
 */
import { asObject, JsonArray, JsonKind, JsonObject, JsonString, JsonValue } from "../json";
import { FieldReader, integerAt, integerIn, isLowerCaseName, NOT_AN_INTEGER, optional } from "./fields";
import {
  BodyMatch,
  BodyMatchType,
  Dfa,
  HeaderMatch,
  MAX_BODY_MATCH_BYTES,
  MatchType,
  ResponseMatch,
  RuleMatch,
  StringMatch,
} from "./ruleset";

/** Largest DFA accepted, in states; the control plane caps its DFAs well below this. */
export const MAX_DFA_STATES: i32 = 16_384;
/** Largest transition table accepted (states × classes), so one rule cannot claim unbounded memory. */
export const MAX_DFA_TRANSITIONS: i32 = 1 << 20;

const EMPTY = new ArrayBuffer(0);

export class MatchReader extends FieldReader {
  protected match(obj: JsonObject | null): RuleMatch | null {
    if (obj == null) {
      this.fail("match", "an object");
      return null;
    }
    let host: StringMatch | null = null;
    const hostValue = optional(obj, "host");
    if (hostValue != null) {
      host = this.hostMatch(hostValue);
      if (host == null) return null;
    }
    let path: StringMatch | null = null;
    const pathValue = optional(obj, "path");
    if (pathValue != null) {
      path = this.stringMatch("match.path", pathValue, false);
      if (path == null) return null;
    }
    let method: ArrayBuffer | null = null;
    if (optional(obj, "method") != null) {
      const text = obj.getString("method");
      if (text == null || text.length == 0) {
        this.fail("match.method", "a non-empty string");
        return null;
      }
      method = String.UTF8.encode(text);
    }
    const headers = this.headers("match.headers", obj.getArray("headers"));
    if (headers == null) return null;
    let response: ResponseMatch | null = null;
    const responseValue = optional(obj, "response");
    if (responseValue != null) {
      response = this.responseMatch(asObject(responseValue));
      if (response == null) return null;
    }
    let body: BodyMatch | null = null;
    const bodyValue = optional(obj, "body");
    if (bodyValue != null) {
      body = this.bodyMatch(asObject(bodyValue));
      if (body == null) return null;
    }
    return new RuleMatch(host, path, method, headers, response, body);
  }

  private bodyMatch(obj: JsonObject | null): BodyMatch | null {
    const type = obj != null ? obj.getString("type") : null;
    const maxBytes = obj != null ? integerIn(obj.get("maxBytes"), 1, MAX_BODY_MATCH_BYTES) : NOT_AN_INTEGER;
    if (obj == null || maxBytes == NOT_AN_INTEGER) {
      this.fail("match.body.maxBytes", "an integer 1.." + MAX_BODY_MATCH_BYTES.toString());
      return null;
    }
    const noPath = new Array<string>(0);
    if (type == "contains") {
      const text = obj.getString("value");
      if (text == null || text.length == 0) {
        this.fail("match.body.value", "a non-empty string");
        return null;
      }
      return new BodyMatch(BodyMatchType.Contains, <u32>maxBytes, String.UTF8.encode(text), null, noPath);
    }
    if (type == "regex") {
      const dfa = this.dfa("match.body.dfa", obj.getObject("dfa"));
      return dfa != null ? new BodyMatch(BodyMatchType.Regex, <u32>maxBytes, EMPTY, dfa, noPath) : null;
    }
    if (type == "json") {
      const path = this.jsonPath(obj.getArray("path"));
      if (path == null) return null;
      const match = this.stringMatch("match.body.match", obj.get("match"), false);
      if (match == null) return null;
      if (match.type == MatchType.Prefix) {
        this.fail("match.body.match", '{"type":"exact"|"regex",…}');
        return null;
      }
      return new BodyMatch(BodyMatchType.Json, <u32>maxBytes, match.value, match.dfa, path);
    }
    this.fail("match.body", '{"type":"contains"|"regex"|"json",…}');
    return null;
  }

  private jsonPath(items: JsonArray | null): string[] | null {
    if (items == null || items.length == 0) {
      this.fail("match.body.path", "a non-empty array of strings");
      return null;
    }
    const path = new Array<string>(items.length);
    for (let i = 0; i < path.length; i++) {
      const item = items.at(i);
      const segment = item.kind == JsonKind.String ? changetype<JsonString>(item).value : "";
      if (segment.length == 0) {
        this.fail("match.body.path[" + i.toString() + "]", "a non-empty string");
        return null;
      }
      unchecked((path[i] = segment));
    }
    return path;
  }

  private headers(field: string, items: JsonArray | null): HeaderMatch[] | null {
    if (items == null) {
      this.fail(field, "an array");
      return null;
    }
    const headers = new Array<HeaderMatch>(items.length);
    for (let i = 0; i < headers.length; i++) {
      const header = this.header(field, i, items.at(i));
      if (header == null) return null;
      unchecked((headers[i] = header));
    }
    return cheapestFirst(headers);
  }

  private responseMatch(obj: JsonObject | null): ResponseMatch | null {
    if (obj == null) {
      this.fail("match.response", "an object");
      return null;
    }
    let ranges = new StaticArray<u32>(0);
    if (optional(obj, "statuses") != null) {
      const items = obj.getArray("statuses");
      ranges = new StaticArray<u32>(items != null ? items.length * 2 : 0);
      for (let i = 0, n = items != null ? items.length : 0; i < n; i++) {
        const range = asObject(items!.at(i));
        const min = range != null ? integerIn(range.get("min"), 100, 599) : NOT_AN_INTEGER;
        const max = range != null ? integerIn(range.get("max"), min, 599) : NOT_AN_INTEGER;
        if (min == NOT_AN_INTEGER || max == NOT_AN_INTEGER) {
          this.fail("match.response.statuses[" + i.toString() + "]", "{min, max}: 100 ≤ min ≤ max ≤ 599");
          return null;
        }
        unchecked((ranges[2 * i] = <u32>min));
        unchecked((ranges[2 * i + 1] = <u32>max));
      }
      if (items == null || items.length == 0) {
        this.fail("match.response.statuses", "a non-empty array");
        return null;
      }
    }
    const headers = this.headers("match.response.headers", obj.getArray("headers"));
    return headers != null ? new ResponseMatch(ranges, headers) : null;
  }

  private hostMatch(value: JsonValue): StringMatch | null {
    const obj = asObject(value);
    const type = obj != null ? obj.getString("type") : null;
    if (obj != null && (type == "exact" || type == "suffix")) {
      const text = obj.getString("value");
      if (text == null) {
        this.fail("match.host.value", "a string");
        return null;
      }
      return new StringMatch(
        type == "exact" ? MatchType.Exact : MatchType.Suffix,
        String.UTF8.encode(text),
        null,
      );
    }
    if (obj != null && type == "regex") {
      const dfa = this.dfa("match.host.dfa", obj.getObject("dfa"));
      return dfa != null ? new StringMatch(MatchType.Regex, EMPTY, dfa) : null;
    }
    this.fail("match.host", '{"type":"exact"|"suffix"|"regex",…}');
    return null;
  }

  private header(list: string, index: i32, value: JsonValue): HeaderMatch | null {
    const field = list + "[" + index.toString() + "]";
    const obj = asObject(value);
    const name = obj != null ? obj.getString("name") : null;
    if (obj == null || name == null || !isLowerCaseName(name)) {
      this.fail(field + ".name", "a non-empty lower-case header name");
      return null;
    }
    const match = this.stringMatch(field + ".match", obj.get("match"), true);
    return match != null ? new HeaderMatch(String.UTF8.encode(name), match) : null;
  }

  private stringMatch(field: string, value: JsonValue | null, header: bool): StringMatch | null {
    const obj = asObject(value);
    const type = obj != null ? obj.getString("type") : null;
    if (obj != null && type != null) {
      if (type == "exact" || type == "prefix") {
        const text = obj.getString("value");
        if (text == null) {
          this.fail(field + ".value", "a string");
          return null;
        }
        return new StringMatch(
          type == "exact" ? MatchType.Exact : MatchType.Prefix,
          String.UTF8.encode(text),
          null,
        );
      }
      if (type == "regex") {
        const dfa = this.dfa(field + ".dfa", obj.getObject("dfa"));
        return dfa != null ? new StringMatch(MatchType.Regex, EMPTY, dfa) : null;
      }
      if (type == "present" && header) return new StringMatch(MatchType.Present, EMPTY, null);
    }
    this.fail(
      field,
      header ? '{"type":"exact"|"prefix"|"regex"|"present",…}' : '{"type":"exact"|"prefix"|"regex",…}',
    );
    return null;
  }

  private dfa(field: string, obj: JsonObject | null): Dfa | null {
    if (obj == null) {
      this.fail(field, "an object");
      return null;
    }
    const classCount = <i32>integerIn(obj.get("classCount"), 1, 256);
    if (classCount == <i32>NOT_AN_INTEGER) {
      this.fail(field + ".classCount", "an integer 1..256");
      return null;
    }
    const classItems = obj.getArray("byteClasses");
    if (classItems == null || classItems.length != 256) {
      this.fail(field + ".byteClasses", "an array of 256 integers");
      return null;
    }
    const byteClasses = new StaticArray<u8>(256);
    for (let b = 0; b < 256; b++) {
      const c = integerAt(classItems, b, 0, classCount - 1);
      if (c == NOT_AN_INTEGER) {
        this.fail(field + ".byteClasses[" + b.toString() + "]", "an integer below classCount");
        return null;
      }
      unchecked((byteClasses[b] = <u8>c));
    }
    const rows = obj.getArray("transitions");
    const size = rows != null ? rows.length : 0;
    const states = size / classCount;
    if (
      rows == null ||
      size == 0 ||
      size % classCount != 0 ||
      states > MAX_DFA_STATES ||
      size > MAX_DFA_TRANSITIONS
    ) {
      this.fail(
        field + ".transitions",
        "states × classCount integers, at most " + MAX_DFA_STATES.toString() + " states",
      );
      return null;
    }
    const transitions = new StaticArray<i32>(size);
    for (let i = 0; i < size; i++) {
      const next = integerAt(rows, i, -1, states - 1);
      if (next == NOT_AN_INTEGER) {
        this.fail(field + ".transitions[" + i.toString() + "]", "a state id or -1");
        return null;
      }
      unchecked((transitions[i] = <i32>next));
    }
    const accepting = this.accepting(field + ".accepting", obj.getArray("accepting"), states);
    return accepting != null ? new Dfa(byteClasses, classCount, transitions, accepting) : null;
  }

  private accepting(field: string, items: JsonArray | null, states: i32): StaticArray<u8> | null {
    if (items == null) {
      this.fail(field, "an array of state ids");
      return null;
    }
    const flags = new StaticArray<u8>(states);
    for (let i = 0, n = items.length; i < n; i++) {
      const state = integerAt(items, i, 0, states - 1);
      if (state == NOT_AN_INTEGER) {
        this.fail(field + "[" + i.toString() + "]", "a state id");
        return null;
      }
      unchecked((flags[<i32>state] = 1));
    }
    return flags;
  }
}

/** Header conditions in cost order (present, exact, prefix, regex), stable within a kind. */
function cheapestFirst(headers: HeaderMatch[]): HeaderMatch[] {
  for (let i = 1, n = headers.length; i < n; i++) {
    const item = unchecked(headers[i]);
    const cost = costOf(item.match.type);
    let j = i - 1;
    while (j >= 0 && costOf(unchecked(headers[j]).match.type) > cost) {
      unchecked((headers[j + 1] = unchecked(headers[j])));
      j--;
    }
    unchecked((headers[j + 1] = item));
  }
  return headers;
}

function costOf(type: MatchType): i32 {
  return type == MatchType.Present ? 0 : <i32>type + 1;
}
