import { BufferType, DataAction, HeadersAction, MapType } from "../abi/enums";
import { getHeader, nowNs, readBuffer, replaceHeader, setProperty } from "../abi/host";
import { HostBlock } from "../abi/memory";
import { DelayedRequest } from "../delay";
import { FAULT_HEADER, injectAbort, isSampled } from "../fault";
import { findRule } from "../matcher";
import { NO_RESPONSE, PolicyStats, statusCode } from "../observe";
import { Rule, RuleSet } from "../rules";
import { HostRequest } from "./request";
import { responseMatches } from "./response";
import { forgetBody } from "./response-body";
import { RootContext } from "./root";

const request = new HostRequest();
const response = new HostRequest(MapType.HttpResponseHeaders);
/** Filter-state property with the policy that faulted the request: `wasm.hfi_policy` in Envoy. */
const POLICY_PROPERTY = String.UTF8.encode("hfi_policy");

/**
 * A stream a rule matched, while it is observed (request headers to on_done) or paused for a delay,
 * until it is done or deleted.
 */
class StreamState {
  delayed: DelayedRequest | null = null;
  /** The rule whose response fault waits for the response headers; null once they came (or none). */
  responseRule: Rule | null = null;
  /** The rule set `responseRule` was matched under: while it is still in force, the rule is too. */
  responseRuleSet: RuleSet | null = null;
  /** For an observed stream: the status its response headers carried when they passed (or were rewritten to). */
  status: u32 = NO_RESPONSE;

  constructor(
    readonly root: RootContext,
    /** Its policy's stats until on_done has recorded the response; null once it has, or unobserved. */
    public stats: PolicyStats | null,
    readonly startNs: u64,
  ) {}
}

/**
 * The only per-stream state, by context id. A stream no rule matched leaves nothing behind — no
 * object, no map entry.
 */
const streams = new Map<u32, StreamState>();

/** A stream whose request headers are held until its body decides the match. */
class BodyWait {
  constructor(
    readonly root: RootContext,
    /** The rule set the headers were matched under; its rules are evaluated against the body. */
    readonly ruleSet: RuleSet,
    /** Index of the first rule whose conditions but its body condition held. */
    readonly from: i32,
  ) {}
}

/** Streams waiting for their body, by context id; empty unless a rule has a body condition. */
const bodyWaits = new Map<u32, BodyWait>();
const bodyBlock = new HostBlock();

/**
 * Stream `id` of `root` has its request headers. First, whatever the rules, a client's own
 * `x-hfi-fault` is taken off, so the header reaching the upstream is always the filter's. Nothing
 * more while the rule set is halted. Otherwise the first matching rule's fault, if this request is
 * in its share — a dry-run rule only counts it and leaves the request alone: a delay pauses the
 * request (PAUSE becomes StopAllIterationAndWatermark in Envoy) and the root resumes it, or answers
 * it for delay-then-abort; an abort alone answers now. With the plugin's `filterState` on, a faulted
 * request carries the policy name in the `hfi_policy` filter state (for access logs). A delay that
 * will be resumed also gets the request header `x-hfi-fault: <policy>;delay=<ms>`, set now because
 * Envoy drops the header map once the stream continues. When the first rule whose other conditions
 * hold has a body condition, the decision waits for the body (onStreamRequestBody), headers paused.
 */
export function onStreamRequestHeaders(root: RootContext, id: u32, endOfStream: bool): HeadersAction {
  const ruleSet = root.rules.current;
  request.begin();
  let index = -1;
  if (ruleSet != null && !ruleSet.halted) {
    index = findRule(ruleSet, request, 0);
    // Without a body, or without bodyMatching (Envoy would not deliver it while the headers are
    // held), a body condition is false: the next rule is the candidate.
    const bodyFalse = endOfStream || !root.matchesBodies;
    while (index >= 0 && bodyFalse && unchecked(ruleSet.rules[index]).match.body != null) {
      if (!root.matchesBodies) root.bodyRuleSkipped();
      index = findRule(ruleSet, request, index + 1);
    }
  }
  request.strip(FAULT_HEADER);
  request.end();
  if (index < 0) return HeadersAction.Continue;
  const rules = changetype<RuleSet>(ruleSet).rules;
  const rule = unchecked(rules[index]);
  if (rule.match.body != null) {
    streamDone(id);
    bodyWaits.set(id, new BodyWait(root, changetype<RuleSet>(ruleSet), index));
    return HeadersAction.Pause;
  }
  return applyRule(root, id, changetype<RuleSet>(ruleSet), rule);
}

