/**
 * decodeRuleSet: JSON bytes from /v1/config → a fully validated RuleSet, or the reason it is not one.
 * Validation is complete before anything is returned, so the caller swaps all or nothing. A `format`
 * outside OLDEST_READABLE_RULESET_FORMAT..RULESET_FORMAT is rejected; unknown members are ignored
 * (rejected by the tests' strict twin, json/strict.ts). Malformed input of any shape gives an error,
 * never a trap.
 */
import { NO_GRPC_STATUS } from "../abi/enums";
import { serializePairs } from "../abi/pairs";
import {
  asObject,
  firstUnreadMember,
  forgetReads,
  JsonKind,
  JsonObject,
  JsonString,
  JsonValue,
  lastParseError,
  parseJson,
  parseJsonAt,
  STRICT_DECODE,
} from "../json";
import { DelayReader } from "./decode-delay";
import {
  integerIn,
  isHeaderValue,
  isInteger,
  isLowerCaseName,
  NOT_AN_INTEGER,
  optional,
  optionalFlag,
} from "./fields";
import { buildPrefilter, firstConditioned } from "./prefilter";
import {
  AbortFault,
  DelayFault,
  FAULT_HEADER,
  MAX_GRPC_STATUS,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  MIN_GRPC_STATUS,
  NEVER_EXPIRES,
  OLDEST_READABLE_RULESET_FORMAT,
  ResponseFault,
  RULESET_FORMAT,
  Rule,
  RuleFault,
  RuleSet,
} from "./ruleset";

/** A header name a response fault may touch: lower-case, and not a pseudo-header such as `:status`. */
function isResponseHeaderName(name: string): bool {
  return isLowerCaseName(name) && name.charCodeAt(0) != 0x3a;
}

export class Decoded {
  ruleSet: RuleSet | null = null;
  /** The document's revision when readable, even if the rest is invalid; -1 otherwise. */
  revision: i64 = -1;
  /** Why decoding failed: a JSON path and what was expected there. */
  error: string = "";
}

/** Decodes the `len` bytes at `ptr` (a host block: the body is parsed where the host wrote it). */
export function decodeRuleSet(ptr: usize, len: usize): Decoded {
  const out = new Decoded();
  if (STRICT_DECODE) forgetReads();
  const doc = asObject(parseJsonAt(ptr, <i32>len));
  if (doc == null) {
    const problem = lastParseError();
    out.error = problem != "" ? problem : "not a JSON object";
    return out;
  }
  const revision = doc.getNumber("revision");
  if (isInteger(revision) && revision >= 0) out.revision = <i64>revision;
  const format = doc.getNumber("format");
  if (
    !(format >= OLDEST_READABLE_RULESET_FORMAT && format <= RULESET_FORMAT) ||
    Math.floor(format) != format
  ) {
    out.error =
      "format: expected " + OLDEST_READABLE_RULESET_FORMAT.toString() + ".." + RULESET_FORMAT.toString();
    return out;
  }
  if (out.revision < 0) {
    out.error = "revision: expected a non-negative integer";
    return out;
  }
  const halted = optionalFlag(doc, "halted");
  if (halted < 0) {
    out.error = "halted: expected a boolean";
    return out;
  }
  const items = doc.getArray("rules");
  if (items == null) {
    out.error = "rules: expected an array";
    return out;
  }
  const reader = new RuleReader();
  const rules = new Array<Rule>(items.length);
  for (let i = 0; i < rules.length; i++) {
    const rule = reader.rule(items.at(i));
    if (rule == null) {
      out.error = "rules[" + i.toString() + "]." + reader.error;
      return out;
    }
    unchecked((rules[i] = rule));
  }
  if (STRICT_DECODE) {
    const unread = firstUnreadMember(doc, "");
    if (unread != "") {
      out.error = unread + ": not a member this filter reads";
      return out;
    }
  }
  out.ruleSet = new RuleSet(
    <i32>format,
    <u64>out.revision,
    rules,
    halted == 1,
    buildPrefilter(rules),
    firstConditioned(rules),
    maxBodyBytes(rules),
  );
  return out;
}

