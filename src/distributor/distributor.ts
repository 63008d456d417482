import { setTimeout as sleep } from "node:timers/promises";
import { type ConsolaInstance, consola } from "consola";
import { compileRuleSet } from "../ruleset/compile.ts";
import type { RuleSet } from "../ruleset/format.ts";
import { ruleSetId } from "../ruleset/identity.ts";
import type { PolicyStore, Unsubscribe } from "../store/index.ts";

/** One compiled configuration; `json` is serialized once and served to every client as is. */
export interface ConfigSnapshot {
  readonly revision: number;
  /** The rule set's identity (ruleset/identity.ts): equal for equal rules, whatever the revision. */
  readonly id: string;
  readonly ruleSet: RuleSet;
  readonly json: string;
}

/**
 * What a client says it holds: the identity of its rule set (`id=`, what current filters send), or
 * only the revision (`after=` alone: filters from before identities, SSE clients that reconnect with a
 * number). A revision alone cannot tell a memory-store server's revision 1 from the revision 1 of the
 * server it replaced, so the identity wins when both are known.
 */
export type Held = { readonly id: string } | { readonly revision: number };

/** Whether `snapshot` is what the client holds. */
export function holds(held: Held, snapshot: ConfigSnapshot): boolean {
  return "id" in held ? held.id === snapshot.id : held.revision === snapshot.revision;
}

export type SnapshotListener = (snapshot: ConfigSnapshot) => void;

export interface Distributor {
  current(): ConfigSnapshot;
  /** Called synchronously with every new snapshot. */
  subscribe(listener: SnapshotListener): Unsubscribe;
  /**
   * The current snapshot at once unless the client holds it (`held` undefined: at once), else the
   * first later one it does not hold; null when `timeoutMs` passes or `signal` aborts first. "Does
   * not hold", not "is newer": a client may hold a rule set from before a memory-store server
   * restarted, or from another replica.
   */
  waitForChange(
    held: Held | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ConfigSnapshot | null>;
  /** Subscribers plus pending waiters; for tests and metrics. */
  listenerCount(): number;
  /** Stops watching the store. */
  close(): void;
}

export interface DistributorOptions {
  logger?: Pick<ConsolaInstance, "info" | "error">;
  /** How long to let a burst of store changes gather before compiling once. */
  coalesceMs?: number;
  /** Pause before reading the store again after a failed read. */
  retryMs?: number;
}

/** Compiles the store's policies and halt into RuleSet snapshots, now and after every change. */
export async function createDistributor(
  store: PolicyStore,
  options: DistributorOptions = {},
): Promise<Distributor> {
  const { logger = consola, coalesceMs = 10, retryMs = 1000 } = options;
  const listeners = new Set<SnapshotListener>();
  // Replaced by the first load below before anyone can see it.
  let snapshot: ConfigSnapshot = { revision: -1, id: "", ruleSet: compileRuleSet([], -1), json: "" };
  let dirty = false;
  let draining = false;
  let closed = false;

  async function load(): Promise<ConfigSnapshot> {
    const { items, revision, halt } = await store.state();
    const ruleSet = compileRuleSet(items, revision, { halted: halt !== undefined });
    return { revision, id: ruleSetId(ruleSet), ruleSet, json: JSON.stringify(ruleSet) };
  }

  /** Store revisions only grow within a process, so an older read that finishes late is dropped. */
  function publish(next: ConfigSnapshot): void {
    if (closed || next.revision <= snapshot.revision) return;
    snapshot = next;
    const { rules, halted = false } = next.ruleSet;
    logger.info("config compiled", { revision: next.revision, rules: rules.length, halted });
    for (const listener of [...listeners]) {
      try {
        listener(next);
      } catch (err) {
        logger.error("config listener failed", err);
      }
    }
  }

  async function drain(): Promise<void> {
    draining = true;
    while (dirty && !closed) {
      await sleep(coalesceMs);
      dirty = false;
      try {
        publish(await load());
      } catch (err) {
        logger.error("reading policies failed; keeping the previous config", err);
        dirty = true;
        await sleep(retryMs);
      }
    }
    draining = false;
  }

  // Watch before the first read, so no change can fall between the two.
  const unwatch = store.watch(() => {
    dirty = true;
    if (!draining) void drain();
  });
  try {
    publish(await load());
  } catch (err) {
    unwatch();
    throw err;
  }

  function subscribe(listener: SnapshotListener): Unsubscribe {
    // Wrapped so that subscribing one function twice gives two independent subscriptions.
    const subscription: SnapshotListener = (s) => listener(s);
    listeners.add(subscription);
    return () => {
      listeners.delete(subscription);
    };
  }

  return {
    current: () => snapshot,
    subscribe,
    waitForChange(held, timeoutMs, signal) {
      if (held === undefined || !holds(held, snapshot)) return Promise.resolve(snapshot);
      if (signal?.aborted) return Promise.resolve(null);
      return new Promise((resolve) => {
        const finish = (result: ConfigSnapshot | null) => {
          clearTimeout(timer);
          unsubscribe();
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        };
        const onAbort = () => finish(null);
        // A new revision with the same rules (a label changed) is nothing new to a client that has its identity.
        const unsubscribe = subscribe((next) => {
          if (!holds(held, next)) finish(next);
        });
        const timer = setTimeout(finish, timeoutMs, null);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    listenerCount: () => listeners.size,
    close() {
      closed = true;
      unwatch();
    },
  };
}
