/**
 * Long-polls the control plane for rule sets: GET /v1/config?after=REV&id=ETAG&wait=W&node=N&worker=X
 * on the configured cluster (asking for `after=REV&id=ETAG` acknowledges that rule set; see
 * identity.ts), with `authorization: Bearer <token>` when the plugin configuration has a token.
 * The ETag of the response that brought a rule set is its identity (src/ruleset/identity.ts): the
 * server holds the poll while it serves that identity and answers at once with anything else, so a
 * revision number a restarted server reuses for other rules cannot strand the filter.
 * 200 → decode, swap, poll again at once; 200 with the identity already held (a cache or proxy that
 * drops the query) → nothing to apply, spaced like a 304; 304 → poll again, at most once a second;
 * anything else → retry after a jittered exponential backoff. The owner drives it with ticks and
 * reads nextWakeMs() to program the timer, so nothing ticks for it while a poll is in flight. A body
 * over MAX_RULESET_BYTES is refused unread; a rejected rule set's revision comes from its body or,
 * failing that, its ETag (servers before identities sent the revision there).
 */
import { BufferType, LogLevel, MapType } from "../abi/enums";
import { getHeader, httpCall, log, logEnabled, readBuffer } from "../abi/host";
import { HostBlock } from "../abi/memory";
import { controlPlaneHeaders, PluginConfig } from "../config";
import { Metrics } from "../metrics";
import { ActiveRules, Decoded, decodeRuleSet } from "../rules";
import { backoffMs } from "./backoff";
import { Identity, percentEncode } from "./identity";

/** Added to the long-poll wait for the callout timeout (0 would mean no timeout at all). */
const TIMEOUT_MARGIN_MS: u32 = 5_000;
/**
 * A 304, or a 200 with nothing new, sooner than this means the server is not holding polls; space
 * them out instead of spinning.
 */
const MIN_POLL_INTERVAL_MS: u64 = 1_000;
const NONE: i64 = -1;
/** Largest rule set body accepted (4 MiB); a bigger one is rejected without being read. */
export const MAX_RULESET_BYTES: usize = 4 << 20;

export class Subscriber {
  /** Token of the callout in flight, or NONE. */
  private token: i64 = NONE;
  /** Whether a poll waits for dueAtMs. */
  private due: bool = false;
  private dueAtMs: u64 = 0;
  private sentAtMs: u64 = 0;
  /** Last revision received, applied or rejected: the next poll's `after`. NONE before the first. */
  private revision: i64 = NONE;
  /** Identity (ETag, without W/ and quotes) of the last rule set received, applied or rejected; "" if none. */
  private ruleSetId: string = "";
  /** Identity, or revision, of the last rule set whose rejection was logged, so it is reported once. */
  private rejectedKey: string = "";
  private failures: u32 = 0;
  /** The response body, decoded where the host wrote it and freed right after. */
  private readonly body: HostBlock = new HostBlock();
  /** `&node=…&worker=…`, the same on every poll. */
  private readonly identityQuery: string;
  /** The poll's headers as name, value pairs; `:path` (index 3) is set per poll. */
  private readonly headers: string[];

