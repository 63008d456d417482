import { BufferType, DataAction, LogLevel, MapType } from "../abi/enums";
import {
  continueRequest,
  continueResponse,
  getBuffer,
  log,
  nowNs,
  replaceHeader,
  setEffectiveContext,
} from "../abi/host";
import { bodyMatches } from "../body-match";
import { parsePluginConfig } from "../config";
import { DelayedRequest, DelayQueue, drawDelayMs } from "../delay";
import { FAULT_HEADER, injectAbort } from "../fault";
import { Metrics } from "../metrics";
import { ABORTS, DELAYS, DRY_RUN, MATCHED, PolicyStats, Reporter } from "../observe";
import { ActiveRules, BodyMatch, DelayFault, Rule, RuleSet } from "../rules";
import { Subscriber } from "../subscriber";
import { readIdentity } from "../subscriber/identity";
import { applyResponseFault } from "./response";
import { onBodyChunk } from "./response-body";
import { NO_WAKE, Timer } from "./timer";

const NS_PER_MS: u64 = 1_000_000;

/**
 * One plugin instance in one worker VM: its configuration, the rules in force, the metrics, the
 * subscriber that keeps the rules current, the reporter of observations, and the requests it holds
 * paused. Owns the VM timer, which runs only while a poll retry, a report or a delay deadline is
 * pending.
 */
export class RootContext {
  readonly rules: ActiveRules = new ActiveRules();
  private metrics: Metrics | null = null;
  private subscriber: Subscriber | null = null;
  private reporter: Reporter | null = null;
  private readonly delays: DelayQueue = new DelayQueue();
  /** Scratch list of the requests a new rule set releases; empty between rule sets. */
  private readonly released: DelayedRequest[] = [];
  private readonly timer: Timer = new Timer();
  private maxActiveDelays: i32 = 0;
  private maxPatchBodyBytes: u32 = 0;
  /** The plugin's `filterState`: name the faulting policy in the `hfi_policy` filter state. */
  namesPolicyInFilterState: bool = false;
  /** The plugin's `bodyMatching`: Envoy delivers request bodies while the headers are paused. */
  matchesBodies: bool = false;
  private bodyRulesSkippedLogged: bool = false;

  constructor(readonly id: u32) {}

  onConfigure(configSize: usize): bool {
    const bytes = getBuffer(BufferType.PluginConfiguration, configSize);
    const parsed = parsePluginConfig(bytes != null ? bytes : new ArrayBuffer(0));
    const config = parsed.config;
    if (config == null) {
      log(LogLevel.Error, "invalid plugin configuration: " + parsed.error);
      return false;
    }
    const metrics = new Metrics();
    const identity = readIdentity(config);
    const subscriber = new Subscriber(config, this.rules, metrics, identity);
    this.metrics = metrics;
    this.subscriber = subscriber;
    if (config.reportIntervalMs > 0) this.reporter = new Reporter(config, identity.query());
    this.maxActiveDelays = config.maxActiveDelays;
    this.maxPatchBodyBytes = config.maxPatchBodyBytes;
    this.namesPolicyInFilterState = config.filterState;
    this.matchesBodies = config.bodyMatching;
    const now = nowNs();
    subscriber.start(now / NS_PER_MS);
    this.reschedule(now, false);
    return true;
  }

  onTick(): void {
    const now = nowNs();
    this.resumeDue(now);
    const subscriber = this.subscriber;
    if (subscriber != null) subscriber.onTick(now / NS_PER_MS);
    const reporter = this.reporter;
    if (reporter != null) reporter.onTick(now / NS_PER_MS);
    this.reschedule(now, true);
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: usize): void {
    const subscriber = this.subscriber;
    if (subscriber == null) return;
    const now = nowNs();
    const reporter = this.reporter;
    if (reporter != null && reporter.owns(token)) {
      reporter.onResponse(numHeaders, now / NS_PER_MS);
    } else {
      const before = this.rules.current;
      subscriber.onResponse(token, numHeaders, bodySize, now / NS_PER_MS);
      const after = this.rules.current;
      if (after !== before && after != null) this.releaseWithdrawn(after, now);
    }
    this.reschedule(now, false);
  }

  /** The plugin is going away: paused requests are released, not stranded; late responses become no-ops. */
  onDone(): void {
    this.resumeDue(NO_WAKE);
    this.subscriber = null;
    this.reporter = null;
    this.reschedule(nowNs(), false);
  }