/**
 * A chunk of stream `id`'s request body, `size` bytes buffered with it. Only a stream waiting for
 * its body (its headers held for a body condition) does anything: it buffers
 * (StopIterationAndBuffer) up to the rule set's largest `maxBytes`; at the end of the body, or past
 * that cap (counted, and every body condition is then false), the rules from the awaited one on are
 * evaluated against the body, and the first that matches applies as at request headers — an abort
 * answers, a delay holds the request, anything else lets it go on (Continue, which releases the
 * headers too).
 */
export function onStreamRequestBody(id: u32, size: usize, endOfStream: bool): DataAction {
  if (bodyWaits.size == 0 || !bodyWaits.has(id)) return heldBody(id, false);
  const wait = bodyWaits.get(id);
  const ruleSet = wait.ruleSet;
  const oversize = size > <usize>ruleSet.maxBodyBytes;
  if (!endOfStream && !oversize) return DataAction.StopIterationAndBuffer;
  bodyWaits.delete(id);
  const root = wait.root;
  const current = root.rules.current;
  if (current == null || current.halted) return DataAction.Continue;
  if (oversize) root.bodyOversize();
  else if (!readBuffer(BufferType.HttpRequestBody, size, bodyBlock)) bodyBlock.free();
  const rules = ruleSet.rules;
  let rule: Rule | null = null;
  request.begin();
  for (let index = findRule(ruleSet, request, wait.from); index >= 0; ) {
    const candidate = unchecked(rules[index]);
    const body = candidate.match.body;
    if (body == null || (!oversize && root.bodyMatches(body, bodyBlock.ptr, bodyBlock.len))) {
      rule = candidate;
      break;
    }
    index = findRule(ruleSet, request, index + 1);
  }
  request.end();
  bodyBlock.free();
  if (rule == null) return DataAction.Continue;
  return applyRule(root, id, ruleSet, rule) == HeadersAction.Pause
    ? DataAction.StopIterationAndBuffer
    : DataAction.Continue;
}

/**
 * What a body callback of stream `id` returns while its `response` (or request) headers are held
 * for a delay: with bodies delivered behind held headers (allow_on_headers_stop_iteration), the body
 * is kept too, with flow control — what Envoy does by itself when it does not deliver them. Anything
 * else goes on.
 */
export function heldBody(id: u32, response: bool): DataAction {
  if (streams.size == 0 || !streams.has(id)) return DataAction.Continue;
  const delayed = streams.get(id).delayed;
  return delayed != null && delayed.queued && delayed.response == response
    ? DataAction.StopIterationAndWatermark
    : DataAction.Continue;
}

/**
 * Applies `rule`, matched for stream `id` under `ruleSet`, as onStreamRequestHeaders says. A stream
 * keeps state only while something is still to come for it: its observation (until on_done),
 * its delay, or its response fault. An abort at once is observed as it is sent — the status it
 * sends, no latency — so it leaves nothing behind.
 */
function applyRule(root: RootContext, id: u32, ruleSet: RuleSet, rule: Rule): HeadersAction {
  // A stream id the host reuses before deleting it is not expected; if it happens, the older
  // state is dropped (its pause from the queue) rather than stranded.
  streamDone(id);
  const stats = root.matched(rule);
  const fault = rule.fault;
  const sampled = isSampled(fault);
  const abort = fault.abort;
  if (sampled && !rule.dryRun && abort != null && fault.delay == null) {
    if (root.namesPolicyInFilterState) setProperty(POLICY_PROPERTY, rule.nameBytes);
    injectAbort(abort);
    root.abortInjected(rule);
    if (stats != null) root.responded(stats, abort.httpStatus, 0);
    return HeadersAction.Pause;
  }
  let state: StreamState | null = null;
  if (stats != null) {
    state = new StreamState(root, stats, nowNs());
    streams.set(id, state);
  }
  if (!sampled) return HeadersAction.Continue;
  if (fault.response != null) {
    // The response decides: its conditions, and for a dry run whether it counts.
    if (state == null) {
      state = new StreamState(root, null, 0);
      streams.set(id, state);
    }
    state.responseRule = rule;
    state.responseRuleSet = ruleSet;
  }
  if (rule.dryRun) {
    if (fault.response == null) root.dryRunMatched(rule);
    return HeadersAction.Continue;
  }
  const delay = fault.delay;
  if (delay == null) return HeadersAction.Continue;
  const delayed = root.startDelay(id, rule, delay, false, false);
  if (delayed == null) return HeadersAction.Continue;
  if (state == null) {
    state = new StreamState(root, null, 0);
    streams.set(id, state);
  }
  state.delayed = delayed;
  if (root.namesPolicyInFilterState) setProperty(POLICY_PROPERTY, rule.nameBytes);
  if (abort == null) {
    replaceHeader(MapType.HttpRequestHeaders, FAULT_HEADER, delay.headerFor(delayed.delayMs));
  }
  return HeadersAction.Pause;
}

