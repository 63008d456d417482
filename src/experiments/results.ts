/** Sums and differences of observation totals, for an experiment's phases. */
import {
  addInto,
  emptyObservation,
  type ObservationLedger,
  type PolicyObservation,
} from "../observations/index.ts";

/** The totals of `names` summed, as one observation. */
export function totalsOf(ledger: ObservationLedger, names: readonly string[]): PolicyObservation {
  const sum = emptyObservation("");
  for (const name of names) {
    const found = ledger.get(name);
    if (found) addInto(sum, found);
  }
  return sum;
}

/** What was observed between two totals of the same policies (`later` − `earlier`). */
export function difference(later: PolicyObservation, earlier: PolicyObservation): PolicyObservation {
  const statuses: Record<string, number> = {};
  for (const [code, n] of Object.entries(later.statuses)) {
    const d = n - (earlier.statuses[code] ?? 0);
    if (d > 0) statuses[code] = d;
  }
  return {
    name: later.name,
    matched: later.matched - earlier.matched,
    aborts: later.aborts - earlier.aborts,
    delays: later.delays - earlier.delays,
    dryRun: later.dryRun - earlier.dryRun,
    statuses,
    otherStatuses: later.otherStatuses - earlier.otherStatuses,
    latencyBuckets: later.latencyBuckets.map((n, i) => n - (earlier.latencyBuckets[i] ?? 0)),
    latencySumUs: later.latencySumUs - earlier.latencySumUs,
    updatedAt: later.updatedAt,
  };
}
