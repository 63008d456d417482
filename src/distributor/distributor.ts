import { setTimeout as sleep } from "node:timers/promises";
import { type ConsolaInstance, consola } from "consola";
import type { Policy } from "../policy/index.ts";
import { compileRuleSet } from "../ruleset/compile.ts";
import type { RuleSet } from "../ruleset/format.ts";
import type { PolicyStore, Unsubscribe } from "../store/index.ts";

/** One compiled configuration; `json` is serialized once and served to every client as is. */
export interface ConfigSnapshot {
  readonly revision: number;
  readonly ruleSet: RuleSet;
  readonly json: string;
}

export type SnapshotListener = (snapshot: ConfigSnapshot) => void;

export interface Distributor {
  current(): ConfigSnapshot;
  /** Called synchronously with every new snapshot. */
  subscribe(listener: SnapshotListener): Unsubscribe;
  /**
   * The current snapshot at once if its revision differs from `after` (or `after` is undefined),
   * else the next one; null when `timeoutMs` passes or `signal` aborts first. "Differs", not
   * "greater": a client may hold a revision from before a memory-store server restarted.
   */
  waitForChange(
    after: number | undefined,
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
  /**
   * Runs before each compile with the policies about to be compiled; `hfi serve` compiles their
   * regexes in a worker thread here, so that policies another replica wrote (or loaded at start)
   * never compile regexes in the event loop.
   */
  beforeCompile?: (policies: readonly Policy[]) => Promise<void>;
}

/** Compiles the store's policies and halt into RuleSet snapshots, now and after every change. */
export async function createDistributor(
  store: PolicyStore,
  options: DistributorOptions = {},
): Promise<Distributor> {
  const { logger = consola, coalesceMs = 10, retryMs = 1000, beforeCompile } = options;
  const listeners = new Set<SnapshotListener>();
  // Replaced by the first load below before anyone can see it.
  let snapshot: ConfigSnapshot = { revision: -1, ruleSet: compileRuleSet([], -1), json: "" };
  let dirty = false;
  let draining = false;
  let closed = false;

  async function load(): Promise<ConfigSnapshot> {
    const { items, revision, halt } = await store.state();
    await beforeCompile?.(items);
    const ruleSet = compileRuleSet(items, revision, { halted: halt !== undefined });
    return { revision, ruleSet, json: JSON.stringify(ruleSet) };
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
    waitForChange(after, timeoutMs, signal) {
      if (after === undefined || snapshot.revision !== after) return Promise.resolve(snapshot);
      if (signal?.aborted) return Promise.resolve(null);
      return new Promise((resolve) => {
        const finish = (result: ConfigSnapshot | null) => {
          clearTimeout(timer);
          unsubscribe();
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        };
        const onAbort = () => finish(null);
        const unsubscribe = subscribe(finish);
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
