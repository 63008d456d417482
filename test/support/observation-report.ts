/** Observation reports as the filter encodes them (src/observations/report.ts has the format). */
import {
  ENTRY_BYTES,
  HEADER_BYTES,
  MAGIC,
  MAX_NAME_BYTES,
  type Report,
  STATUS_CODES,
} from "../../src/observations/report.ts";

/** The bytes of `report` as the filter sends them. */
export function encodeReport(report: Report): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + report.policies.length * ENTRY_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, report.policies.length, true);
  view.setBigUint64(8, BigInt(report.seq), true);
  report.policies.forEach((p, i) => {
    const at = HEADER_BYTES + i * ENTRY_BYTES;
    const name = new TextEncoder().encode(p.name);
    view.setUint8(at, name.length);
    bytes.set(name.subarray(0, MAX_NAME_BYTES), at + 1);
    const codes = Object.entries(p.statuses);
    const counts = [
      p.matched,
      p.aborts,
      p.delays,
      p.dryRun,
      p.otherStatuses,
      p.latencySumUs,
      ...p.latencyBuckets,
      ...Array.from({ length: STATUS_CODES }, (_, k) => Number(codes[k]?.[0] ?? 0)),
      ...Array.from({ length: STATUS_CODES }, (_, k) => codes[k]?.[1] ?? 0),
    ];
    counts.forEach((n, k) => {
      view.setBigUint64(at + 1 + MAX_NAME_BYTES + k * 8, BigInt(n), true);
    });
  });
  return bytes;
}
