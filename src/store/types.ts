import type { Policy } from "../policy/index.ts";

/** A policy as the store holds it: the server-set metadata is always present. */
export type StoredPolicy = Policy & { metadata: Required<Policy["metadata"]> };

export interface PutResult {
  policy: StoredPolicy;
  /** False when an existing policy was updated (or left as it was). */
  created: boolean;
}

export interface PolicyList {
  /** Sorted by name. */
  items: StoredPolicy[];
  /** The store revision this list was read at. */
  revision: number;
}

export interface WatchEvent {
  type: "put" | "delete";
  /** For "delete", the policy as it was before deletion. */
  policy: StoredPolicy;
  /** The store revision the change created. */
  revision: number;
}

export type WatchListener = (event: WatchEvent) => void | Promise<void>;
export type Unsubscribe = () => void;

/**
 * Where policies live. Every implementation passes the contract suite in contract.ts.
 *
 * Revisions are monotonic within one store; every change (create, update, delete) takes a new one,
 * and `metadata.resourceVersion` is the revision of the policy's last change, as a string.
 * Errors are HfiError with codes NotFound, AlreadyExists, Conflict, InvalidInput or Unavailable.
 */
export interface PolicyStore {
  /** Fails with AlreadyExists if the name is taken. */
  create(policy: Policy): Promise<StoredPolicy>;
  /**
   * Creates or replaces. When `metadata.resourceVersion` is given it must equal the stored one
   * (Conflict otherwise). An unchanged spec is a no-op: no new revision, no watch event.
   */
  createOrUpdate(policy: Policy): Promise<PutResult>;
  get(name: string): Promise<StoredPolicy>;
  /** Returns the policy as it was before deletion. */
  delete(name: string): Promise<StoredPolicy>;
  list(): Promise<PolicyList>;
  /**
   * Calls `listener` for every later change, in order and asynchronously: a slow or throwing
   * listener never delays or fails a write. No calls after unsubscribing.
   */
  watch(listener: WatchListener): Unsubscribe;
  /** Resolves when the store can serve requests; fails with Unavailable otherwise. */
  ping(): Promise<void>;
}
