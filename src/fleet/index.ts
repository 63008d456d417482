import { hostname } from "node:os";
import type { SubscriberRegistry } from "../distributor/index.ts";
import type { KubeClient } from "../kubernetes/client.ts";
import type { ObservationLedger } from "../observations/index.ts";
import type { Logger } from "../server/logger.ts";
import type { PolicyStore, StoreElection } from "../store/index.ts";
import { type Leadership, soleLeadership } from "./leadership.ts";
import { localProxyDirectory, type ProxyDirectory } from "./proxies.ts";

export type { Leadership } from "./leadership.ts";
export type { FleetProxy, ProxyDirectory } from "./proxies.ts";

/** The replicas of one control plane: who leads, which proxies poll which replica, what they observed. */
export interface Fleet {
  readonly leadership: Leadership;
  readonly proxies: ProxyDirectory;
  /** Reports posted to this replica count here; reads sum every replica's (observations.ts). */
  readonly observations: ObservationLedger;
  /** "fleet": `observations` sums every replica's reports (etcd); "replica": this replica's alone. */
  readonly observationsCover: "fleet" | "replica";
  /** Hands leadership over and withdraws this replica's proxies and observations from the fleet view. */
  close(): Promise<void>;
}

/** Default lease TTL of a replica's leadership, published proxies and observations, in seconds. */
export const DEFAULT_LEASE_TTL_SECONDS = 10;

/** A name that tells replicas apart: the host (the pod, on Kubernetes) and the process. */
export function defaultReplicaName(): string {
  return `${hostname()}-${process.pid}`;
}

/** A replica on its own (the memory store): it leads, and its proxies and observations are the fleet's. */
export function soloFleet(
  replica: string,
  subscribers: SubscriberRegistry,
  observations: ObservationLedger,
): Fleet {
  return {
    leadership: soleLeadership(replica),
    proxies: localProxyDirectory(replica, subscribers),
    observations,
    observationsCover: "replica",
    close: async () => {},
  };
}

export interface KubernetesFleetOptions {
  client: KubeClient;
  /** The control plane's namespace: the replicas' Leases live there. */
  namespace: string;
  replica: string;
  /** The store's election (a Lease held in the replica's name): who leads. */
  election: StoreElection;
  /** How long a replica's proxies stay in the fleet view after it stopped renewing their Lease. */
  leaseTtlSeconds: number;
  subscribers: SubscriberRegistry;
  /** The observations reported to this replica; the replicas do not share them (etcd's do). */
  ledger: ObservationLedger;
  logger: Logger;
}

/**
 * Replicas on one Kubernetes API server: the store says who leads, and each publishes its proxies
 * on a Lease of its own. Closing the store hands the leadership over.
 */
export async function startKubernetesFleet(options: KubernetesFleetOptions): Promise<Fleet> {
  const { election, replica, leaseTtlSeconds, ledger, ...rest } = options;
  const { startKubernetesProxyDirectory } = await import("./kubernetes-proxies.ts");
  const proxies = await startKubernetesProxyDirectory({ ...rest, replica, ttlSeconds: leaseTtlSeconds });
  return {
    leadership: {
      replica,
      isLeader: () => election.isLeader(),
      leader: () => election.leader(),
      onChange: (listener) => election.onChange(listener),
      close: async () => {},
    },
    proxies,
    observations: ledger,
    observationsCover: "replica",
    close: () => proxies.close(),
  };
}

export interface EtcdFleetOptions {
  endpoints: string[];
  /** The store's key prefix; the election and the replicas' proxies and observations live under it too. */
  prefix: string;
  replica: string;
  leaseTtlSeconds: number;
  /** The policies whose expiry the leader enforces. */
  store: PolicyStore;
  subscribers: SubscriberRegistry;
  /** The reports posted to this replica. */
  ledger: ObservationLedger;
  logger: Logger;
}

/**
 * Replicas sharing an etcd cluster: they elect a leader, which runs the expiry clean-up, and each
 * publishes its proxies and its observation totals. etcd3 is loaded on first use, as the store does.
 */
export async function startEtcdFleet(options: EtcdFleetOptions): Promise<Fleet> {
  return (await import("./etcd-fleet.ts")).startEtcdFleet(options);
}
