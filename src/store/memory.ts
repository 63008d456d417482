import { isDeepStrictEqual } from "node:util";
import { HfiError } from "../errors.ts";
import type { Policy } from "../policy/index.ts";
import { type StoreClock, systemClock } from "./clock.ts";
import { createWatchFanOut } from "./fan-out.ts";
import { durationMs, lockedError, newHalt, staleVersionError } from "./lifecycle.ts";
import { DEFAULT_NAMESPACE, resolveNamespace, SINGLE_NAMESPACE } from "./namespaces.ts";
import type { Halt, PolicyStore, StoredPolicy } from "./types.ts";

export interface MemoryStoreOptions {
  /** Time for `creationTimestamp`, `status.expiresAt`, the halt's `since`, and durations running out. */
  clock?: StoreClock;
  /** Receives whatever a watch listener throws; the write that triggered it has already succeeded. */
  onWatcherError?: (err: unknown) => void;
}

/**
 * The embedded default store: one process, lost on restart, revisions counted from 0. A policy's
 * duration runs on a timer of this process; the halt is this process's alone.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): PolicyStore {
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const watchers = createWatchFanOut(
    options.onWatcherError ?? ((err) => console.error("policy watch listener failed:", err)),
  );
  const policies = new Map<string, StoredPolicy>();
  /** Cancels the timer of each policy with a duration. */
  const expiries = new Map<string, () => void>();
  let halt: Halt | undefined;
  let revision = 0;

  function cancelExpiry(name: string): void {
    expiries.get(name)?.();
    expiries.delete(name);
  }

  function write(policy: Policy, previous: StoredPolicy | undefined, specChanged: boolean): StoredPolicy {
    revision += 1;
    const name = policy.metadata.name;
    const lifetime = durationMs(policy);
    const { status: _ignored, ...rest } = structuredClone(policy);
    const stored: StoredPolicy = {
      ...rest,
      metadata: {
        name,
        namespace: DEFAULT_NAMESPACE,
        creationTimestamp: previous?.metadata.creationTimestamp ?? now().toISOString(),
        resourceVersion: String(revision),
        generation: previous ? previous.metadata.generation + (specChanged ? 1 : 0) : 1,
      },
      ...(lifetime !== undefined && {
        status: { expiresAt: new Date(now().getTime() + lifetime).toISOString() },
      }),
    };
    policies.set(name, stored);
    cancelExpiry(name);
    if (lifetime !== undefined) {
      expiries.set(
        name,
        clock.after(lifetime, () => expire(name, stored.metadata.resourceVersion)),
      );
    }
    watchers.deliver({ type: "put", policy: stored, revision });
    return structuredClone(stored);
  }

  /** The timer of a policy's duration: gone, unless it was written again meanwhile. */
  function expire(name: string, resourceVersion: string): void {
    const policy = policies.get(name);
    if (policy?.metadata.resourceVersion !== resourceVersion) return;
    remove(policy, "expired");
  }

  function remove(policy: StoredPolicy, reason?: "expired"): void {
    const { name } = policy.metadata;
    policies.delete(name);
    cancelExpiry(name);
    revision += 1;
    watchers.deliver({ type: "delete", policy, revision, ...(reason && { reason }) });
  }

  function find(name: string): StoredPolicy {
    const policy = policies.get(name);
    if (!policy) throw new HfiError("NotFound", `policy "${name}" not found`);
    return policy;
  }

  function refuseWhileHalted(): void {
    if (halt) throw lockedError(halt);
  }

  function list() {
    const items = [...policies.values()]
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
      .map((policy) => structuredClone(policy));
    return { items, revision };
  }

  return {
    namespaces: SINGLE_NAMESPACE,

    async create(policy) {
      const { name, resourceVersion } = policy.metadata;
      resolveNamespace(SINGLE_NAMESPACE, policy.metadata.namespace, "metadata.namespace");
      if (resourceVersion !== undefined) {
        throw new HfiError("InvalidInput", "resourceVersion must not be set when creating", [
          { path: "metadata.resourceVersion", message: "must not be set when creating" },
        ]);
      }
      refuseWhileHalted();
      if (policies.has(name)) throw new HfiError("AlreadyExists", `policy "${name}" already exists`);
      return write(policy, undefined, true);
    },

    async createOrUpdate(policy) {
      const { name, resourceVersion } = policy.metadata;
      resolveNamespace(SINGLE_NAMESPACE, policy.metadata.namespace, "metadata.namespace");
      const previous = policies.get(name);
      const stale = staleVersionError(name, resourceVersion, previous);
      if (stale) throw stale;
      refuseWhileHalted();
      const specChanged = !previous || !isDeepStrictEqual(previous.spec, policy.spec);
      if (previous && !specChanged && policy.spec.duration === undefined) {
        return { policy: structuredClone(previous), created: false };
      }
      return { policy: write(policy, previous, specChanged), created: previous === undefined };
    },

    async get(name, namespace) {
      resolveNamespace(SINGLE_NAMESPACE, namespace);
      return structuredClone(find(name));
    },

    async delete(name, namespace) {
      resolveNamespace(SINGLE_NAMESPACE, namespace);
      const policy = find(name);
      remove(policy);
      return structuredClone(policy);
    },

    async list() {
      return list();
    },

    async state() {
      return { ...list(), halt: structuredClone(halt) };
    },

    async getHalt() {
      return structuredClone(halt);
    },

    async halt(request) {
      if (halt) return { halt: structuredClone(halt), created: false };
      revision += 1;
      halt = newHalt(request, now(), revision);
      watchers.deliver({ type: "halt", halt, revision });
      return { halt: structuredClone(halt), created: true };
    },

    async resume() {
      const lifted = halt;
      if (!lifted) return undefined;
      halt = undefined;
      revision += 1;
      watchers.deliver({ type: "resume", halt: lifted, revision });
      return { lifted: structuredClone(lifted), revision };
    },

    watch: (listener) => watchers.add(listener),

    async ping() {},

    async close() {
      for (const name of [...expiries.keys()]) cancelExpiry(name);
      watchers.clear();
    },
  };
}
