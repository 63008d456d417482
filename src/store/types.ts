import type { Policy } from "../policy/index.ts";
import type { StoreNamespaces } from "./namespaces.ts";

/**
 * A policy as the store holds it: the server-set metadata (and its namespace) is always present, and `status.expiresAt`
 * is set exactly when `spec.duration` is (the time of the last write plus the duration).
 */
export type StoredPolicy = Policy & { metadata: Required<Policy["metadata"]> };

export interface PutResult {
  policy: StoredPolicy;
  /** False when an existing policy was updated (or left as it was). */
  created: boolean;
}

export interface PolicyList {
  /** Sorted by namespace, then name. */
  items: StoredPolicy[];
  /** The store revision this list was read at. */
  revision: number;
}

/** The fleet-wide halt (`hfi halt`): while it is in force the filter injects nothing. */
export interface Halt {
  /** As given by whoever halted; "" when none was given. */
  reason: string;
  /** Who halted, as their client said (self-reported), or where the request came from; absent if unknown. */
  by?: string;
  /** When the halt took effect, RFC 3339. */
  since: string;
  /** The store revision at which it took effect. */
  revision: number;
}

/** What `hfi halt` asks for. */
export interface HaltRequest {
  reason?: string;
  by?: string;
}

/** Everything the RuleSet is compiled from, read at one revision. */
export interface StoreState extends PolicyList {
  halt: Halt | undefined;
}

export interface PolicyEvent {
  type: "put" | "delete";
  /** For "delete", the policy as it was before deletion. */
  policy: StoredPolicy;
  /** The store revision the change created. */
  revision: number;
  /** Set on a "delete" that the policy's `spec.duration` caused rather than a client. */
  reason?: "expired";
}

export interface HaltEvent {
  /** "halt": a halt took effect; "resume": it was lifted. */
  type: "halt" | "resume";
  /** The halt that took effect, or the one that was lifted. */
  halt: Halt;
  revision: number;
}

export type WatchEvent = PolicyEvent | HaltEvent;

export type WatchListener = (event: WatchEvent) => void | Promise<void>;
export type Unsubscribe = () => void;

/**
 * Where policies and the halt live. Every implementation passes the contract suite in contract-suite.ts.
 *
 * Revisions are monotonic within one store; every change (create, update, delete, expiry, halt,
 * resume) takes a new one, and `metadata.resourceVersion` is the revision of the policy's last
 * change, as a string. Errors are HfiError with codes NotFound, AlreadyExists, Conflict,
 * InvalidInput, Locked or Unavailable.
 *
 * Policies live in namespaces (`namespaces`): a write names its policy's in `metadata.namespace`, a
 * read or delete in `namespace`, and either means `namespaces.home` when it names none; a namespace
 * the store does not hold is InvalidInput. Names are unique within a namespace.
 *
 * A policy with `spec.duration` is deleted by the store itself once the duration has passed since
 * its last write (watchers see a "delete" with reason "expired"). Writing it again, even unchanged,
 * restarts the clock. A `status` sent by the client is ignored: the store owns it.
 */
/** Leader election among the replicas sharing a store, for a store that runs one itself (Kubernetes: a Lease). */
export interface StoreElection {
  /** The leading replica's name as last seen; undefined while none leads (a failover). */
  leader(): string | undefined;
  isLeader(): boolean;
  /** Calls `listener` with true when this replica starts leading, false when it stops. */
  onChange(listener: (leading: boolean) => void): Unsubscribe;
}

export interface PolicyStore {
  readonly namespaces: StoreNamespaces;
  /** Absent for stores that elect no leader (memory) or leave it to the fleet (etcd). */
  readonly election?: StoreElection;
  /** Fails with AlreadyExists if the name is taken, Locked while halted. */
  create(policy: Policy): Promise<StoredPolicy>;
  /**
   * Creates or replaces; Locked while halted. When `metadata.resourceVersion` is given it must equal
   * the stored one (Conflict otherwise). An unchanged spec without a duration is a no-op: no new
   * revision, no watch event. With a duration it is written again to restart the clock: a new
   * revision and `status.expiresAt`, the same generation (the spec did not change).
   */
  createOrUpdate(policy: Policy): Promise<PutResult>;
  get(name: string, namespace?: string): Promise<StoredPolicy>;
  /** Returns the policy as it was before deletion. Works while halted. */
  delete(name: string, namespace?: string): Promise<StoredPolicy>;
  /** Every namespace's policies the store holds. */
  list(): Promise<PolicyList>;
  /** Policies and halt at one revision. */
  state(): Promise<StoreState>;
  getHalt(): Promise<Halt | undefined>;
  /** Halts; a halt already in force is kept as it is (`created: false`, no new revision). */
  halt(request: HaltRequest): Promise<{ halt: Halt; created: boolean }>;
  /** Lifts the halt: the halt lifted and the revision lifting took; undefined (and no new revision) when there was none. */
  resume(): Promise<{ lifted: Halt; revision: number } | undefined>;
  /**
   * Calls `listener` for every later change, in order and asynchronously: a slow or throwing
   * listener never delays or fails a write. No calls after unsubscribing.
   */
  watch(listener: WatchListener): Unsubscribe;
  /** Resolves when the store can serve requests; fails with Unavailable otherwise. */
  ping(): Promise<void>;
  /** Stops its timers and watches and lets go of its connections; no listener is called after. */
  close(): Promise<void>;
}
