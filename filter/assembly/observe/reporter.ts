/**
 * Reports what the filter observed of each policy's traffic (stats.ts) to the control plane:
 * `POST /v1/observations?node=N&worker=X` with a JSON body of per-policy deltas and a sequence
 * number, on the poll's cluster and token. At most one report per `reportIntervalMs`, only when
 * something changed, at most MAX_REPORT_POLICIES policies each (the rest wait for the next one). A
 * report that fails is sent again as it was, same sequence number, after a backoff: the server
 * counts a sequence number once per worker, so a lost acknowledgement doubles nothing.
 */
import { LogLevel, MapType } from "../abi/enums";
import { getHeader, httpCall, log } from "../abi/host";
import { PluginConfig } from "../config";
import { backoffMs } from "../subscriber/backoff";
import { PolicyStats } from "./stats";

/** Policies per report; with 16 status codes each a report stays under ~64 KiB. */
export const MAX_REPORT_POLICIES: i32 = 64;
const REPORT_TIMEOUT_MS: u32 = 5_000;
const NONE: i64 = -1;

export class Reporter {
  /** Stats changed since they were last reported, each once. */
  private readonly changed: PolicyStats[] = [];
  private token: i64 = NONE;
  /** Body sent and not acknowledged yet; "" when none. */
  private pending: string = "";
  private seq: u64 = 0;
  private dueAtMs: u64 = 0;
  private failures: u32 = 0;
  private readonly headers: string[];

  constructor(
    private readonly config: PluginConfig,
    /** `&node=…&worker=…`, as on the polls. */
    identityQuery: string,
  ) {
    const headers = [
      ":method",
      "POST",
      ":path",
      "/v1/observations?" + identityQuery.substring(1),
      ":authority",
      config.authority,
      "content-type",
      "application/json",
    ];
    if (config.token.length > 0) {
      headers.push("authorization");
      headers.push("Bearer " + config.token);
    }
    this.headers = headers;
  }

  /** `stats` changed; true when the owner must program its timer for a report (none was due). */
  touched(stats: PolicyStats): bool {
    if (stats.listed) return false;
    stats.listed = true;
    const changed = this.changed;
    changed.push(stats);
    return changed.length == 1 && this.pending.length == 0;
  }

  owns(token: u32): bool {
    return <i64>token == this.token;
  }

  /** When (monotonic ms) a report is due, or -1 when none is (nothing to say, or one in flight). */
  nextWakeMs(): i64 {
    if (this.token != NONE || (this.changed.length == 0 && this.pending.length == 0)) return NONE;
    return <i64>this.dueAtMs;
  }

  onTick(nowMs: u64): void {
    if (this.token != NONE || nowMs < this.dueAtMs) return;
    if (this.pending.length == 0) {
      if (this.changed.length == 0) return;
      this.pending = this.takeReport();
    }
    this.dueAtMs = nowMs + this.config.reportIntervalMs;
    const token = httpCall(
      this.config.cluster,
      this.headers,
      REPORT_TIMEOUT_MS,
      String.UTF8.encode(this.pending),
    );
    if (token == NONE) this.fail(nowMs, "Envoy refused the call");
    else this.token = token;
  }

  onResponse(numHeaders: u32, nowMs: u64): void {
    this.token = NONE;
    const status: string | null =
      numHeaders == 0 ? null : getHeader(MapType.HttpCallResponseHeaders, ":status");
    if (status != null && status.length == 3 && status.charAt(0) == "2") {
      this.pending = "";
      if (this.failures > 0) log(LogLevel.Info, "observation reports accepted again");
      this.failures = 0;
      return;
    }
    if (status == "400") {
      // Refused as malformed: it would be refused again, and would hold back every later report.
      log(LogLevel.Error, "observation report refused (status 400); dropped");
      this.pending = "";
      return;
    }
    this.fail(nowMs, status == null ? "no response" : "status " + status);
  }

  /** The next report's body: the counts of up to MAX_REPORT_POLICIES changed policies, taken. */
  private takeReport(): string {
    const changed = this.changed;
    let entries = "";
    for (let taken = 0; taken < MAX_REPORT_POLICIES && changed.length > 0; taken++) {
      const stats = changed.pop();
      stats.listed = false;
      if (taken > 0) entries += ",";
      entries += stats.takeJson();
    }
    this.seq++;
    return '{"seq":' + this.seq.toString() + ',"policies":[' + entries + "]}";
  }

  private fail(nowMs: u64, reason: string): void {
    this.failures++;
    if (this.failures == 1)
      log(LogLevel.Warn, "observation report failed (" + reason + "); it is sent again");
    this.dueAtMs = nowMs + max(<u64>this.config.reportIntervalMs, backoffMs(this.failures));
  }
}
