/**
 * Long-polls the control plane for rule sets: GET /v1/config?after=REV&wait=W on the configured
 * cluster. 200 → decode, swap, poll again at once; 304 → poll again; anything else → retry after a
 * jittered exponential backoff. The owner drives it with ticks and reads wakeInMs() to program the
 * timer, so nothing ticks while a poll is in flight.
 */
import { BufferType, LogLevel, MapType } from "../abi/enums";
import { getBuffer, getHeader, httpCall, log, logEnabled } from "../abi/host";
import { PluginConfig } from "../config";
import { Metrics } from "../metrics";
import { ActiveRules, decodeRuleSet } from "../rules";
import { backoffMs } from "./backoff";

/** Added to the long-poll wait for the callout timeout (0 would mean no timeout at all). */
const TIMEOUT_MARGIN_MS: u32 = 5_000;
/** A 304 sooner than this means the server is not holding polls; space them out instead of spinning. */
const MIN_POLL_INTERVAL_MS: u64 = 1_000;
const NONE: i64 = -1;

export class Subscriber {
  /** Token of the callout in flight, or NONE. */
  private token: i64 = NONE;
  /** Whether a poll waits for dueAtMs. */
  private due: bool = false;
  private dueAtMs: u64 = 0;
  private sentAtMs: u64 = 0;
  /** Last revision received, applied or rejected: the next poll's `after`. NONE before the first. */
  private revision: i64 = NONE;
  /** Last revision whose rejection was logged, so a bad revision is reported once. */
  private rejectedRevision: i64 = NONE;
  private failures: u32 = 0;

  constructor(
    private readonly config: PluginConfig,
    private readonly rules: ActiveRules,
    private readonly metrics: Metrics,
  ) {}

  /** Schedules the first poll for the first tick; polling from on_configure would run in the canary VM too. */
  start(nowMs: u64): void {
    this.schedule(nowMs);
  }

  onTick(nowMs: u64): void {
    if (this.due && this.token == NONE && nowMs >= this.dueAtMs) this.poll(nowMs);
  }

  onResponse(token: u32, numHeaders: u32, bodySize: usize, nowMs: u64): void {
    if (<i64>token != this.token) return;
    this.token = NONE;
    // No headers: the call failed (reset, timeout, no healthy host).
    const status: string | null =
      numHeaders == 0 ? null : getHeader(MapType.HttpCallResponseHeaders, ":status");
    if (status == null) {
      this.fail(nowMs, "no response");
    } else if (status == "200") {
      if (!this.apply(getBuffer(BufferType.HttpCallResponseBody, bodySize))) {
        this.fail(nowMs, "undecodable rule set");
        return;
      }
      this.recovered();
      this.poll(nowMs);
    } else if (status == "304") {
      this.recovered();
      if (nowMs - this.sentAtMs >= MIN_POLL_INTERVAL_MS) this.poll(nowMs);
      else this.schedule(this.sentAtMs + MIN_POLL_INTERVAL_MS);
    } else {
      this.fail(nowMs, "status " + status);
    }
  }

  /** Milliseconds until the next tick is needed; 0 when no tick is needed. */
  wakeInMs(nowMs: u64): u32 {
    if (!this.due || this.token != NONE) return 0;
    return this.dueAtMs > nowMs ? <u32>min(this.dueAtMs - nowMs, <u64>u32.MAX_VALUE) : 1;
  }

  private poll(nowMs: u64): void {
    this.due = false;
    const config = this.config;
    let path = "/v1/config?";
    if (this.revision != NONE) path += "after=" + this.revision.toString() + "&";
    path += "wait=" + config.pollWaitSeconds.toString();
    const headers = [
      ":method",
      "GET",
      ":path",
      path,
      ":authority",
      config.authority,
      "accept",
      "application/json",
    ];
    const token = httpCall(config.cluster, headers, config.pollWaitSeconds * 1000 + TIMEOUT_MARGIN_MS);
    if (token == NONE) {
      this.fail(nowMs, "Envoy refused the call: is cluster '" + config.cluster + "' defined?");
      return;
    }
    this.token = token;
    this.sentAtMs = nowMs;
  }

  /** Swaps in the rule set in `body`; false when not even its revision could be read. */
  private apply(body: ArrayBuffer | null): bool {
    const decoded = decodeRuleSet(body != null ? body : new ArrayBuffer(0));
    const ruleSet = decoded.ruleSet;
    if (ruleSet != null) {
      this.rules.current = ruleSet;
      this.revision = decoded.revision;
      this.metrics.rulesApplied(ruleSet.revision);
      log(
        LogLevel.Info,
        "applied rule set revision " +
          ruleSet.revision.toString() +
          " (" +
          ruleSet.rules.length.toString() +
          " rules)",
      );
      return true;
    }
    this.metrics.rulesRejected();
    if (decoded.revision == NONE || decoded.revision != this.rejectedRevision) {
      const which =
        decoded.revision == NONE ? "a rule set" : "rule set revision " + decoded.revision.toString();
      log(LogLevel.Error, "rejected " + which + " (" + decoded.error + "); keeping the previous rules");
    }
    if (decoded.revision == NONE) return false;
    // Ask for what comes after the bad revision, or the server would send it again at once.
    this.revision = decoded.revision;
    this.rejectedRevision = decoded.revision;
    return true;
  }

  private fail(nowMs: u64, reason: string): void {
    this.failures++;
    const delay = backoffMs(this.failures);
    const level = this.failures == 1 ? LogLevel.Warn : LogLevel.Debug;
    if (logEnabled(level)) {
      log(
        level,
        "control plane poll failed (" +
          reason +
          "); retry " +
          this.failures.toString() +
          " in " +
          delay.toString() +
          " ms",
      );
    }
    this.schedule(nowMs + delay);
  }

  private recovered(): void {
    if (this.failures > 0) log(LogLevel.Info, "control plane reachable again");
    this.failures = 0;
  }

  private schedule(atMs: u64): void {
    this.due = true;
    this.dueAtMs = atMs;
  }
}
