/**
 * Bodies of API answers that the server's routes write and the client reads, so neither side
 * imports the other. Policies and their lists are the store's types (`StoredPolicy`, `PolicyList`).
 */

import type { Experiment } from "./experiments/index.ts";
import type { FleetProxy } from "./fleet/index.ts";
import type { ObservationSummary, PolicyObservation } from "./observations/index.ts";
import type { PolicyInput } from "./policy/index.ts";
import type { Halt } from "./store/index.ts";

/** The body of every `/v1/halt` answer. */
export type HaltStatus = ({ halted: true } & Halt) | { halted: false; lifted?: Halt; revision?: number };

/** One subscriber in `GET /v1/status/proxies`: a proxy worker and the replica its latest poll went to. */
export interface ProxyStatus extends FleetProxy {
  /**
   * The identity of the RuleSet served to this proxy now: the policies whose selector picks it.
   * Absent from servers before selectors, which served every proxy the fleet-wide `id`.
   */
  servedId?: string;
}

/** The body of `GET /v1/status/proxies`. */
export interface ProxiesStatus {
  /** The revision of the RuleSet this replica serves now. */
  revision: number;
  /** The identity (ETag) of the fleet-wide RuleSet, every policy whatever its selector. */
  id: string;
  /** Whether that RuleSet is halted. */
  halted: boolean;
  /**
   * Every proxy worker polling any live replica, once, sorted by node and worker, with who each says
   * it is and the replica it polls; the revision of one that has the rules served to it now
   * (`servedId`) is the current revision.
   */
  proxies: ProxyStatus[];
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

/** The body of `GET /v1/status`. */
export interface FleetStatus {
  /** The revision of the RuleSet this replica serves now. */
  revision: number;
  /** Whether that RuleSet is halted. */
  halted: boolean;
  /** The replica that answered. */
  replica: string;
  /** The replica that runs the singleton duties; null while there is none (during a failover). */
  leader: string | null;
  /** Every live replica, sorted. */
  replicas: string[];
}
