import { isDeepStrictEqual } from "node:util";
import { HfiError } from "../errors.ts";
import type { Policy } from "../policy/index.ts";
import type { PolicyStore, StoredPolicy, WatchEvent, WatchListener } from "./types.ts";

export interface MemoryStoreOptions {
  /** Clock for `creationTimestamp`. */
  now?: () => Date;
  /** Receives whatever a watch listener throws; the write that triggered it has already succeeded. */
  onWatcherError?: (err: unknown) => void;
}

/** The embedded default store: one process, lost on restart, revisions counted from 0. */
export function createMemoryStore(options: MemoryStoreOptions = {}): PolicyStore {
  const now = options.now ?? (() => new Date());
  const onWatcherError =
    options.onWatcherError ?? ((err) => console.error("policy watch listener failed:", err));
  const policies = new Map<string, StoredPolicy>();
  const listeners = new Set<WatchListener>();
  let revision = 0;

  function notify(event: WatchEvent): void {
    for (const listener of listeners) {
      // A macrotask, so the writer resumes first; each listener gets its own copy to keep.
      const copy = structuredClone(event);
      setImmediate(() => {
        if (!listeners.has(listener)) return;
        Promise.resolve()
          .then(() => listener(copy))
          .catch(onWatcherError);
      });
    }
  }

  function write(policy: Policy, previous: StoredPolicy | undefined): StoredPolicy {
    revision += 1;
    const stored: StoredPolicy = {
      ...structuredClone(policy),
      metadata: {
        name: policy.metadata.name,
        creationTimestamp: previous?.metadata.creationTimestamp ?? now().toISOString(),
        resourceVersion: String(revision),
        generation: previous ? previous.metadata.generation + 1 : 1,
      },
    };
    policies.set(stored.metadata.name, stored);
    notify({ type: "put", policy: stored, revision });
    return structuredClone(stored);
  }

  function find(name: string): StoredPolicy {
    const policy = policies.get(name);
    if (!policy) throw new HfiError("NotFound", `policy "${name}" not found`);
    return policy;
  }

  return {
    async create(policy) {
      const { name, resourceVersion } = policy.metadata;
      if (resourceVersion !== undefined) {
        throw new HfiError("InvalidInput", "resourceVersion must not be set when creating", [
          { path: "metadata.resourceVersion", message: "must not be set when creating" },
        ]);
      }
      if (policies.has(name)) throw new HfiError("AlreadyExists", `policy "${name}" already exists`);
      return write(policy, undefined);
    },

    async createOrUpdate(policy) {
      const { name, resourceVersion } = policy.metadata;
      const previous = policies.get(name);
      if (resourceVersion !== undefined && resourceVersion !== previous?.metadata.resourceVersion) {
        const found = previous
          ? `it is at resourceVersion ${previous.metadata.resourceVersion}`
          : "it does not exist";
        throw new HfiError(
          "Conflict",
          `policy "${name}" was changed since resourceVersion ${resourceVersion}: ${found}`,
        );
      }
      if (previous && isDeepStrictEqual(previous.spec, policy.spec)) {
        return { policy: structuredClone(previous), created: false };
      }
      return { policy: write(policy, previous), created: previous === undefined };
    },

    async get(name) {
      return structuredClone(find(name));
    },

    async delete(name) {
      const policy = find(name);
      policies.delete(name);
      revision += 1;
      notify({ type: "delete", policy, revision });
      return structuredClone(policy);
    },

    async list() {
      const items = [...policies.values()]
        .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
        .map((policy) => structuredClone(policy));
      return { items, revision };
    },

    watch(listener) {
      // Wrapped so that watching twice with the same function gives two independent subscriptions.
      const subscription: WatchListener = (event) => listener(event);
      listeners.add(subscription);
      return () => {
        listeners.delete(subscription);
      };
    },

    async ping() {},
  };
}