  /** `rule` is the first match of a request: its policy's stats, or null when nothing is observed. */
  matched(rule: Rule): PolicyStats | null {
    const stats = rule.counters.stats;
    if (stats == null || this.reporter == null) return null;
    stats.count(MATCHED);
    this.touched(stats);
    return stats;
  }

  /** A request its policy's `stats` matched ended with `status`, `latencyNs` after its headers arrived. */
  responded(stats: PolicyStats, status: u32, latencyNs: u64): void {
    stats.recordResponse(status, latencyNs);
    this.touched(stats);
  }

  abortInjected(rule: Rule): void {
    const metrics = this.metrics;
    if (metrics != null) metrics.abortInjected(rule);
    const stats = rule.counters.stats;
    if (stats == null) return;
    stats.count(ABORTS);
    // After a delay, a report may have gone out since the request matched.
    this.touched(stats);
  }

  /**
   * Applies `rule`'s response fault to the response of stream `contextId` (the current or effective
   * one), and counts it; `bodyFollows` when its headers did not end the stream. False when the host
   * refused the rewrite (the response goes on untouched).
   */
  rewriteResponse(rule: Rule, contextId: u32, bodyFollows: bool): bool {
    const metrics = this.metrics;
    if (applyResponseFault(rule, contextId, bodyFollows, this.maxPatchBodyBytes, metrics)) {
      this.responseFaulted(rule);
      return true;
    }
    this.responseUntouched();
    return false;
  }

  /** Whether the request body (`len` bytes at `ptr`) meets `match`; a body that is not JSON is counted. */
  bodyMatches(match: BodyMatch, ptr: usize, len: usize): bool {
    return bodyMatches(match, ptr, len, this.metrics);
  }

  /** A body condition was taken as false because `bodyMatching` is off: said once, not per request. */
  bodyRuleSkipped(): void {
    if (this.bodyRulesSkippedLogged) return;
    this.bodyRulesSkippedLogged = true;
    log(
      LogLevel.Warn,
      'a rule has a request-body condition but the plugin configuration lacks "bodyMatching": true (with the Wasm filter\'s allow_on_headers_stop_iteration: true); body conditions never match',
    );
  }

  /** A request body awaited for body conditions ran past every rule's `maxBytes`. */
  bodyOversize(): void {
    const metrics = this.metrics;
    if (metrics != null) metrics.bodyOversize();
  }

  /** A chunk of stream `contextId`'s response body (response-body.ts). */
  onResponseBody(contextId: u32, size: usize, endOfStream: bool): DataAction {
    return onBodyChunk(contextId, size, endOfStream, this.maxPatchBodyBytes, this.metrics);
  }

  /**
   * `rule`'s response fault was applied to a response. One that changed what the client gets
   * (status, headers, body) counts with the aborts in observations, as an abort replaces the
   * upstream's answer; a response delay alone was counted as a delay when it started.
   */
  private responseFaulted(rule: Rule): void {
    const metrics = this.metrics;
    if (metrics != null) metrics.responseFaulted(rule);
    const stats = rule.counters.stats;
    const fault = rule.fault.response;
    if (stats == null || fault == null || !fault.rewrites) return;
    stats.count(ABORTS);
    this.touched(stats);
  }

  /** A response fault was due but the host refused the rewrite: the response went on untouched. */
  private responseUntouched(): void {
    const metrics = this.metrics;
    if (metrics != null) metrics.responseUntouched();
  }

  /** A dry-run rule would have faulted this request. */
  dryRunMatched(rule: Rule): void {
    const metrics = this.metrics;
    if (metrics != null) metrics.dryRunMatched(rule);
    const stats = rule.counters.stats;
    if (stats != null) stats.count(DRY_RUN);
  }

  /**
   * Queues stream `contextId` for `delay`, one of `rule`'s (the caller pauses the request, or holds
   * the response when `response`). Null at the cap on concurrent delays: the request (or response)
   * then passes untouched, counted as overflow.
   */
  startDelay(
    contextId: u32,
    rule: Rule,
    delay: DelayFault,
    response: bool,
    bodyFollows: bool,
  ): DelayedRequest | null {
    const metrics = this.metrics;
    if (metrics == null) return null;
    if (this.delays.size >= this.maxActiveDelays) {
      metrics.delayOverflowed();
      return null;
    }
    const now = nowNs();
    const ms = drawDelayMs(delay);
    const deadline = now + <u64>ms * NS_PER_MS;
    const entry = new DelayedRequest(contextId, now, deadline, rule, ms, response, bodyFollows);
    this.delays.push(entry);
    metrics.delayStarted(rule);
    const stats = rule.counters.stats;
    if (stats != null) stats.count(DELAYS);
    this.reschedule(now, false);
    return entry;
  }

