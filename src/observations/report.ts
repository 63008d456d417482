/**
 * The filter's observation report (`POST /v1/observations`, docs/FILTER.md "Observations"): per
 * policy, the deltas since the worker's previous report, numbered by `seq`. Binary, little-endian,
 * as the filter lays its counters out in memory (filter/assembly/observe/stats.ts):
 *
 *   u32 magic "HFO1", u32 entry count, u64 seq, then per entry:
 *   u8 name length, 63 bytes of name (zero-padded), 53 × u64:
 *   matched, aborts, delays, dryRun, otherStatuses, latencySumUs, 15 latency buckets,
 *   16 status codes, 16 counts (a code counts only when its count is not 0).
 */
import { HfiError } from "../store/index.ts";

/**
 * Exclusive upper bounds, in ms, of the latency buckets: bucket k counts latencies under 2^k ms; a
 * last bucket counts everything from 8192 ms on.
 */
export const LATENCY_BOUNDS_MS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192] as const;
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;
/** A report holds at most this many policies (the filter sends 64). */
export const MAX_REPORT_POLICIES = 256;
export const MAGIC = 0x314f4648;
export const HEADER_BYTES = 16;
export const MAX_NAME_BYTES = 63;
export const STATUS_CODES = 16;
const COUNTS = 6 + LATENCY_BUCKETS + 2 * STATUS_CODES;
export const ENTRY_BYTES = 1 + MAX_NAME_BYTES + COUNTS * 8;
/** Largest report body accepted, in bytes. */
export const MAX_REPORT_BYTES = HEADER_BYTES + MAX_REPORT_POLICIES * ENTRY_BYTES;

export interface PolicyReport {
  name: string;
  matched: number;
  aborts: number;
  delays: number;
  dryRun: number;
  /** By status code; "0": streams that ended without a response. */
  statuses: Record<string, number>;
  otherStatuses: number;
  latencyBuckets: number[];
  latencySumUs: number;
}

export interface Report {
  seq: number;
  policies: PolicyReport[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a report body; InvalidInput naming what is wrong otherwise. */
export function parseReport(bytes: Uint8Array): Report {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < HEADER_BYTES || view.getUint32(0, true) !== MAGIC) {
    invalid("body", "not an observation report (no HFO1 header)");
  }
  const count = view.getUint32(4, true);
  const seq = Number(view.getBigUint64(8, true));
  if (count > MAX_REPORT_POLICIES) invalid("count", `must be at most ${MAX_REPORT_POLICIES}`);
  if (bytes.byteLength !== HEADER_BYTES + count * ENTRY_BYTES) {
    invalid("body", `must be ${HEADER_BYTES + count * ENTRY_BYTES} bytes for ${count} entries`);
  }
  if (seq < 1 || !Number.isSafeInteger(seq)) invalid("seq", "must be a positive integer");
  const policies: PolicyReport[] = [];
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * ENTRY_BYTES;
    const length = view.getUint8(at);
    let name = "";
    try {
      name = utf8.decode(bytes.subarray(at + 1, at + 1 + Math.min(length, MAX_NAME_BYTES)));
    } catch {
      invalid(`policies[${i}].name`, "must be UTF-8");
    }
    if (length === 0 || length > MAX_NAME_BYTES) invalid(`policies[${i}].name`, "must be 1 to 63 bytes");
    const counts = Array.from({ length: COUNTS }, (_, k) => {
      const n = Number(view.getBigUint64(at + 1 + MAX_NAME_BYTES + k * 8, true));
      if (!Number.isSafeInteger(n)) invalid(`policies[${i}]`, "counts must be below 2^53");
      return n;
    });
    const statuses: Record<string, number> = {};
    const codes = 6 + LATENCY_BUCKETS;
    for (let k = 0; k < STATUS_CODES; k++) {
      const n = counts[codes + STATUS_CODES + k] ?? 0;
      if (n === 0) continue;
      const code = counts[codes + k] ?? 0;
      if (code > 999) invalid(`policies[${i}].statuses`, "must be status codes");
      statuses[code] = (statuses[code] ?? 0) + n;
    }
    policies.push({
      name,
      matched: counts[0] ?? 0,
      aborts: counts[1] ?? 0,
      delays: counts[2] ?? 0,
      dryRun: counts[3] ?? 0,
      otherStatuses: counts[4] ?? 0,
      latencySumUs: counts[5] ?? 0,
      latencyBuckets: counts.slice(6, 6 + LATENCY_BUCKETS),
      statuses,
    });
  }
  return { seq, policies };
}

function invalid(path: string, message: string): never {
  throw new HfiError("InvalidInput", `invalid observation report: ${path}: ${message}`, [{ path, message }]);
}
