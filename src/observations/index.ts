export { type PeerTotals, withPeerTotals } from "./fleet-sum.ts";
export {
  addInto,
  createObservationLedger,
  emptyObservation,
  type ObservationLedger,
  type PolicyObservation,
} from "./ledger.ts";
export {
  ENTRY_BYTES,
  LATENCY_BOUNDS_MS,
  LATENCY_BUCKETS,
  MAX_REPORT_BYTES,
  MAX_REPORT_POLICIES,
  type PolicyReport,
  parseReport,
  type Report,
} from "./report.ts";
export { type ObservationSummary, percentile, summarize } from "./summary.ts";
