/** A response fault at the response headers: its conditions, and the rewrite; and the body it replaces. */
import { BufferType, DataAction, MapType } from "../abi/enums";
import { removeHeader, replaceHeader, setBuffer } from "../abi/host";
import { FAULT_HEADER } from "../fault";
import { matchHeaders, RequestView } from "../matcher";
import { ResponseMatch, Rule } from "../rules";

const STATUS = String.UTF8.encode(":status");
const CONTENT_LENGTH = String.UTF8.encode("content-length");
const CONTENT_ENCODING = String.UTF8.encode("content-encoding");
const NOTHING = new ArrayBuffer(0);

/**
 * Streams whose response body is being replaced, by context id: what the next body chunk becomes —
 * the rule's body for the first, nothing for the rest. No entry for any other stream.
 */
const replacements = new Map<u32, ArrayBuffer>();

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
 * settings, then the status — and names the rule in `x-hfi-fault`, as an abort does. With a body to
 * replace and a body following (`bodyFollows`), `content-length` becomes the new body's and
 * `content-encoding` goes (the new body is sent as written), and the body chunks are replaced as
 * they come (replaceBodyChunk). False when the host refused the first change: the response then
 * goes on untouched.
 */
export function applyResponseFault(rule: Rule, contextId: u32, bodyFollows: bool): bool {
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
  const body = fault.body;
  if (body != null && bodyFollows) {
    replaceHeader(MapType.HttpResponseHeaders, CONTENT_LENGTH, fault.bodyLength);
    removeHeader(MapType.HttpResponseHeaders, CONTENT_ENCODING);
    replacements.set(contextId, body);
  }
  return true;
}

/**
 * proxy_on_response_body of stream `contextId`: a body being replaced has its first chunk replaced
 * by the rule's body and every later one emptied, so nothing of the upstream's is buffered or sent;
 * every other stream's chunk goes on untouched.
 */
export function replaceBodyChunk(contextId: u32, size: usize, endOfStream: bool): DataAction {
  if (replacements.size == 0 || !replacements.has(contextId)) return DataAction.Continue;
  setBuffer(BufferType.HttpResponseBody, 0, size, replacements.get(contextId));
  if (endOfStream) replacements.delete(contextId);
  else replacements.set(contextId, NOTHING);
  return DataAction.Continue;
}

/** Stream `contextId` is over: a replacement it did not finish goes. */
export function forgetBody(contextId: u32): void {
  if (replacements.size > 0) replacements.delete(contextId);
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
