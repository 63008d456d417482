/**
 * Reports what the filter observed of each policy's traffic (stats.ts) to the control plane:
 * `POST /v1/observations?node=N&worker=X` with a binary body of per-policy deltas and a sequence
 * number (docs/FILTER.md, "Observations"), on the poll's cluster and token. At most one report per `reportIntervalMs`, only when
 * something changed, at most MAX_REPORT_POLICIES policies each (the rest wait for the next one). A
 * report that fails is sent again as it was, same sequence number, after a backoff: the server
 * counts a sequence number once per worker, so a lost acknowledgement doubles nothing.
 */
import { LogLevel, MapType } from "../abi/enums";
import { getHeader, httpCall, log } from "../abi/host";
import { controlPlaneHeaders, PluginConfig } from "../config";
import { backoffMs } from "../subscriber/backoff";
import { ENTRY_BYTES, PolicyStats } from "./stats";

/** Policies per report: at most ~44 KiB of report. */
export const MAX_REPORT_POLICIES: i32 = 64;
/** "HFO1" little-endian: what the server checks first. */
const REPORT_MAGIC: u32 = 0x314f4648;
const REPORT_HEADER_BYTES: i32 = 16;
const REPORT_TIMEOUT_MS: u32 = 5_000;
const NONE: i64 = -1;

export class Reporter {
  /** Stats changed since they were last reported, each once. */
  private readonly changed: PolicyStats[] = [];
  private token: i64 = NONE;
  /** Body sent and not acknowledged yet; null when none. */
  private pending: ArrayBuffer | null = null;
  private seq: u64 = 0;
  private dueAtMs: u64 = 0;
  private failures: u32 = 0;
  private readonly headers: string[];

  constructor(
    private readonly config: PluginConfig,
    /** `&node=…&worker=…`, as on the polls. */
    identityQuery: string,
  ) {
    const headers = controlPlaneHeaders(config, "POST");
    headers[3] = "/v1/observations?" + identityQuery.substring(1);
    this.headers = headers;
  }

  /** `stats` changed: it goes in the next report. */
  touched(stats: PolicyStats): void {
    if (stats.listed) return;
    stats.listed = true;
    this.changed.push(stats);
  }

  owns(token: u32): bool {
    return <i64>token == this.token;
  }

  /**
   * When (monotonic ms) the reporter next looks for something to report: every interval, so the
   * request path never touches the timer; -1 while a report is in flight.
   */
  nextWakeMs(): i64 {
    return this.token != NONE ? NONE : <i64>this.dueAtMs;
  }

  onTick(nowMs: u64): void {
    if (this.token != NONE || nowMs < this.dueAtMs) return;
    this.dueAtMs = nowMs + this.config.reportIntervalMs;
    let body = this.pending;
    if (body == null) {
      if (this.changed.length == 0) return;
      body = this.takeReport();
      this.pending = body;
    }
    const token = httpCall(this.config.cluster, this.headers, REPORT_TIMEOUT_MS, body);
    if (token == NONE) this.fail(nowMs);
    else this.token = token;
  }

  onResponse(numHeaders: u32, nowMs: u64): void {
    this.token = NONE;
    const status: string | null =
      numHeaders == 0 ? null : getHeader(MapType.HttpCallResponseHeaders, ":status");
    if (status == "200" || status == "400") {
      // A 400 would be refused again, and would hold back every later report: it is dropped.
      this.pending = null;
      this.failures = 0;
      return;
    }
    this.fail(nowMs);
  }

  /**
   * The next report's body (docs/FILTER.md, "Observations"): magic, entry count, `seq`, then the
   * entries of up to MAX_REPORT_POLICIES changed policies, whose counts it takes.
   */
  private takeReport(): ArrayBuffer {
    const changed = this.changed;
    const n = min(changed.length, MAX_REPORT_POLICIES);
    const body = new ArrayBuffer(REPORT_HEADER_BYTES + n * ENTRY_BYTES);
    const start = changetype<usize>(body);
    this.seq++;
    store<u32>(start, REPORT_MAGIC);
    store<u32>(start, <u32>n, 4);
    store<u64>(start, this.seq, 8);
    for (let i = 0; i < n; i++) {
      const stats = changed.pop();
      stats.listed = false;
      stats.takeInto(start + REPORT_HEADER_BYTES + i * ENTRY_BYTES);
    }
    return body;
  }

  private fail(nowMs: u64): void {
    this.failures++;
    if (this.failures == 1) log(LogLevel.Warn, "observation report failed; retrying");
    this.dueAtMs = nowMs + max(<u64>this.config.reportIntervalMs, backoffMs(this.failures));
  }
}
