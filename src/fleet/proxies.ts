import type { Namespace } from "etcd3";
import type { Subscriber, SubscriberRegistry } from "../distributor/index.ts";
import type { Logger } from "../server/logger.ts";
import { toHfiError } from "../store/etcd-client.ts";
import { publishLeasedKey } from "./leased-key.ts";

/** A proxy worker and the replica whose long-poll it is on. */
export interface FleetProxy extends Subscriber {
  replica: string;
}

/** The proxies polling every live replica of the fleet (GET /v1/status/proxies, `hfi status`, `--wait`). */
export interface ProxyDirectory {
  /** "fleet": every replica's proxies, shared through the store (etcd); "replica": this replica's alone. */
  readonly covers: "fleet" | "replica";
  /** One entry per worker (node, worker), as its latest poll of any replica left it; sorted by node, then worker. */
  list(): Promise<FleetProxy[]>;
  /** The live replicas' names, sorted. */
  replicas(): Promise<string[]>;
  close(): Promise<void>;
}

/** One replica alone: the proxies are the ones polling it. */
export function localProxyDirectory(replica: string, subscribers: SubscriberRegistry): ProxyDirectory {
  return {
    covers: "replica",
    list: async () => subscribers.list().map((proxy) => ({ ...proxy, replica })),
    replicas: async () => [replica],
    close: async () => {},
  };
}

export interface EtcdProxyDirectoryOptions {
  /** The namespace of the store's prefix; each replica's proxies live at `replicas/<name>` under it. */
  namespace: Namespace;
  replica: string;
  subscribers: SubscriberRegistry;
  /** TTL of the lease the replica's key is bound to: a dead replica's proxies go this long after it. */
  ttlSeconds: number;
  logger: Logger;
  /** Fewest milliseconds between two writes of this replica's key. Default 1000. */
  minIntervalMs?: number;
  /** How long a change waits for more before it is written. Default 20. */
  gatherMs?: number;
}

/** What a replica's key holds. */
interface Published {
  replica: string;
  proxies: Subscriber[];
}

const REPLICAS = "replicas/";

/**
 * Publishes this replica's subscribers under `replicas/<name>`, a key bound to its own lease
 * (leased-key.ts: batched, at most one write per `minIntervalMs`), and reads every replica's. The
 * list is re-checked every `minIntervalMs` too, so a worker that stopped polling turns not-live in
 * etcd as well; when the replica dies its lease expires and its key with it.
 */
export async function startEtcdProxyDirectory(options: EtcdProxyDirectoryOptions): Promise<ProxyDirectory> {
  const { namespace, replica, subscribers, ttlSeconds, logger, minIntervalMs, gatherMs } = options;
  const ownKey = await publishLeasedKey({
    namespace,
    key: REPLICAS + replica,
    value: () => JSON.stringify({ replica, proxies: subscribers.list() } satisfies Published),
    ttlSeconds,
    logger,
    what: "proxy status",
    minIntervalMs,
    gatherMs,
  });
  const unsubscribe = subscribers.onChange(ownKey.schedule);

  async function readAll(): Promise<Published[]> {
    try {
      const values = await namespace.getAll().prefix(REPLICAS).strings();
      return Object.values(values).map((value) => JSON.parse(value) as Published);
    } catch (err) {
      throw toHfiError(err);
    }
  }

  return {
    covers: "fleet",
    async list() {
      // Our own list is fresher in memory than in etcd, and there even when a write failed.
      const proxies = subscribers.list().map((proxy) => ({ ...proxy, replica }));
      for (const published of await readAll()) {
        if (published.replica === replica) continue;
        for (const proxy of published.proxies) proxies.push({ ...proxy, replica: published.replica });
      }
      return latestPerWorker(proxies);
    },
    async replicas() {
      const names = new Set([replica, ...(await readAll()).map((published) => published.replica)]);
      return [...names].sort(compare);
    },
    async close() {
      unsubscribe();
      // The key goes at once: this replica's proxies move to the others now, not at expiry.
      await ownKey.close();
    },
  };
}

/**
 * One entry per worker: behind a load balancer a worker polls one replica, then another, and each
 * remembers it; what its latest poll said is what it has.
 */
export function latestPerWorker(proxies: FleetProxy[]): FleetProxy[] {
  const latest = new Map<string, FleetProxy>();
  for (const proxy of proxies) {
    const key = `${proxy.node}\u0000${proxy.worker}`;
    const other = latest.get(key);
    if (!other || isLater(proxy, other)) latest.set(key, proxy);
  }
  return [...latest.values()].sort((a, b) => compare(a.node, b.node) || compare(a.worker, b.worker));
}

/** Seen later; at the same time, the poll still held wins over the one answered. */
function isLater(a: FleetProxy, b: FleetProxy): boolean {
  const [at, bt] = [Date.parse(a.lastSeen), Date.parse(b.lastSeen)];
  return at !== bt ? at > bt : a.polling && !b.polling;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
