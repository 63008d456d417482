/**
 * The long-poll subscribers this process has heard from (`GET /v1/config?…&node=N&worker=W`), so that
 * users can see a change reach every proxy (`GET /v1/status/proxies`, `hfi policy apply --wait`).
 * A poll asking for `after=R&id=I` says that its worker has applied revision R, whose identity is I.
 */
import type { WorkloadIdentity } from "../policy/index.ts";

export interface SubscriberId {
  /** Envoy's node id. */
  node: string;
  /** The worker's own id within the node; "" when the poll gave none. */
  worker: string;
}

/** Who a proxy says it is on its polls, beyond its node id: what policy selectors look at, and its cluster. */
export interface ProxyIdentity extends WorkloadIdentity {
  /** Envoy's node cluster; "" when the poll gave none. */
  readonly cluster: string;
}

export const ANONYMOUS_PROXY: ProxyIdentity = { cluster: "", service: "", namespace: "", labels: {} };

/** What a poll says its worker has applied: its `after=` and `id=`, each absent when not sent. */
export interface Applied {
  revision?: number;
  id?: string;
}

export interface Subscriber extends SubscriberId, ProxyIdentity {
  /** The revision the worker has applied (its last `after`); null before it had any config. */
  revision: number | null;
  /** The identity of the rule set it has applied (its last `id`); null from filters that send none. */
  ruleSetId: string | null;
  /** The start or end of its last poll, RFC 3339. */
  lastSeen: string;
  /** A poll of it is held open right now. */
  polling: boolean;
  /** Polling now, or seen within its poll wait plus a margin; others are kept a while, then forgotten. */
  live: boolean;
}

export interface SubscriberRegistry {
  /**
   * A poll arrived from `id`, which says it is `identity` (its latest poll's word counts); call the
   * returned function when it is answered (or the client went away).
   */
  polled(id: SubscriberId, identity: ProxyIdentity, applied: Applied, waitSeconds: number): () => void;
  /** Sorted by node, then worker. */
  list(): Subscriber[];
  /** Calls `listener` after every poll that starts or ends (for publishing the list elsewhere). */
  onChange(listener: () => void): () => void;
}

export interface SubscriberRegistryOptions {
  now?: () => number;
  /** Grace beyond a subscriber's poll wait before it counts as gone. Default 10 s. */
  marginMs?: number;
  /** Subscribers not live for this long are forgotten. Default 10 min. */
  forgetAfterMs?: number;
  /** Most subscribers remembered; past it the longest unseen idle one is forgotten first. Default 10 000. */
  maxSubscribers?: number;
}

interface Entry extends SubscriberId {
  identity: ProxyIdentity;
  revision: number | null;
  ruleSetId: string | null;
  lastSeenMs: number;
  waitMs: number;
  holding: number;
}

export function createSubscriberRegistry(options: SubscriberRegistryOptions = {}): SubscriberRegistry {
  const { now = Date.now, marginMs = 10_000, forgetAfterMs = 10 * 60_000, maxSubscribers = 10_000 } = options;
  const entries = new Map<string, Entry>();
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };

  const isLive = (entry: Entry, at: number) =>
    entry.holding > 0 || at - entry.lastSeenMs <= entry.waitMs + marginMs;

  function forgetStale(at: number): void {
    for (const [key, entry] of entries) {
      if (!isLive(entry, at) && at - entry.lastSeenMs > forgetAfterMs) entries.delete(key);
    }
  }

  /** Room for one more: the idle entry seen longest ago goes; false if every entry is polling now. */
  function makeRoom(): boolean {
    let oldest: [string, Entry] | undefined;
    for (const item of entries) {
      if (item[1].holding === 0 && (!oldest || item[1].lastSeenMs < oldest[1].lastSeenMs)) oldest = item;
    }
    if (oldest) entries.delete(oldest[0]);
    return oldest !== undefined;
  }

  return {
    polled(id, identity, applied, waitSeconds) {
      const at = now();
      const key = `${id.node}\u0000${id.worker}`;
      let entry = entries.get(key);
      if (!entry) {
        if (entries.size >= maxSubscribers) forgetStale(at);
        if (entries.size >= maxSubscribers && !makeRoom()) return () => {};
        entry = { ...id, identity, revision: null, ruleSetId: null, lastSeenMs: at, waitMs: 0, holding: 0 };
        entries.set(key, entry);
      }
      const current = entry;
      current.identity = identity;
      current.revision = applied.revision ?? null;
      current.ruleSetId = applied.id ?? null;
      current.lastSeenMs = at;
      current.waitMs = waitSeconds * 1000;
      current.holding += 1;
      changed();
      let done = false;
      return () => {
        if (done) return;
        done = true;
        current.holding -= 1;
        current.lastSeenMs = Math.max(current.lastSeenMs, now());
        changed();
      };
    },

    list() {
      const at = now();
      forgetStale(at);
      return [...entries.values()]
        .sort((a, b) => compare(a.node, b.node) || compare(a.worker, b.worker))
        .map((entry) => ({
          node: entry.node,
          worker: entry.worker,
          ...entry.identity,
          revision: entry.revision,
          ruleSetId: entry.ruleSetId,
          lastSeen: new Date(entry.lastSeenMs).toISOString(),
          polling: entry.holding > 0,
          live: isLive(entry, at),
        }));
    },

    onChange(listener) {
      const subscription = () => listener();
      listeners.add(subscription);
      return () => {
        listeners.delete(subscription);
      };
    },
  };
}

/**
 * The revision a subscriber's rules include, judged against the rule set served now: a worker whose
 * rule set has the identity of the current one is at the current revision, whatever revision it got
 * those rules at — an earlier one (later changes left the rules as they were), another replica's,
 * or a number from before a memory-store restart. Otherwise what it said, which `--wait` compares
 * with the revision it waits for.
 */
export function appliedRevision(
  subscriber: Pick<Subscriber, "revision" | "ruleSetId">,
  current: { revision: number; id: string },
): number | null {
  return subscriber.ruleSetId === current.id ? current.revision : subscriber.revision;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
