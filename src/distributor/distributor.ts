import { setTimeout as sleep } from "node:timers/promises";
import { type ConsolaInstance, consola } from "consola";
import { type Policy, type Selector, selects, type WorkloadIdentity } from "../policy/index.ts";
import { assembleRuleSet, compileRules } from "../ruleset/compile.ts";
import type { Rule, RuleSet } from "../ruleset/format.ts";
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
  /**
   * The rule set served to a proxy that says it is `who`: only the policies whose selector picks it.
   * Without `who`, the fleet-wide rule set of every policy (SSE clients, metrics, status).
   */
  current(who?: WorkloadIdentity): ConfigSnapshot;
  /** Called synchronously with every new fleet-wide snapshot. */
  subscribe(listener: SnapshotListener): Unsubscribe;
  /**
   * The current snapshot (for `who`, as current() does) at once unless the client holds it (`held`
   * undefined: at once), else the first later one it does not hold; null when `timeoutMs` passes or
   * `signal` aborts first. "Does not hold", not "is newer": a client may hold a rule set from before
   * a memory-store server restarted, or from another replica. A change that leaves `who`'s rule set as
   * it was does not wake it.
   */
  waitForChange(
    held: Held | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
    who?: WorkloadIdentity,
  ): Promise<ConfigSnapshot | null>;
  /** Subscribers plus pending waiters; for tests and metrics. */
  listenerCount(): number;
  /** Identities whose rule set is cached now; for tests and metrics. */
  identityCount(): number;
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
  /** Most identities whose rule set is cached; past it the longest unused one without waiters goes. Default 10 000. */
  maxIdentities?: number;
  /** An identity without waiters, unused this long, is dropped from the cache. Default 10 min. */
  idleIdentityMs?: number;
  now?: () => number;
}

/** The store's state with every policy compiled once: the rules, in evaluation order, with their selectors. */
interface Compiled {
  revision: number;
  halted: boolean;
  /** `policy`: namespace/name, which tells apart policies of one name in several namespaces. */
  rules: { selector: Selector | undefined; rule: Rule; policy: string }[];
  /** How long compiling the policies took, for the log. */
  compileMs: number;
}

/**
 * One identity's rule set, like an xDS snapshot per node. Waiters holding an identity are woken only
 * when that identity's rule set changes; waiters holding only a revision (filters from before
 * identities), by every new revision.
 */
interface View {
  who: WorkloadIdentity;
  snapshot: ConfigSnapshot;
  byId: Set<SnapshotListener>;
  byRevision: Set<SnapshotListener>;
  usedAtMs: number;
}

/**
 * Compiles the store's policies and halt into RuleSet snapshots, now and after every change: one
 * fleet-wide, and one per identity that polls (the policies whose selector picks it). Each policy is
 * compiled once per change; an identity's rule set is then a selection of those rules.
 */
