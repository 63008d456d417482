import { MapType } from "../abi/enums";
import { getHeader, nowNs } from "../abi/host";
import { NO_RESPONSE, PolicyStats } from "../observe";
import { Rule } from "../rules";
import { RootContext } from "./root";

/** A request a rule matched, from its request headers until its access-log phase. */
class ObservedStream {
  constructor(
    readonly root: RootContext,
    readonly stats: PolicyStats,
    readonly startNs: u64,
  ) {}
}

/** Matched streams by context id; streams no rule matched leave nothing here. */
const observed = new Map<u32, ObservedStream>();

/** Stream `id` of `root` matched `rule` (whether or not it is faulted): counted, and timed. */
export function streamMatched(root: RootContext, id: u32, rule: Rule): void {
  const stats = root.matched(rule);
  if (stats != null) observed.set(id, new ObservedStream(root, stats, nowNs()));
}

/**
 * proxy_on_log, Envoy's access-log phase after the response (or a reset): the status code the
 * client got — the upstream's, or the filter's own abort — and the time since the request headers.
 */
export function streamLogged(id: u32): void {
  if (observed.size == 0 || !observed.has(id)) return;
  const stream = observed.get(id);
  observed.delete(id);
  const status = getHeader(MapType.HttpResponseHeaders, ":status");
  const code = status != null ? statusCode(status) : NO_RESPONSE;
  stream.root.responded(stream.stats, code, nowNs() - stream.startNs);
}

/** The stream is deleted without a log phase (not seen from Envoy): nothing is left behind. */
export function streamForgotten(id: u32): void {
  if (observed.size > 0) observed.delete(id);
}

/** Envoy's `:status` is three digits; anything else counts as no response. */
function statusCode(text: string): u32 {
  if (text.length != 3) return NO_RESPONSE;
  let code: u32 = 0;
  for (let i = 0; i < 3; i++) {
    const digit = <u32>text.charCodeAt(i) - 0x30;
    if (digit > 9) return NO_RESPONSE;
    code = code * 10 + digit;
  }
  return code;
}
