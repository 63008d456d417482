/**
 * decodeRuleSet: JSON bytes from /v1/config → a fully validated RuleSet, or the reason it is not one.
 * Validation is complete before anything is returned, so the caller swaps all or nothing. An unknown
 * `format` is rejected. Members this build cannot honour yet (`delay`, `expiresAt`) are rejected too,
 * rather than ignored: an injector that skips an expiry or a delay would misread the rule. Other
 * unknown members are ignored.
 */
import { asObject, JsonKind, JsonObject, JsonValue, parseJson } from "../json";
import {
  AbortFault,
  HeaderMatch,
  MatchType,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  RULESET_FORMAT,
  Rule,
  RuleFault,
  RuleMatch,
  RuleSet,
  StringMatch,
} from "./ruleset";

const MAX_SAFE_INTEGER: f64 = 9007199254740991;

export class Decoded {
  ruleSet: RuleSet | null = null;
  /** The document's revision when readable, even if the rest is invalid; -1 otherwise. */
  revision: i64 = -1;
  /** Why decoding failed: a JSON path and what was expected there. */
  error: string = "";
}

export function decodeRuleSet(bytes: ArrayBuffer): Decoded {
  const out = new Decoded();
  const doc = asObject(parseJson(bytes));
  if (doc == null) {
    out.error = "not a JSON object";
    return out;
  }
  const revision = doc.getNumber("revision");
  if (isInteger(revision) && revision >= 0) out.revision = <i64>revision;
  if (doc.getNumber("format") != RULESET_FORMAT) {
    out.error = "format: expected " + RULESET_FORMAT.toString();
    return out;
  }
  if (out.revision < 0) {
    out.error = "revision: expected a non-negative integer";
    return out;
  }
  const items = doc.getArray("rules");
  if (items == null) {
    out.error = "rules: expected an array";
    return out;
  }
  const reader = new RuleReader();
  const rules = new Array<Rule>(items.items.length);
  for (let i = 0; i < rules.length; i++) {
    const rule = reader.rule(unchecked(items.items[i]));
    if (rule == null) {
      out.error = "rules[" + i.toString() + "]." + reader.error;
      return out;
    }
    unchecked((rules[i] = rule));
  }
  out.ruleSet = new RuleSet(RULESET_FORMAT, <u64>out.revision, rules);
  return out;
}

/** Reads one rule; on failure returns null and leaves the offending field in `error`. */
class RuleReader {
  error: string = "";

  private fail(field: string, expected: string): bool {
    this.error = field + ": expected " + expected;
    return false;
  }

  private unsupported(field: string): void {
    this.error = field + ": not supported by this filter build";
  }

  rule(value: JsonValue): Rule | null {
    const obj = asObject(value);
    if (obj == null) {
      this.fail("", "an object");
      return null;
    }
    const name = obj.getString("name");
    if (name == null || !isHeaderValue(name)) {
      this.fail("name", "a non-empty string of visible ASCII");
      return null;
    }
    const priority = obj.getNumber("priority");
    if (!isInteger(priority)) {
      this.fail("priority", "an integer");
      return null;
    }
    if (optional(obj, "expiresAt") != null) {
      this.unsupported("expiresAt");
      return null;
    }
    const match = this.match(obj.getObject("match"));
    if (match == null) return null;
    const fault = this.fault(obj.getObject("fault"));
    if (fault == null) return null;
    return new Rule(name, <i64>priority, match, fault);
  }

  private match(obj: JsonObject | null): RuleMatch | null {
    if (obj == null) {
      this.fail("match", "an object");
      return null;
    }
    let path: StringMatch | null = null;
    const pathValue = optional(obj, "path");
    if (pathValue != null) {
      path = this.stringMatch("match.path", pathValue);
      if (path == null) return null;
    }
    let method: string | null = null;
    if (optional(obj, "method") != null) {
      method = obj.getString("method");
      if (method == null || method.length == 0) {
        this.fail("match.method", "a non-empty string");
        return null;
      }
    }
    const items = obj.getArray("headers");
    if (items == null) {
      this.fail("match.headers", "an array");
      return null;
    }
    const headers = new Array<HeaderMatch>(items.items.length);
    for (let i = 0; i < headers.length; i++) {
      const header = this.header(i, unchecked(items.items[i]));
      if (header == null) return null;
      unchecked((headers[i] = header));
    }
    return new RuleMatch(path, method, headers);
  }

  private header(index: i32, value: JsonValue): HeaderMatch | null {
    const field = "match.headers[" + index.toString() + "]";
    const obj = asObject(value);
    const name = obj != null ? obj.getString("name") : null;
    if (obj == null || name == null || !isLowerCaseName(name)) {
      this.fail(field + ".name", "a non-empty lower-case header name");
      return null;
    }
    const match = this.stringMatch(field + ".match", obj.get("match"));
    return match != null ? new HeaderMatch(name, match) : null;
  }

  private stringMatch(field: string, value: JsonValue | null): StringMatch | null {
    const obj = asObject(value);
    const type = obj != null ? obj.getString("type") : null;
    const text = obj != null ? obj.getString("value") : null;
    if (type == null || text == null || (type != "exact" && type != "prefix")) {
      this.fail(field, '{"type":"exact"|"prefix","value":string}');
      return null;
    }
    return new StringMatch(type == "exact" ? MatchType.Exact : MatchType.Prefix, text);
  }

  private fault(obj: JsonObject | null): RuleFault | null {
    if (obj == null) {
      this.fail("fault", "an object");
      return null;
    }
    const millionths = obj.getNumber("percentageMillionths");
    if (!isInteger(millionths) || millionths < 0 || millionths > <f64>MILLIONTHS_PER_HUNDRED_PERCENT) {
      this.fail("fault.percentageMillionths", "an integer 0..1000000");
      return null;
    }
    if (optional(obj, "delay") != null) {
      this.unsupported("fault.delay");
      return null;
    }
    let abort: AbortFault | null = null;
    const abortValue = optional(obj, "abort");
    if (abortValue != null) {
      abort = this.abort(abortValue);
      if (abort == null) return null;
    }
    return new RuleFault(<u32>millionths, abort);
  }

  private abort(value: JsonValue): AbortFault | null {
    const obj = asObject(value);
    const status = obj != null ? obj.getNumber("httpStatus") : NaN;
    if (obj == null || !isInteger(status) || status < 200 || status > 599) {
      this.fail("fault.abort.httpStatus", "an integer 200..599");
      return null;
    }
    const body = obj.getString("body");
    if (body == null) {
      this.fail("fault.abort.body", "a string");
      return null;
    }
    return new AbortFault(<u32>status, body);
  }
}

/** A member that is present and not JSON null. */
function optional(obj: JsonObject, key: string): JsonValue | null {
  const v = obj.get(key);
  return v != null && v.kind != JsonKind.Null ? v : null;
}

function isInteger(x: f64): bool {
  return Math.abs(x) <= MAX_SAFE_INTEGER && Math.floor(x) == x;
}

/** Non-empty visible ASCII: safe to send back as the x-hfi-fault header value. */
function isHeaderValue(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Non-empty, no upper-case ASCII: Envoy hands header names to the filter lower-cased. */
function isLowerCaseName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return false;
  }
  return true;
}