/**
 * Stream `id` has its response headers. Only a stream whose rule has a response fault (and was in
 * its share) did anything at request time to be found here; every other stream returns at once. The
 * fault applies if its policy is still enforced (a halt or a deletion since the request withdraws
 * it) and the response meets the rule's `match.response`; a dry-run rule only counts it. With a
 * response delay the headers are held (PAUSE) and the root rewrites and releases them at the
 * deadline — or releases them untouched if a rule set withdraws the policy first.
 */
export function onStreamResponseHeaders(id: u32, endOfStream: bool): HeadersAction {
  if (streams.size == 0 || !streams.has(id)) return HeadersAction.Continue;
  const state = streams.get(id);
  if (state.stats != null) {
    const status = getHeader(MapType.HttpResponseHeaders, ":status");
    state.status = status != null ? statusCode(status) : NO_RESPONSE;
  }
  const rule = state.responseRule;
  if (rule == null) return HeadersAction.Continue;
  const matchedUnder = state.responseRuleSet;
  state.responseRule = null;
  state.responseRuleSet = null;
  const root = state.root;
  const current = root.rules.current;
  if (current !== matchedUnder) {
    if (current == null || current.halted || (!rule.dryRun && !current.enforces(rule.name))) {
      return HeadersAction.Continue;
    }
  }
  const conditions = rule.match.response;
  if (conditions != null) {
    const matches = responseMatches(conditions, response.begin());
    response.end();
    if (!matches) return HeadersAction.Continue;
  }
  if (rule.dryRun) {
    root.dryRunMatched(rule);
    return HeadersAction.Continue;
  }
  const fault = rule.fault.response;
  if (fault == null) return HeadersAction.Continue;
  const delay = fault.delay;
  if (delay == null) {
    if (root.rewriteResponse(rule, id, !endOfStream) && fault.status != 0) state.status = fault.status;
    return HeadersAction.Continue;
  }
  const delayed = root.startDelay(id, rule, delay, true, !endOfStream);
  if (delayed == null) return HeadersAction.Continue;
  state.delayed = delayed;
  return HeadersAction.Pause;
}

/**
 * Stream `id` is done (on_done: after the response, or a reset): an observed stream records the
 * status its response headers carried — or a held response's rewritten status, or none — and the
 * time since its request headers; then its state goes (streamDone). Recording here rather than in
 * Envoy's access-log phase spares every request a call into the VM: the module exports no
 * proxy_on_log. True if the stream had state.
 */
export function streamEnded(id: u32): bool {
  if (streams.size > 0 && streams.has(id)) {
    const state = streams.get(id);
    const stats = state.stats;
    if (stats != null) {
      state.stats = null;
      let status = state.status;
      const delayed = state.delayed;
      const rewritten = delayed != null && delayed.response && delayed.rewritten;
      if (rewritten) {
        const fault = changetype<DelayedRequest>(delayed).rule.fault.response;
        if (fault != null && fault.status != 0) status = fault.status;
      }
      state.root.responded(stats, status, nowNs() - state.startNs);
    }
  }
  return streamDone(id);
}

/**
 * Stream `id` is over (done or deleted): its state goes, a request still paused is dropped from the
 * queue. Ids of streams no rule matched (or already forgotten) are no-ops.
 */
export function streamDone(id: u32): bool {
  if (bodyWaits.size > 0) bodyWaits.delete(id);
  if (streams.size == 0 || !streams.has(id)) return false;
  const state = streams.get(id);
  streams.delete(id);
  forgetBody(id);
  const delayed = state.delayed;
  if (delayed != null) state.root.cancelDelay(delayed);
  return true;
}