  /** The stream of `entry` ended during its delay (client gone): it is dropped, never resumed. */
  cancelDelay(entry: DelayedRequest): void {
    if (!this.delays.remove(entry)) return;
    const metrics = this.metrics;
    if (metrics != null) metrics.delayCancelled();
    this.reschedule(nowNs(), false);
  }

  /** Resumes (or, for delay-then-abort, answers) every request whose deadline is not after `now`. */
  private resumeDue(now: u64): void {
    const delays = this.delays;
    let acted = false;
    while (delays.size > 0 && delays.peek().deadlineNs <= now) {
      this.endDelay(delays.pop(), now, true);
      acted = true;
    }
    // Later hostcalls of this callback (the subscriber's) must not act on the last stream.
    if (acted) setEffectiveContext(this.id);
  }

  /**
   * `ruleSet` was just swapped in: every paused request whose policy it no longer enforces (halted;
   * deleted, as the server does when an experiment's duration ends; or turned dry-run) continues at
   * once, a delay-then-abort without its abort, a held response without its rewrite. A policy still enforced keeps its requests under the
   * rule they were paused with.
   */
  private releaseWithdrawn(ruleSet: RuleSet, now: u64): void {
    const delays = this.delays;
    if (delays.size == 0) return;
    const released = this.released;
    // Paused requests mostly share a few rules: each rule is looked up once in a row.
    let checked: Rule | null = null;
    let withdrawn = false;
    for (let i = 0, n = delays.size; i < n; i++) {
      const entry = delays.at(i);
      if (entry.rule !== checked) {
        checked = entry.rule;
        withdrawn = !ruleSet.enforces(entry.rule.name);
      }
      if (withdrawn) released.push(entry);
    }
    if (released.length == 0) return;
    for (let i = 0, n = released.length; i < n; i++) {
      const entry = unchecked(released[i]);
      delays.remove(entry);
      this.endDelay(entry, now, false);
    }
    released.length = 0;
    setEffectiveContext(this.id);
  }

  /**
   * Ends `entry`'s delay: the request continues, or gets its rule's abort when `abortDue`. One that
   * continues early without its abort is marked as delayed, like a delay alone. A held response is
   * rewritten when `abortDue` (its delay ran its course), and goes on.
   */
  private endDelay(entry: DelayedRequest, now: u64, abortDue: bool): void {
    const metrics = this.metrics;
    const end = now == NO_WAKE ? nowNs() : now;
    if (metrics != null) metrics.delayEnded((end - entry.startNs + NS_PER_MS / 2) / NS_PER_MS);
    // A stream the host no longer knows must not be acted on: continue would hit the root instead.
    if (!setEffectiveContext(entry.contextId)) return;
    if (entry.response) {
      if (abortDue) entry.rewritten = this.rewriteResponse(entry.rule, entry.contextId, entry.bodyFollows);
      continueResponse();
      return;
    }
    const fault = entry.rule.fault;
    const abort = fault.abort;
    if (abort != null && abortDue) {
      injectAbort(abort);
      this.abortInjected(entry.rule);
      return;
    }
    const delay = fault.delay;
    if (abort != null && delay != null) {
      replaceHeader(MapType.HttpRequestHeaders, FAULT_HEADER, delay.headerFor(entry.delayMs));
    }
    continueRequest();
  }

  /** The first change since the last report arms the timer for the next one. */
  private touched(stats: PolicyStats): void {
    const reporter = this.reporter;
    if (reporter != null) reporter.touched(stats);
  }

  private reschedule(now: u64, inTick: bool): void {
    let wake = NO_WAKE;
    const subscriber = this.subscriber;
    if (subscriber != null) {
      const pollAtMs = subscriber.nextWakeMs();
      if (pollAtMs >= 0) wake = <u64>pollAtMs * NS_PER_MS;
    }
    const reporter = this.reporter;
    if (reporter != null) {
      const reportAtMs = reporter.nextWakeMs();
      if (reportAtMs >= 0) wake = min(wake, <u64>reportAtMs * NS_PER_MS);
    }
    if (this.delays.size > 0) wake = min(wake, this.delays.peek().deadlineNs);
    this.timer.schedule(now, wake, inTick);
  }
}
