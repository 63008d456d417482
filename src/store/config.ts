import type { ConsolaInstance } from "consola";
import type { KubeClient } from "../kubernetes/client.ts";
import type { StoreClock } from "./clock.ts";
import { createMemoryStore } from "./memory.ts";
import type { PolicyStore, StoredPolicy } from "./types.ts";

/** Where `hfi serve` keeps policies: `hfi serve --store …` and its flags, as one value. */
export type StoreConfig =
  | {
      type: "memory";
      /** Default: the system clock. Tests give one that runs behind, or moves by hand. */
      clock?: StoreClock;
    }
  | {
      type: "etcd";
      /** Client URLs of the cluster's members. */
      endpoints: string[];
      /** Key prefix; default `hfi/`. */
      prefix?: string;
      /** Deadline of each etcd call; past it the request is answered 503. Default 5000. */
      requestTimeoutMs?: number;
    }
  | {
      type: "kubernetes";
      /** A kubeconfig file; without one, the pod's service account (in-cluster). */
      kubeconfig?: string;
      /** The kubeconfig context; default its current context. */
      context?: string;
      /**
       * The control plane's namespace (its halt, its leader Lease, and the policies it serves);
       * default the kubeconfig context's, or the pod's.
       */
      namespace?: string;
      /** Serve the FaultInjectionPolicies of every namespace, not only `namespace`'s. */
      allNamespaces?: boolean;
      /** Of the Lease the replicas elect their leader with. Default 15. */
      leaseDurationSeconds?: number;
      /** Deadline of each API call; past it the request is answered 503. Default 5000. */
      requestTimeoutMs?: number;
    };

/** What the server gives every store it opens. */
export interface StoreHooks {
  logger: Pick<ConsolaInstance, "info" | "warn" | "error">;
  /** Receives whatever a watch listener throws. */
  onWatcherError: (err: unknown) => void;
  /** Every failed backend call, by operation; for metrics. */
  onError: (operation: string, err: unknown) => void;
  /**
   * How far each policy has got to the proxies, for a store that reports it (Kubernetes: the
   * Propagated condition); set once the server has its distributor, which needs the store first.
   */
  propagation?: { of?: PropagationOf };
  /** This replica's name: with the Kubernetes store, the Lease's holder while it leads. */
  replica?: string;
}

/** Of the live proxies a policy targets, how many have applied the revision that brought it. */
export interface PolicyPropagation {
  applied: number;
  targeted: number;
}
export type PropagationOf = (policy: StoredPolicy, revision: number) => PolicyPropagation;

/** The API client a `kubernetes` store config names, and the control plane's namespace. */
export async function connectKubernetes(
  config: Extract<StoreConfig, { type: "kubernetes" }>,
): Promise<{ client: KubeClient; namespace: string }> {
  const { createKubeClient, inClusterConnection, kubeconfigConnection } = await import(
    "../kubernetes/client.ts"
  );
  const connection = config.kubeconfig
    ? kubeconfigConnection(config.kubeconfig, config.context)
    : inClusterConnection();
  return {
    client: createKubeClient(connection, config.requestTimeoutMs),
    namespace: config.namespace ?? connection.namespace,
  };
}

/**
 * Opens the store `config` names; the caller closes it. etcd.ts and kubernetes.ts are loaded only
 * when used: importing etcd3 reads its .proto files, which nothing else needs.
 */
export async function openStore(config: StoreConfig, hooks: StoreHooks): Promise<PolicyStore> {
  switch (config.type) {
    case "memory":
      return createMemoryStore({ clock: config.clock, onWatcherError: hooks.onWatcherError });
    case "etcd": {
      const { type: _type, ...options } = config;
      const { propagation: _unused, replica: _fleetsOwn, ...etcdHooks } = hooks;
      const { createEtcdStore } = await import("./etcd.ts");
      return createEtcdStore({ ...options, ...etcdHooks });
    }
    case "kubernetes": {
      const { createKubernetesStore } = await import("./kubernetes.ts");
      const { replica, ...storeHooks } = hooks;
      return createKubernetesStore({
        ...(await connectKubernetes(config)),
        allNamespaces: config.allNamespaces,
        requestTimeoutMs: config.requestTimeoutMs,
        // The replicas elect a leader through a Lease; it writes status and ends timed policies.
        writeStatus: true,
        leaderElection: { leaseDurationSeconds: config.leaseDurationSeconds, identity: replica },
        ...storeHooks,
      });
    }
  }
}
