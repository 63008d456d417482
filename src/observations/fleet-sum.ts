/**
 * Observations summed across replicas: this replica's own ledger (the reports posted to it) plus
 * the totals other replicas published (src/fleet/observations.ts). Reports are counted in the own
 * ledger; every read is the sum.
 */
import { addInto, emptyObservation, type ObservationLedger, type PolicyObservation } from "./ledger.ts";

/** Other replicas' totals, one map (by policy name) per replica. */
export type PeerTotals = () => Iterable<ReadonlyMap<string, PolicyObservation>>;

export function withPeerTotals(own: ObservationLedger, peers: PeerTotals): ObservationLedger {
  function sumOf(name: string, mine: PolicyObservation | undefined): PolicyObservation | undefined {
    let sum = mine;
    for (const totals of peers()) {
      const theirs = totals.get(name);
      if (!theirs) continue;
      sum ??= emptyObservation(name);
      addInto(sum, theirs);
      if (theirs.updatedAt > sum.updatedAt) sum.updatedAt = theirs.updatedAt;
    }
    return sum;
  }

  return {
    record: (node, worker, report) => own.record(node, worker, report),
    onChange: (listener) => own.onChange(listener),
    get: (name) => sumOf(name, own.get(name)),
    list() {
      const names = new Set(own.list().map((o) => o.name));
      for (const totals of peers()) for (const name of totals.keys()) names.add(name);
      return [...names]
        .sort((a, b) => a.localeCompare(b))
        .map((name) => sumOf(name, own.get(name)) as PolicyObservation);
    },
  };
}
