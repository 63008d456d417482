/**
 * Bodies of API answers that the server's routes write and the client reads, so neither side
 * imports the other. Policies and their lists are the store's types (`StoredPolicy`, `PolicyList`).
 */
import type { Subscriber } from "./distributor/index.ts";
import type { Experiment } from "./experiments/index.ts";
import type { ObservationSummary, PolicyObservation } from "./observations/index.ts";
import type { PolicyInput } from "./policy/index.ts";
import type { Halt } from "./store/index.ts";

/** The body of every `/v1/halt` answer. */
export type HaltStatus = ({ halted: true } & Halt) | { halted: false; lifted?: Halt; revision?: number };

/** The body of `GET /v1/status/proxies`. */
export interface ProxiesStatus {
  /** The revision of the RuleSet this replica serves now. */
  revision: number;
  /** That RuleSet's identity (its ETag). */
  id: string;
  /** Whether that RuleSet is halted. */
  halted: boolean;
  /**
   * The subscribers that have long-polled this replica, sorted by node and worker; the revision of
   * one that has the current rules (same identity) is the current revision.
   */
  proxies: Subscriber[];
}

/** One policy in `GET /v1/observations[/{name}]`: its totals and the summary computed from them. */
export type PolicyObservationView = PolicyObservation & { summary: ObservationSummary };

/** The body of `GET /v1/observations`. */
export interface ObservationsList {
  /** Every policy observed, sorted by name. */
  policies: PolicyObservationView[];
}

/** The body of `GET /v1/experiments`. */
export interface ExperimentList {
  /** Oldest first. */
  items: Experiment[];
}

/** The body of `POST /v1/experiments`, as a client writes it. */
export interface ExperimentSpec {
  name?: string;
  policies: PolicyInput[];
  /** Whole seconds, e.g. `30s`. */
  duration: string;
  baseline?: string;
  stopConditions?: { metric: string; threshold: number; for?: string }[];
}
