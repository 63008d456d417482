import { createHash } from "node:crypto";
import type { Subscriber, SubscriberRegistry } from "../distributor/index.ts";
import { KubeApiError, type KubeClient, toHfiError } from "../kubernetes/client.ts";
import { microTime } from "../kubernetes/lease.ts";
import type { Logger } from "../server/logger.ts";
import { batchedWrites } from "./batched-writes.ts";
import { compare, type FleetProxy, latestPerWorker, type ProxyDirectory } from "./proxies.ts";

export interface KubernetesProxyDirectoryOptions {
  client: KubeClient;
  /** The control plane's namespace: each replica's Lease lives there. */
  namespace: string;
  replica: string;
  subscribers: SubscriberRegistry;
  /** A replica whose Lease went unrenewed this long is gone, and its proxies with it. */
  ttlSeconds: number;
  logger: Logger;
  /** Fewest milliseconds between two writes of this replica's Lease. Default 1000. */
  minIntervalMs?: number;
  /** How long a change waits for more before it is written. Default 20. */
  gatherMs?: number;
}

/** The label of every replica's Lease, by which they are listed. */
export const REPLICA_LABEL = "hfi.dev/fleet";
const REPLICA_ANNOTATION = "hfi.dev/replica";
const PROXIES_ANNOTATION = "hfi.dev/proxies";

interface ReplicaLease {
  apiVersion?: "coordination.k8s.io/v1";
  kind?: "Lease";
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

/**
 * Publishes this replica's subscribers on a coordination.k8s.io Lease of its own (`hfi-replica-…`,
 * the list as an annotation), written when the list changes (at most once per `minIntervalMs`) and
 * renewed every third of `ttlSeconds`; reads every replica's whose Lease was renewed within its
 * duration (by this replica's clock: replicas' clocks must roughly agree). Closing deletes the Lease,
 * so this replica's proxies move to the others at once.
 */
export async function startKubernetesProxyDirectory(
  options: KubernetesProxyDirectoryOptions,
): Promise<ProxyDirectory> {
  const { client, namespace, replica, subscribers, ttlSeconds, logger } = options;
  const { minIntervalMs = 1000, gatherMs = 20 } = options;
  const leases = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const name = leaseName(replica);
  const renewMs = (ttlSeconds * 1000) / 3;
  let written: string | undefined;
  /** Of this replica's Lease as last written; undefined when it must be created or read again. */
  let resourceVersion: string | undefined;
  /** Logged once per outage, not once a second. */
  let failing = false;

  async function publish(): Promise<void> {
    const proxies = JSON.stringify(subscribers.list());
    if (proxies === written && Date.now() - writes.lastStartedMs < renewMs) return;
    writes.started();
    const lease: ReplicaLease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name,
        labels: { [REPLICA_LABEL]: "replica" },
        annotations: { [REPLICA_ANNOTATION]: replica, [PROXIES_ANNOTATION]: proxies },
      },
      spec: { holderIdentity: replica, leaseDurationSeconds: ttlSeconds, renewTime: microTime(new Date()) },
    };
    try {
      await write(lease);
      written = proxies;
      if (failing) logger.info("publishing proxy status again");
      failing = false;
    } catch (err) {
      if (!failing)
        logger.warn("publishing proxy status failed; retrying", { error: toHfiError(err).message });
      failing = true;
      written = undefined;
    }
  }

  /** Creates or updates this replica's Lease; a Lease cannot be updated without its resourceVersion. */
  async function write(lease: ReplicaLease): Promise<void> {
    type Written = { metadata: { resourceVersion: string } };
    if (resourceVersion === undefined) {
      try {
        resourceVersion = (await client.request<Written>("POST", leases, lease)).metadata.resourceVersion;
        return;
      } catch (err) {
        // Left by an earlier process of this name: take it over.
        if (!(err instanceof KubeApiError && err.status === 409)) throw err;
        resourceVersion = (await client.request<Written>("GET", `${leases}/${name}`)).metadata
          .resourceVersion;
      }
    }
    try {
      const body = { ...lease, metadata: { ...lease.metadata, resourceVersion } };
      resourceVersion = (await client.request<Written>("PUT", `${leases}/${name}`, body)).metadata
        .resourceVersion;
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 409))
        resourceVersion = undefined;
      throw err;
    }
  }

  const writes = batchedWrites(publish, { minIntervalMs, gatherMs });
  const unsubscribe = subscribers.onChange(writes.schedule);
  await publish();

  /** The other live replicas' Leases. */
  async function others(): Promise<{ replica: string; proxies: Subscriber[] }[]> {
    let list: { items: ReplicaLease[] };
    try {
      list = await client.request(
        "GET",
        `${leases}?labelSelector=${encodeURIComponent(`${REPLICA_LABEL}=replica`)}`,
      );
    } catch (err) {
      throw toHfiError(err);
    }
    const now = Date.now();
    return list.items
      .filter(({ metadata, spec }) => {
        const renewed = Date.parse(spec.renewTime ?? "");
        const alive = now - renewed < (spec.leaseDurationSeconds ?? ttlSeconds) * 1000;
        return alive && metadata.name !== name;
      })
      .map(({ metadata }) => ({
        replica: metadata.annotations?.[REPLICA_ANNOTATION] ?? metadata.name,
        proxies: parseProxies(metadata.annotations?.[PROXIES_ANNOTATION]),
      }));
  }

  return {
    covers: "fleet",
    async list() {
      // Our own list is fresher in memory than on the API server.
      const own: FleetProxy[] = subscribers.list().map((proxy) => ({ ...proxy, replica }));
      const theirs = (await others()).flatMap((other) =>
        other.proxies.map((proxy) => ({ ...proxy, replica: other.replica })),
      );
      return latestPerWorker([...own, ...theirs]);
    },
    async replicas() {
      const names = new Set([replica, ...(await others()).map((other) => other.replica)]);
      return [...names].sort(compare);
    },
    async close() {
      unsubscribe();
      await writes.close();
      await client.request("DELETE", `${leases}/${name}`).catch(() => {});
    },
  };
}

/** A Lease name for a replica name (which may hold any characters): readable, and unique by a hash. */
function leaseName(replica: string): string {
  const readable = replica
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  const hash = createHash("sha256").update(replica).digest("hex").slice(0, 8);
  return `hfi-replica-${readable ? `${readable}-` : ""}${hash}`;
}

function parseProxies(json: string | undefined): Subscriber[] {
  try {
    const value: unknown = JSON.parse(json ?? "[]");
    return Array.isArray(value) ? (value as Subscriber[]) : [];
  } catch {
    return [];
  }
}
