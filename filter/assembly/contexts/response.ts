/** A response fault at the response headers: its conditions, and the rewrite. */
import { MapType } from "../abi/enums";
import { getHeader, removeHeader, replaceHeader } from "../abi/host";
import { FAULT_HEADER } from "../fault";
import { matchHeaders, RequestView } from "../matcher";
import { Metrics } from "../metrics";
import { ResponseMatch, Rule } from "../rules";
import { CONTENT_LENGTH, patchBody, replaceBody } from "./response-body";

const STATUS = String.UTF8.encode(":status");
const CONTENT_ENCODING = String.UTF8.encode("content-encoding");

/** Whether `response` (the response headers) meets `conditions`: a status in range, and every header condition. */
export function responseMatches(conditions: ResponseMatch, response: RequestView): bool {
  const ranges = conditions.statusRanges;
  if (ranges.length > 0) {
    const status = statusOf(response);
    let inRange = false;
    for (let i = 0, n = ranges.length; i < n && !inRange; i += 2) {
      inRange = status >= unchecked(ranges[i]) && status <= unchecked(ranges[i + 1]);
    }
    if (!inRange) return false;
  }
  return matchHeaders(conditions.headers, response);
}

/**
 * Rewrites the response headers of stream `contextId` by `rule`'s response fault — removals, then
 * settings, then the status — and names the rule in `x-hfi-fault`, as an abort does. With a body
 * following (`bodyFollows`): a body to replace makes `content-length` the new body's and takes
 * `content-encoding` off (the new body is sent as written); a merge patch takes `content-length` off
 * (the patched length is not known yet) unless the body cannot be patched — compressed, or declared
 * longer than `maxPatchBodyBytes` — which is counted and left alone. False when the host refused
 * the first change: the response then goes on untouched.
 */
export function applyResponseFault(
  rule: Rule,
  contextId: u32,
  bodyFollows: bool,
  maxPatchBodyBytes: u32,
  metrics: Metrics | null,
): bool {
  const fault = rule.fault.response;
  if (fault == null) return false;
  if (!replaceHeader(MapType.HttpResponseHeaders, FAULT_HEADER, rule.nameBytes)) return false;
  const removed = fault.removeNames;
  for (let i = 0, n = removed.length; i < n; i++) {
    removeHeader(MapType.HttpResponseHeaders, unchecked(removed[i]));
  }
  const set = fault.setPairs;
  for (let i = 0, n = set.length; i < n; i += 2) {
    replaceHeader(MapType.HttpResponseHeaders, unchecked(set[i]), unchecked(set[i + 1]));
  }
  if (fault.status != 0) replaceHeader(MapType.HttpResponseHeaders, STATUS, fault.statusBytes);
  if (!bodyFollows) return true;
  const body = fault.body;
  if (body != null) {
    replaceHeader(MapType.HttpResponseHeaders, CONTENT_LENGTH, fault.bodyLength);
    removeHeader(MapType.HttpResponseHeaders, CONTENT_ENCODING);
    replaceBody(contextId, body);
  }
  const patch = fault.mergePatch;
  if (patch != null) {
    const encoding = getHeader(MapType.HttpResponseHeaders, "content-encoding");
    const declared = getHeader(MapType.HttpResponseHeaders, "content-length");
    if (encoding != null && encoding != "identity") {
      if (metrics != null) metrics.patchSkippedCompressed();
    } else if (declared != null && longerThan(declared, maxPatchBodyBytes)) {
      if (metrics != null) metrics.patchSkippedOversize();
    } else {
      removeHeader(MapType.HttpResponseHeaders, CONTENT_LENGTH);
      patchBody(contextId, patch);
    }
  }
  return true;
}

/** Whether a `content-length` value says more than `max` bytes (one that is not a number does not). */
function longerThan(declared: string, max: u32): bool {
  let length: u64 = 0;
  for (let i = 0, n = declared.length; i < n; i++) {
    const digit = <u32>declared.charCodeAt(i) - 0x30;
    if (digit > 9) return false;
    length = length * 10 + digit;
    if (length > <u64>max) return true;
  }
  return false;
}

/** The `:status` as a number; 0 when absent or not three digits. */
function statusOf(response: RequestView): u32 {
  const position = response.findHeader(STATUS, 0);
  if (position < 0) return 0;
  const value = response.headerValue(position);
  if (value.len != 3) return 0;
  let status: u32 = 0;
  for (let i: usize = 0; i < 3; i++) {
    const digit = <u32>load<u8>(value.ptr + i) - 0x30;
    if (digit > 9) return 0;
    status = status * 10 + digit;
  }
  return status;
}
