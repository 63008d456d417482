/**
 * What the filters observed, summed across every proxy and worker reporting to this replica
 * (docs/FILTER.md "Observations"). Reports are deltas numbered per worker: one whose `seq` is not
 * above the worker's last is a resend already counted, and is ignored. Bounded: at most MAX_WORKERS
 * workers' last sequence numbers and MAX_POLICIES policies, the least recently reported dropped first.
 */
import { LATENCY_BUCKETS, type PolicyReport, type Report } from "./report.ts";

const MAX_WORKERS = 10_000;
const MAX_POLICIES = 10_000;
/** Distinct status codes kept per policy; the rest count in `otherStatuses`. */
const MAX_STATUS_CODES = 64;

/** One policy's totals: the counts a report carries, summed. */
export interface PolicyObservation extends PolicyReport {
  /** When a report last changed it (ISO 8601). */
  updatedAt: string;
}

export interface ObservationLedger {
  /** Folds in a report of worker `worker` of `node`; false when it was a resend (already counted). */
  record(node: string, worker: string, report: Report): boolean;
  get(name: string): PolicyObservation | undefined;
  list(): PolicyObservation[];
  /** Calls `listener` after each report counted; returns a function that stops calling it. */
  onChange(listener: () => void): () => void;
}

export function emptyObservation(name: string): PolicyObservation {
  return {
    name,
    matched: 0,
    aborts: 0,
    delays: 0,
    dryRun: 0,
    statuses: {},
    otherStatuses: 0,
    latencyBuckets: Array.from({ length: LATENCY_BUCKETS }, () => 0),
    latencySumUs: 0,
    updatedAt: new Date(0).toISOString(),
  };
}

export function createObservationLedger(now: () => Date = () => new Date()): ObservationLedger {
  /** Last sequence number by `node worker`, in least-recently-reported order. */
  const lastSeq = new Map<string, number>();
  /** Totals by policy name, in least-recently-reported order. */
  const policies = new Map<string, PolicyObservation>();
  const listeners = new Set<() => void>();

  return {
    record(node, worker, report) {
      const key = `${node} ${worker}`;
      const last = lastSeq.get(key) ?? 0;
      if (report.seq <= last) return false;
      lastSeq.delete(key);
      lastSeq.set(key, report.seq);
      evictOldest(lastSeq, MAX_WORKERS);
      const at = now().toISOString();
      for (const delta of report.policies) {
        const total = policies.get(delta.name) ?? emptyObservation(delta.name);
        policies.delete(delta.name);
        policies.set(delta.name, total);
        addInto(total, delta);
        total.updatedAt = at;
      }
      evictOldest(policies, MAX_POLICIES);
      for (const listener of [...listeners]) listener();
      return true;
    },
    get(name) {
      const found = policies.get(name);
      return found && structuredClone(found);
    },
    list() {
      return [...policies.values()]
        .map((p) => structuredClone(p))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

/** Adds `delta`'s counts into `total` (also used to sum replicas' totals). */
export function addInto(
  total: PolicyObservation,
  delta: Omit<PolicyObservation, "updatedAt" | "name">,
): void {
  total.matched += delta.matched;
  total.aborts += delta.aborts;
  total.delays += delta.delays;
  total.dryRun += delta.dryRun;
  total.otherStatuses += delta.otherStatuses;
  total.latencySumUs += delta.latencySumUs;
  delta.latencyBuckets.forEach((n, i) => {
    total.latencyBuckets[i] = (total.latencyBuckets[i] ?? 0) + n;
  });
  for (const [code, n] of Object.entries(delta.statuses)) {
    if (code in total.statuses || Object.keys(total.statuses).length < MAX_STATUS_CODES) {
      total.statuses[code] = (total.statuses[code] ?? 0) + n;
    } else {
      total.otherStatuses += n;
    }
  }
}

function evictOldest<K, V>(map: Map<K, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