export async function createDistributor(
  store: PolicyStore,
  options: DistributorOptions = {},
): Promise<Distributor> {
  const {
    logger = consola,
    coalesceMs = 10,
    retryMs = 1000,
    maxIdentities = 10_000,
    idleIdentityMs = 10 * 60_000,
    now = Date.now,
    beforeCompile,
  } = options;
  const listeners = new Set<SnapshotListener>();
  const views = new Map<string, View>();
  // Replaced by the first load below before anyone can see it.
  let compiled: Compiled = { revision: -1, halted: false, rules: [], compileMs: 0 };
  let snapshot: ConfigSnapshot = snapshotOf([], -1, false);
  let dirty = false;
  let draining = false;
  let closed = false;

  async function load(): Promise<Compiled> {
    const { items, revision, halt } = await store.state();
    await beforeCompile?.(items);
    const started = performance.now();
    const rules = compileRules(items).map(({ policy, rule }) => ({
      selector: policy.spec.selector,
      rule,
      policy: `${policy.metadata.namespace}/${policy.metadata.name}`,
    }));
    return { revision, halted: halt !== undefined, rules, compileMs: performance.now() - started };
  }

  /**
   * Identities that select the same policies share one snapshot (built once per revision), so memory
   * and work grow with the distinct selections, not with the identities proxies report.
   */
  let selections = new Map<string, ConfigSnapshot>();

  function selectedFor(who: WorkloadIdentity): ConfigSnapshot {
    const picked = compiled.rules.filter((r) => selects(r.selector, who));
    const rules = picked.map((r) => r.rule);
    // Namespaced names are unique, so they say in order which rules were picked.
    const key = picked.map((r) => r.policy).join("\n");
    let selected = selections.get(key);
    if (!selected) {
      selected = snapshotOf(rules, compiled.revision, compiled.halted);
      selections.set(key, selected);
    }
    return selected;
  }

  function viewOf(who: WorkloadIdentity): View {
    const key = identityKey(who);
    let view = views.get(key);
    if (!view) {
      if (views.size >= maxIdentities) forgetIdle(true);
      view = { who, snapshot: selectedFor(who), byId: new Set(), byRevision: new Set(), usedAtMs: now() };
      views.set(key, view);
    }
    view.usedAtMs = now();
    return view;
  }

  /** Drops identities without waiters unused for idleIdentityMs; with `oneAtLeast`, the longest unused too. */
  function forgetIdle(oneAtLeast: boolean): void {
    const at = now();
    let oldest: [string, View] | undefined;
    for (const item of views) {
      const [key, view] = item;
      if (view.byId.size > 0 || view.byRevision.size > 0) continue;
      if (at - view.usedAtMs > idleIdentityMs) views.delete(key);
      else if (!oldest || view.usedAtMs < oldest[1].usedAtMs) oldest = item;
    }
    if (oneAtLeast && oldest && views.size >= maxIdentities) views.delete(oldest[0]);
  }

  /** Store revisions only grow within a process, so an older read that finishes late is dropped. */
  function publish(next: Compiled): void {
    if (closed || next.revision <= compiled.revision) return;
    const started = performance.now();
    compiled = next;
    selections = new Map();
    snapshot = snapshotOf(
      next.rules.map((r) => r.rule),
      next.revision,
      next.halted,
    );
    forgetIdle(false);
    const woken: View[] = [];
    for (const view of views.values()) {
      const before = view.snapshot.id;
      view.snapshot = selectedFor(view.who);
      if (view.snapshot.id !== before) woken.push(view);
    }
    logger.info("config compiled", {
      revision: next.revision,
      rules: next.rules.length,
      halted: next.halted,
      identities: views.size,
      identitiesChanged: woken.length,
      compileMs: round(next.compileMs),
      identitiesMs: round(performance.now() - started),
    });
    notify(listeners, snapshot);
    for (const view of woken) notify(view.byId, view.snapshot);
    for (const view of views.values()) notify(view.byRevision, view.snapshot);
  }

  function notify(targets: Set<SnapshotListener>, next: ConfigSnapshot): void {
    for (const listener of [...targets]) {
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

  /** Wrapped so that adding one function twice gives two independent subscriptions. */
  function addTo(targets: Set<SnapshotListener>, listener: SnapshotListener): Unsubscribe {
    const subscription: SnapshotListener = (s) => listener(s);
    targets.add(subscription);
    return () => {
      targets.delete(subscription);
    };
  }

  return {
    current: (who) => (who ? viewOf(who).snapshot : snapshot),
    subscribe: (listener) => addTo(listeners, listener),
    waitForChange(held, timeoutMs, signal, who) {
      const view = who ? viewOf(who) : undefined;
      const current = view ? view.snapshot : snapshot;
      if (held === undefined || !holds(held, current)) return Promise.resolve(current);
      if (signal?.aborted) return Promise.resolve(null);
      const targets = !view ? listeners : "id" in held ? view.byId : view.byRevision;
      return new Promise((resolve) => {
        const finish = (result: ConfigSnapshot | null) => {
          clearTimeout(timer);
          unsubscribe();
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        };
        const onAbort = () => finish(null);
        // A new revision with the same rules (a label changed) is nothing new to a client that has its identity.
        const unsubscribe = addTo(targets, (next) => {
          if (!holds(held, next)) finish(next);
        });
        const timer = setTimeout(finish, timeoutMs, null);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    listenerCount: () =>
      [...views.values()].reduce((sum, view) => sum + view.byId.size + view.byRevision.size, listeners.size),
    identityCount: () => views.size,
    close() {
      closed = true;
      unwatch();
    },
  };
}

/** Two decimals: enough for a log line. */
function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function snapshotOf(rules: Rule[], revision: number, halted: boolean): ConfigSnapshot {
  const ruleSet = assembleRuleSet(rules, revision, { halted });
  return { revision, id: ruleSetId(ruleSet), ruleSet, json: JSON.stringify(ruleSet) };
}

/** One key per identity, whatever order its labels came in. */
function identityKey({ service, namespace, labels }: WorkloadIdentity): string {
  const sorted = Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .sort();
  return JSON.stringify([service, namespace, sorted]);
}