/** Reads one rule; on failure returns null and leaves the offending field in `error`. */
class RuleReader extends DelayReader {
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
    let expiresAt = NEVER_EXPIRES;
    const expiry = optional(obj, "expiresAt");
    if (expiry != null) {
      expiresAt = integerIn(expiry, 0, NEVER_EXPIRES - 1);
      if (expiresAt == NOT_AN_INTEGER) {
        this.fail("expiresAt", "milliseconds since the epoch");
        return null;
      }
    }
    const dryRun = optionalFlag(obj, "dryRun");
    if (dryRun < 0) {
      this.fail("dryRun", "a boolean");
      return null;
    }
    const match = this.match(obj.getObject("match"));
    if (match == null) return null;
    const fault = this.fault(name, obj.getObject("fault"));
    if (fault == null) return null;
    return new Rule(name, String.UTF8.encode(name), <i64>priority, match, fault, expiresAt, dryRun == 1);
  }

  private fault(name: string, obj: JsonObject | null): RuleFault | null {
    if (obj == null) {
      this.fail("fault", "an object");
      return null;
    }
    const millionths = integerIn(obj.get("percentageMillionths"), 0, MILLIONTHS_PER_HUNDRED_PERCENT);
    if (millionths == NOT_AN_INTEGER) {
      this.fail("fault.percentageMillionths", "an integer 0..1000000");
      return null;
    }
    let delay: DelayFault | null = null;
    const delayValue = optional(obj, "delay");
    if (delayValue != null) {
      delay = this.delay("fault.delay", name, delayValue);
      if (delay == null) return null;
    }
    let abort: AbortFault | null = null;
    const abortValue = optional(obj, "abort");
    if (abortValue != null) {
      abort = this.abort(name, abortValue);
      if (abort == null) return null;
    }
    let response: ResponseFault | null = null;
    const responseValue = optional(obj, "response");
    if (responseValue != null) {
      if (abort != null) {
        this.fail("fault.response", "no response fault beside an abort");
        return null;
      }
      response = this.response(name, asObject(responseValue));
      if (response == null) return null;
    }
    if (delay == null && abort == null && response == null) {
      this.fail("fault", "a delay, an abort or a response fault");
      return null;
    }
    return new RuleFault(<u32>millionths, delay, abort, response);
  }

  private response(name: string, obj: JsonObject | null): ResponseFault | null {
    if (obj == null) {
      this.fail("fault.response", "an object");
      return null;
    }
    let status: i64 = 0;
    const statusValue = optional(obj, "status");
    if (statusValue != null) {
      status = integerIn(statusValue, 200, 599);
      if (status == NOT_AN_INTEGER || status == 204 || status == 304) {
        this.fail("fault.response.status", "an integer 200..599 but 204 and 304");
        return null;
      }
    }
    const setItems = obj.getArray("setHeaders");
    if (setItems == null) {
      this.fail("fault.response.setHeaders", "an array");
      return null;
    }
    const setPairs = new Array<ArrayBuffer>(setItems.length * 2);
    for (let i = 0, n = setItems.length; i < n; i++) {
      const item = asObject(setItems.at(i));
      const header = item != null ? item.getString("name") : null;
      const value = item != null ? item.getString("value") : null;
      if (header == null || !isResponseHeaderName(header) || value == null) {
        this.fail(
          "fault.response.setHeaders[" + i.toString() + "]",
          "{name, value}: a lower-case header name, not a pseudo-header, and a string",
        );
        return null;
      }
      unchecked((setPairs[2 * i] = String.UTF8.encode(header)));
      unchecked((setPairs[2 * i + 1] = String.UTF8.encode(value)));
    }
    const removeItems = obj.getArray("removeHeaders");
    if (removeItems == null) {
      this.fail("fault.response.removeHeaders", "an array");
      return null;
    }
    let body: ArrayBuffer | null = null;
    if (optional(obj, "body") != null) {
      const text = obj.getString("body");
      if (text == null) {
        this.fail("fault.response.body", "a string");
        return null;
      }
      body = String.UTF8.encode(text);
    }
    let patch: JsonValue | null = null;
    if (optional(obj, "mergePatch") != null) {
      const text = obj.getString("mergePatch");
      patch = text != null && body == null ? parseJson(String.UTF8.encode(text)) : null;
      if (patch == null || patch.kind != JsonKind.Object) {
        this.fail("fault.response.mergePatch", "a JSON object as text, and no body beside it");
        return null;
      }
    }
    let delay: DelayFault | null = null;
    const delayValue = optional(obj, "delay");
    if (delayValue != null) {
      delay = this.delay("fault.response.delay", name, delayValue);
      if (delay == null) return null;
    }
    const removeNames = new Array<ArrayBuffer>(removeItems.length);
    for (let i = 0, n = removeItems.length; i < n; i++) {
      const item = removeItems.at(i);
      const header = item.kind == JsonKind.String ? changetype<JsonString>(item).value : "";
      if (!isResponseHeaderName(header)) {
        this.fail(
          "fault.response.removeHeaders[" + i.toString() + "]",
          "a lower-case header name, not a pseudo-header",
        );
        return null;
      }
      unchecked((removeNames[i] = String.UTF8.encode(header)));
    }
    return new ResponseFault(
      <u32>status,
      status != 0 ? String.UTF8.encode(status.toString()) : new ArrayBuffer(0),
      setPairs,
      removeNames,
      delay,
      body,
      body != null ? String.UTF8.encode(body.byteLength.toString()) : new ArrayBuffer(0),
      patch,
    );
  }

  private abort(name: string, value: JsonValue): AbortFault | null {
    const obj = asObject(value);
    const status = obj != null ? integerIn(obj.get("httpStatus"), 200, 599) : NOT_AN_INTEGER;
    if (obj == null || status == NOT_AN_INTEGER) {
      this.fail("fault.abort.httpStatus", "an integer 200..599");
      return null;
    }
    const body = obj.getString("body");
    if (body == null) {
      this.fail("fault.abort.body", "a string");
      return null;
    }
    let grpcStatus: i64 = NO_GRPC_STATUS;
    const grpcValue = optional(obj, "grpcStatus");
    if (grpcValue != null) {
      grpcStatus = integerIn(grpcValue, MIN_GRPC_STATUS, MAX_GRPC_STATUS);
      if (grpcStatus == NOT_AN_INTEGER) {
        this.fail(
          "fault.abort.grpcStatus",
          "an integer " + MIN_GRPC_STATUS.toString() + ".." + MAX_GRPC_STATUS.toString(),
        );
        return null;
      }
    }
    // A 204 or 304 has no body (RFC 9110): one sent anyway breaks the client's connection.
    const bodyless = status == 204 || status == 304;
    return new AbortFault(
      <u32>status,
      String.UTF8.encode(bodyless ? "" : body),
      serializePairs([FAULT_HEADER, name]),
      <i32>grpcStatus,
    );
  }
}

/** The largest `maxBytes` of the rules' body conditions: what a stream buffers at most; 0 for none. */
function maxBodyBytes(rules: Rule[]): u32 {
  let most: u32 = 0;
  for (let i = 0, n = rules.length; i < n; i++) {
    const body = unchecked(rules[i]).match.body;
    if (body != null && body.maxBytes > most) most = body.maxBytes;
  }
  return most;
}
