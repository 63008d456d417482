import type { Lease, Namespace, Watcher } from "etcd3";
import type { Logger } from "../server/logger.ts";

/**
 * Which replica runs the singleton duties (expiry clean-up, status aggregation). Every replica
 * serves reads, writes and polls whatever this says. Two replicas can both believe they lead for
 * a moment (an old leader that lost etcd notices only when its lease runs out), so leader work
 * must be idempotent.
 */
export interface Leadership {
  /** This replica's name. */
  readonly replica: string;
  /** Whether this replica leads now. */
  isLeader(): boolean;
  /** The leading replica's name as last observed; undefined while there is none (during a failover). */
  leader(): string | undefined;
  /** Calls `listener` with true when this replica starts leading, false when it stops. */
  onChange(listener: (leading: boolean) => void): () => void;
  /** Stops leading (another replica takes over at once) and observing. */
  close(): Promise<void>;
}

/** A replica with no peers (the memory store): it always leads. */
export function soleLeadership(replica: string): Leadership {
  return {
    replica,
    isLeader: () => true,
    leader: () => replica,
    onChange(listener) {
      listener(true);
      return () => {};
    },
    close: async () => {},
  };
}

export interface EtcdLeadershipOptions {
  /** The namespace of the store's prefix; the leader's name is at `leader` under it. */
  namespace: Namespace;
  replica: string;
  /** TTL of the replica's lease: a leader that dies is replaced this long after its last keep-alive. */
  ttlSeconds: number;
  logger: Logger;
  /** Pause before trying again after etcd could not be reached. Default 1000. */
  retryMs?: number;
}

const LEADER_KEY = "leader";

/**
 * etcd election: the leader is whoever created the `leader` key, which is bound to its lease, so
 * the key goes when the leader stops (lease revoked) or dies (lease expired); every replica
 * watches the key and tries to create it as soon as it is gone. (etcd3's own `Election` can elect
 * two leaders at once, microsoft/etcd3#176.)
 */
export async function startEtcdLeadership(options: EtcdLeadershipOptions): Promise<Leadership> {
  const { namespace, replica, ttlSeconds, logger, retryMs = 1000 } = options;
  const listeners = new Set<(leading: boolean) => void>();
  let lease: Lease | undefined;
  let leading = false;
  let observed: string | undefined;
  let watcher: Watcher | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  /** The lease campaigns run under; a new one after the last was lost. */
  function currentLease(): Lease {
    if (lease) return lease;
    const next = namespace.lease(ttlSeconds);
    next.on("lost", (err) => {
      if (closed || lease !== next) return;
      logger.warn("leader election lease lost; campaigning again", { error: String(err) });
      lease = undefined;
      setLeading(false);
      clearTimeout(retry);
      retry = setTimeout(campaign, retryMs);
    });
    lease = next;
    return next;
  }

  function setLeading(next: boolean): void {
    if (next === leading) return;
    leading = next;
    logger.info(next ? "leading the fleet" : "no longer leading the fleet", { replica });
    for (const listener of [...listeners]) listener(next);
  }

  /** Creates the key if nobody holds it; either way learns who leads. */
  async function campaign(): Promise<void> {
    if (closed) return;
    clearTimeout(retry);
    try {
      const ours = currentLease();
      const id = await ours.grant();
      const res = await namespace
        .if(LEADER_KEY, "Create", "==", 0)
        .then(namespace.put(LEADER_KEY).value(replica).lease(id))
        .else(namespace.get(LEADER_KEY))
        .commit();
      if (closed || ours !== lease) return;
      const holder = res.succeeded ? undefined : res.responses[0]?.response_range?.kvs[0];
      observed = holder ? holder.value.toString() : replica;
      setLeading(res.succeeded || holder?.lease === id);
      // The key went between the failed create and the read: try again.
      if (!res.succeeded && !holder) void campaign();
    } catch (err) {
      if (closed) return;
      logger.warn("leader election could not reach etcd; retrying", { error: String(err) });
      retry = setTimeout(campaign, retryMs);
    }
  }

  async function watch(): Promise<void> {
    try {
      const next = await namespace.watch().key(LEADER_KEY).create();
      if (closed) {
        await next.cancel();
        return;
      }
      watcher = next;
      next.on("put", (kv) => {
        observed = kv.value.toString();
      });
      next.on("delete", () => {
        observed = undefined;
        setLeading(false);
        void campaign();
      });
      // Whatever happened while the watch was down, the key tells.
      next.on("connected", () => void campaign());
    } catch (err) {
      if (closed) return;
      logger.warn("watching the leader failed; retrying", { error: String(err) });
      setTimeout(watch, retryMs);
    }
  }

  await watch();
  await campaign();
  return {
    replica,
    isLeader: () => leading,
    leader: () => observed,
    onChange(listener) {
      listeners.add(listener);
      if (leading) listener(true);
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      setLeading(false);
      // Revoking deletes the key at once: the others elect a new leader now rather than at expiry.
      await Promise.all([lease?.revoke(), watcher?.cancel()].map((p) => p?.catch(() => {})));
    },
  };
}
