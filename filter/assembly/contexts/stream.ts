import { HeadersAction, MapType } from "../abi/enums";
import { getHeader, nowNs, replaceHeader, setProperty } from "../abi/host";
import { DelayedRequest } from "../delay";
import { FAULT_HEADER, injectAbort, isSampled } from "../fault";
import { findRule } from "../matcher";
import { NO_RESPONSE, PolicyStats, statusCode } from "../observe";
import { HostRequest } from "./request";
import { RootContext } from "./root";

const request = new HostRequest();
/** Filter-state property with the policy that faulted the request: `wasm.hfi_policy` in Envoy. */
const POLICY_PROPERTY = String.UTF8.encode("hfi_policy");

/**
 * A stream a rule matched, while it is observed (request headers to its log phase) or paused for a
 * delay, until it is done or deleted.
 */
class StreamState {
  delayed: DelayedRequest | null = null;

  constructor(
    readonly root: RootContext,
    /** Its policy's stats until the log phase has recorded the response; null once it has, or unobserved. */
    public stats: PolicyStats | null,
    readonly startNs: u64,
  ) {}
}

/**
 * The only per-stream state, by context id. A stream no rule matched leaves nothing behind — no
 * object, no map entry.
 */
const streams = new Map<u32, StreamState>();

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
  if (rule == null) return HeadersAction.Continue;
  // A stream id the host reuses before deleting it is not expected; if it happens, the older
  // state is dropped (its pause from the queue) rather than stranded.
  streamDone(id);
  const stats = root.matched(rule);
  let state: StreamState | null = null;
  if (stats != null) {
    state = new StreamState(root, stats, nowNs());
    streams.set(id, state);
  }
  if (!isSampled(rule.fault)) return HeadersAction.Continue;
  if (rule.dryRun) {
    root.dryRunMatched(rule);
    return HeadersAction.Continue;
  }
  const fault = rule.fault;
  const delay = fault.delay;
  if (delay != null) {
    const delayed = root.startDelay(id, rule);
    if (delayed == null) return HeadersAction.Continue;
    if (state == null) {
      state = new StreamState(root, null, 0);
      streams.set(id, state);
    }
    state.delayed = delayed;
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
 * proxy_on_log, Envoy's access-log phase after the response (or a reset), before on_done: for an
 * observed stream, the status the client got — the upstream's, or the filter's own abort — and the
 * time since its request headers.
 */
export function streamLogged(id: u32): void {
  if (streams.size == 0 || !streams.has(id)) return;
  const state = streams.get(id);
  const stats = state.stats;
  if (stats == null) return;
  state.stats = null;
  const status = getHeader(MapType.HttpResponseHeaders, ":status");
  state.root.responded(stats, status != null ? statusCode(status) : NO_RESPONSE, nowNs() - state.startNs);
}

/**
 * Stream `id` is over (done or deleted): its state goes, a request still paused is dropped from the
 * queue. Ids of streams no rule matched (or already forgotten) are no-ops.
 */
export function streamDone(id: u32): bool {
  if (streams.size == 0 || !streams.has(id)) return false;
  const state = streams.get(id);
  streams.delete(id);
  const delayed = state.delayed;
  if (delayed != null) state.root.cancelDelay(delayed);
  return true;
}
