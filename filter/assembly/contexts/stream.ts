import { HeadersAction, MapType } from "../abi/enums";
import { replaceHeader, setProperty } from "../abi/host";
import { DelayedRequest } from "../delay";
import { FAULT_HEADER, injectAbort, isSampled } from "../fault";
import { findRule } from "../matcher";
import { HostRequest } from "./request";
import { RootContext } from "./root";

const request = new HostRequest();
/** Filter-state property with the policy that faulted the request: `wasm.hfi_policy` in Envoy. */
const POLICY_PROPERTY = String.UTF8.encode("hfi_policy");

/** A stream paused for a delay, until it is done or deleted. */
class PausedStream {
  constructor(
    readonly root: RootContext,
    readonly delayed: DelayedRequest,
  ) {}
}

/**
 * The only per-stream state: streams paused for a delay, by context id. A stream that is not
 * delayed leaves nothing behind — no object, no map entry.
 */
const paused = new Map<u32, PausedStream>();

/**
 * Stream `id` of `root` has its request headers. First, whatever the rules, a client's own
 * `x-hfi-fault` is taken off, so the header reaching the upstream is always the filter's. Nothing
 * more while the rule set is halted. Otherwise the first matching rule's fault, if this request is
 * in its share — a dry-run rule only counts it and leaves the request alone: a delay pauses the
 * request (PAUSE becomes StopAllIterationAndWatermark in Envoy) and the root resumes it, or answers
 * it for delay-then-abort; an abort alone answers now. With the plugin's `filterState` on, a faulted
 * request carries the policy name in the `hfi_policy` filter state (for access logs). A delay that
 * will be resumed also gets the request header `x-hfi-fault: <policy>;delay=<ms>`, set now because
 * Envoy drops the header map once the stream continues.
 */
export function onStreamRequestHeaders(root: RootContext, id: u32): HeadersAction {
  const ruleSet = root.rules.current;
  request.begin();
  const rule = ruleSet != null && !ruleSet.halted ? findRule(ruleSet, request) : null;
  request.strip(FAULT_HEADER);
  request.end();
  if (rule == null || !isSampled(rule.fault)) return HeadersAction.Continue;
  if (rule.dryRun) {
    root.dryRunMatched(rule);
    return HeadersAction.Continue;
  }
  const fault = rule.fault;
  const delay = fault.delay;
  if (delay != null) {
    const delayed = root.startDelay(id, rule);
    if (delayed == null) return HeadersAction.Continue;
    // A stream id the host reuses before deleting it is not expected; if it happens, the older
    // pause is dropped from the queue rather than stranded.
    streamDone(id);
    paused.set(id, new PausedStream(root, delayed));
    if (root.namesPolicyInFilterState) setProperty(POLICY_PROPERTY, rule.nameBytes);
    if (fault.abort == null) {
      replaceHeader(MapType.HttpRequestHeaders, FAULT_HEADER, delay.headerFor(delayed.delayMs));
    }
    return HeadersAction.Pause;
  }
  const abort = fault.abort;
  if (abort == null) return HeadersAction.Continue;
  if (root.namesPolicyInFilterState) setProperty(POLICY_PROPERTY, rule.nameBytes);
  injectAbort(abort);
  root.abortInjected(rule);
  return HeadersAction.Pause;
}

/**
 * Stream `id` is over (done or deleted): a request still paused is dropped from the queue. Ids of
 * streams never paused (or already forgotten) are no-ops.
 */
export function streamDone(id: u32): bool {
  if (paused.size == 0 || !paused.has(id)) return false;
  const stream = paused.get(id);
  paused.delete(id);
  stream.root.cancelDelay(stream.delayed);
  return true;
}
