/**
 * Figures a Recommender scores, computed from observation totals (ledger.ts): requests, injected,
 * error rate, latency percentiles from the histogram (the upper bound of the bucket the rank falls
 * in, so within one bucket of the truth; null past the last bound), mean latency, dominant status.
 */
import type { PolicyObservation } from "./ledger.ts";
import { LATENCY_BOUNDS_MS } from "./report.ts";

export interface ObservationSummary {
  /** Requests the policy matched. */
  requests: number;
  /** Faults injected: aborts plus delays (a delay-then-abort counts in both). */
  injected: number;
  /** Requests a dry-run rule of the policy would have faulted. */
  dryRunMatches: number;
  /** Responses (and resets) observed, by status code. */
  statusCounts: Record<string, number>;
  /** Share of observed responses with a 5xx status or none (a reset); 0 when none was observed. */
  errorRate: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; mean: number | null };
  /** The most frequent status code, or null when none was observed. */
  dominantStatus: number | null;
}

export function summarize(o: PolicyObservation): ObservationSummary {
  const responses = Object.values(o.statuses).reduce((a, b) => a + b, 0) + o.otherStatuses;
  let errors = 0;
  let dominant: [string, number] | undefined;
  for (const [code, n] of Object.entries(o.statuses)) {
    const status = Number(code);
    if (status === 0 || status >= 500) errors += n;
    if (!dominant || n > dominant[1] || (n === dominant[1] && status < Number(dominant[0])))
      dominant = [code, n];
  }
  const observed = o.latencyBuckets.reduce((a, b) => a + b, 0);
  return {
    requests: o.matched,
    injected: o.aborts + o.delays,
    dryRunMatches: o.dryRun,
    statusCounts: { ...o.statuses },
    errorRate: responses === 0 ? 0 : errors / responses,
    latencyMs: {
      p50: percentile(o.latencyBuckets, 0.5),
      p95: percentile(o.latencyBuckets, 0.95),
      p99: percentile(o.latencyBuckets, 0.99),
      mean: observed === 0 ? null : o.latencySumUs / observed / 1000,
    },
    dominantStatus: dominant ? Number(dominant[0]) : null,
  };
}

/** The upper bound (ms) of the bucket holding the `q` quantile; null if none or past the last bound. */
export function percentile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] ?? 0;
    if (seen >= rank) return LATENCY_BOUNDS_MS[i] ?? null;
  }
  return null;
}
