/**
 * What one worker saw of one policy's traffic since its last report: requests the policy's rule
 * matched (first match, in its share or not), faults injected by kind, upstream status codes and
 * the latency from request headers to the end of the stream. Counts are deltas: a report takes them
 * and starts them over (reporter.ts). One per policy name, kept with its Envoy counters (metrics.ts).
 */

/** Upper bounds, in ms, of the latency histogram's buckets; one more bucket counts everything above. */
export const LATENCY_BOUNDS_MS: StaticArray<u64> = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000,
];
const LATENCY_BUCKETS: i32 = 15;
/** Distinct status codes kept per policy and report; later ones count as `otherStatuses`. */
export const MAX_STATUS_CODES: i32 = 16;
/** Status recorded for a stream that ended with no response headers (client or upstream reset). */
export const NO_RESPONSE: u32 = 0;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_US: u64 = 1_000;

export class PolicyStats {
  matched: u64 = 0;
  aborts: u64 = 0;
  delays: u64 = 0;
  dryRun: u64 = 0;
  private readonly codes: StaticArray<u32> = new StaticArray<u32>(MAX_STATUS_CODES);
  private readonly codeCounts: StaticArray<u64> = new StaticArray<u64>(MAX_STATUS_CODES);
  private codeCount: i32 = 0;
  private otherStatuses: u64 = 0;
  private readonly latency: StaticArray<u64> = new StaticArray<u64>(LATENCY_BUCKETS);
  private latencySumUs: u64 = 0;
  /** In the reporter's list of stats to report. */
  listed: bool = false;

  constructor(readonly name: string) {}

  /** A matched stream ended with `status` (NO_RESPONSE for none), `latencyNs` after its request headers. */
  recordResponse(status: u32, latencyNs: u64): void {
    const codes = this.codes;
    let i = 0;
    while (i < this.codeCount && unchecked(codes[i]) != status) i++;
    if (i < this.codeCount) {
      unchecked((this.codeCounts[i] += 1));
    } else if (i < MAX_STATUS_CODES) {
      unchecked((codes[i] = status));
      unchecked((this.codeCounts[i] = 1));
      this.codeCount++;
    } else {
      this.otherStatuses++;
    }
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS - 1 && latencyNs > unchecked(LATENCY_BOUNDS_MS[bucket]) * NS_PER_MS)
      bucket++;
    unchecked((this.latency[bucket] += 1));
    this.latencySumUs += latencyNs / NS_PER_US;
  }

  /** This policy's entry in a report (docs/FILTER.md, "Observations"); the counts start over. */
  takeJson(): string {
    // Policy names are DNS-1123 labels (the control plane validates them): nothing to escape.
    let out = '{"name":"' + this.name + '"';
    out += ',"matched":' + this.matched.toString();
    out += ',"aborts":' + this.aborts.toString();
    out += ',"delays":' + this.delays.toString();
    out += ',"dryRun":' + this.dryRun.toString();
    out += ',"statuses":{';
    for (let i = 0; i < this.codeCount; i++) {
      if (i > 0) out += ",";
      out += '"' + unchecked(this.codes[i]).toString() + '":' + unchecked(this.codeCounts[i]).toString();
    }
    out += '},"otherStatuses":' + this.otherStatuses.toString();
    out += ',"latencyBuckets":[';
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      if (i > 0) out += ",";
      out += unchecked(this.latency[i]).toString();
      unchecked((this.latency[i] = 0));
    }
    out += '],"latencySumUs":' + this.latencySumUs.toString() + "}";
    this.matched = 0;
    this.aborts = 0;
    this.delays = 0;
    this.dryRun = 0;
    this.codeCount = 0;
    this.otherStatuses = 0;
    this.latencySumUs = 0;
    return out;
  }
}