  constructor(
    private readonly config: PluginConfig,
    private readonly rules: ActiveRules,
    private readonly metrics: Metrics,
    identity: Identity,
  ) {
    this.identityQuery = identity.query();
    const headers = controlPlaneHeaders(config, "GET");
    this.headers = headers;
  }

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
      const id = etagValue();
      if (id.length > 0 && id == this.ruleSetId) {
        // What it has already: not applied again, and not asked for again at once.
        this.recovered();
        this.pollSpaced(nowMs);
        return;
      }
      if (!this.apply(bodySize, id)) {
        this.fail(nowMs, "undecodable rule set");
        return;
      }
      this.recovered();
      this.poll(nowMs);
    } else if (status == "304") {
      this.recovered();
      this.pollSpaced(nowMs);
    } else if (status == "401" || status == "403") {
      const hint = this.config.token.length > 0 ? "the token was refused" : "no token configured";
      this.fail(nowMs, "status " + status + ", " + hint);
    } else {
      this.fail(nowMs, "status " + status);
    }
  }

  /** When (monotonic ms) the subscriber next needs a tick, or -1 when it needs none. */
  nextWakeMs(): i64 {
    return this.due && this.token == NONE ? <i64>this.dueAtMs : NONE;
  }

  /** Polls now, or one MIN_POLL_INTERVAL_MS after the last poll was sent if that is later. */
  private pollSpaced(nowMs: u64): void {
    if (nowMs - this.sentAtMs >= MIN_POLL_INTERVAL_MS) this.poll(nowMs);
    else this.schedule(this.sentAtMs + MIN_POLL_INTERVAL_MS);
  }

  private poll(nowMs: u64): void {
    this.due = false;
    const config = this.config;
    let path = "/v1/config?";
    if (this.revision != NONE) path += "after=" + this.revision.toString() + "&";
    if (this.ruleSetId.length > 0) path += "id=" + percentEncode(this.ruleSetId) + "&";
    path += "wait=" + config.pollWaitSeconds.toString() + this.identityQuery;
    const headers = this.headers;
    headers[3] = path;
    const token = httpCall(config.cluster, headers, config.pollWaitSeconds * 1000 + TIMEOUT_MARGIN_MS);
    if (token == NONE) {
      this.fail(nowMs, "Envoy refused the call: is cluster '" + config.cluster + "' defined?");
      return;
    }
    this.token = token;
    this.sentAtMs = nowMs;
  }

  /**
   * Swaps in the rule set in the response body, whose ETag gave identity `id` ("" without one);
   * false when it is rejected and neither its revision nor its identity could be read.
   */
  private apply(bodySize: usize, id: string): bool {
    let decoded: Decoded;
    if (bodySize > MAX_RULESET_BYTES) {
      decoded = new Decoded();
      decoded.error = "body of " + bodySize.toString() + " bytes exceeds the 4 MiB limit";
    } else {
      const body = this.body;
      decoded = readBuffer(BufferType.HttpCallResponseBody, bodySize, body)
        ? decodeRuleSet(body.ptr, body.len)
        : decodeRuleSet(0, 0);
      body.free();
    }
    const ruleSet = decoded.ruleSet;
    if (ruleSet != null) {
      this.metrics.bind(ruleSet);
      this.rules.current = ruleSet;
      this.revision = decoded.revision;
      this.ruleSetId = id;
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
    const revision = decoded.revision != NONE ? decoded.revision : revisionIn(id);
    const key = id.length > 0 ? id : revision != NONE ? revision.toString() : "";
    if (key.length == 0 || key != this.rejectedKey) {
      const which = revision == NONE ? "a rule set" : "rule set revision " + revision.toString();
      log(LogLevel.Error, "rejected " + which + " (" + decoded.error + "); keeping the previous rules");
    }
    if (key.length == 0) return false;
    // Ask for what comes after the bad rule set, or the server would send it again at once.
    if (revision != NONE) this.revision = revision;
    this.ruleSetId = id;
    this.rejectedKey = key;
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

/** Longest ETag value kept as an identity; ours are 16 hex digits. */
const MAX_ID_LENGTH: i32 = 64;

/** The response's ETag without `W/` and quotes (`W/"3f…"` → `3f…`); "" when absent or too long. */
function etagValue(): string {
  const etag = getHeader(MapType.HttpCallResponseHeaders, "etag");
  if (etag == null) return "";
  let start = etag.startsWith("W/") ? 2 : 0;
  let end = etag.length;
  if (end - start >= 2 && etag.charCodeAt(start) == 0x22 && etag.charCodeAt(end - 1) == 0x22) {
    start++;
    end--;
  }
  if (end - start > MAX_ID_LENGTH) return "";
  return etag.substring(start, end);
}

/** The revision an ETag value holds when it is a decimal number (servers before identities), or -1. */
function revisionIn(value: string): i64 {
  if (value.length == 0 || value.length > 15) return NONE;
  let result: i64 = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return NONE;
    result = result * 10 + digit;
  }
  return result;
}
