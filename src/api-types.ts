/**
 * Bodies of API answers that the server's routes write and the client reads, so neither side
 * imports the other. Policies and their lists are the store's types (`StoredPolicy`, `PolicyList`).
 */
import type { Subscriber } from "./distributor/index.ts";
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
