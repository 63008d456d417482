/**
 * What one worker saw of one policy's traffic since its last report: requests the policy's rule
 * matched (first match, in its share or not), faults injected by kind, the status codes clients got
 * and the latency from request headers to the end of the stream. Counts are deltas: a report takes
 * them and starts them over (reporter.ts). One per policy name, kept with its Envoy counter ids
 * (metrics.ts). All counts live in one u64 array, laid out as the report carries them.
 */

/**
 * Latency buckets by powers of two, so a bucket is one `clz` away: bucket k < 14 counts latencies
 * under 2^k ms (and, but for bucket 0, at least 2^(k−1) ms); bucket 14 everything from 8192 ms on.
 */
const LATENCY_BUCKETS: i32 = 15;
/** Distinct status codes kept per policy and report; later ones count as `otherStatuses`. */
export const MAX_STATUS_CODES: i32 = 16;
/** Status recorded for a stream that ended with no response headers (client or upstream reset). */
export const NO_RESPONSE: u32 = 0;

/** Indexes into `counts` (docs/FILTER.md, "Observations", has the same layout). */
export const MATCHED: i32 = 0;
export const ABORTS: i32 = 1;
export const DELAYS: i32 = 2;
export const DRY_RUN: i32 = 3;
const OTHER_STATUSES: i32 = 4;
const LATENCY_SUM_US: i32 = 5;
const LATENCY: i32 = 6;
const CODES: i32 = LATENCY + LATENCY_BUCKETS;
const CODE_COUNTS: i32 = CODES + MAX_STATUS_CODES;
export const COUNTS: i32 = CODE_COUNTS + MAX_STATUS_CODES;

/** Policy names are DNS-1123 labels, at most 63 bytes (the control plane validates them). */
const MAX_NAME_BYTES: i32 = 63;
/** Bytes of one report entry. */
export const ENTRY_BYTES: i32 = 1 + MAX_NAME_BYTES + COUNTS * 8;
const NS_PER_MS: u64 = 1_000_000;
const NS_PER_US: u64 = 1_000;

export class PolicyStats {
  /** COUNTS u64s, never freed: a policy's stats live as long as its name's Envoy counters. */
  private readonly counts: usize = heap.alloc(COUNTS * 8);
  private codeCount: i32 = 0;
  /** In the reporter's list of stats to report. */
  listed: bool = false;

  constructor(
    /** UTF-8 bytes of the policy name, as the report carries it. */
    readonly nameBytes: ArrayBuffer,
  ) {
    memory.fill(this.counts, 0, COUNTS * 8);
  }

  count(index: i32): void {
    const at = this.counts + ((<usize>index) << 3);
    store<u64>(at, load<u64>(at) + 1);
  }

  /** A matched stream ended with `status` (NO_RESPONSE for none), `latencyNs` after its request headers. */
  recordResponse(status: u32, latencyNs: u64): void {
    const codes = this.counts + ((<usize>CODES) << 3);
    let i = 0;
    while (i < this.codeCount && load<u64>(codes + ((<usize>i) << 3)) != <u64>status) i++;
    if (i == this.codeCount) {
      if (i == MAX_STATUS_CODES) {
        this.count(OTHER_STATUSES);
        i = -1;
      } else {
        store<u64>(codes + ((<usize>i) << 3), status);
        this.codeCount++;
      }
    }
    if (i >= 0) this.count(CODE_COUNTS + i);
    const ms = latencyNs / NS_PER_MS;
    const bucket = min(<i32>(64 - clz(ms)), LATENCY_BUCKETS - 1);
    this.count(LATENCY + bucket);
    const sum = this.counts + ((<usize>LATENCY_SUM_US) << 3);
    store<u64>(sum, load<u64>(sum) + latencyNs / NS_PER_US);
  }

  /**
   * Writes this policy's report entry at `at` — the name's length (one byte), the name zero-padded
   * to MAX_NAME_BYTES, the counts — and starts the counts over.
   */
  takeInto(at: usize): void {
    const name = this.nameBytes;
    const length = min(name.byteLength, MAX_NAME_BYTES);
    store<u8>(at, <u8>length);
    memory.copy(at + 1, changetype<usize>(name), length);
    const counts = this.counts;
    memory.copy(at + 1 + MAX_NAME_BYTES, counts, COUNTS * 8);
    memory.fill(counts, 0, COUNTS * 8);
    this.codeCount = 0;
  }
}

/** Envoy's `:status` is three digits; anything else counts as no response. */
export function statusCode(text: string): u32 {
  if (text.length != 3) return NO_RESPONSE;
  let code: u32 = 0;
  for (let i = 0; i < 3; i++) {
    const digit = <u32>text.charCodeAt(i) - 0x30;
    if (digit > 9) return NO_RESPONSE;
    code = code * 10 + digit;
  }
  return code;
}
