import { hostname } from "node:os";
import type { ConsolaInstance } from "consola";
import { KubeApiError, type KubeClient } from "./client.ts";

/**
 * Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * the holder renews `spec.renewTime` every `leaseDurationSeconds / 3`; another candidate takes the
 * Lease over once it has seen the same record unchanged for a whole lease duration (by its own
 * clock, so clocks need not agree); every write is conditional on the Lease's resourceVersion, so of
 * two candidates one wins. A leader that cannot renew within the lease duration steps down; one that
 * closes releases the Lease, so a successor takes over at once.
 */
export interface LeaseElectionOptions {
  client: KubeClient;
  namespace: string;
  /** Default `hfi-leader`. */
  name?: string;
  /** Default: this host's name and process id (in a pod, the pod's name). */
  identity?: string;
  /** Default 15. */
  leaseDurationSeconds?: number;
  /** Called when this candidate starts or stops leading. */
  onChange?: (leading: boolean) => void;
  logger?: Pick<ConsolaInstance, "info" | "warn">;
}

export interface LeaseElection {
  readonly identity: string;
  isLeader(): boolean;
  /**
   * Who holds the Lease as this candidate last saw it: itself while it leads, another while that one
   * renews it; undefined while none does (released, or unrenewed for its duration: a failover).
   */
  holder(): string | undefined;
  /** Stops campaigning; a leader releases the Lease. */
  close(): Promise<void>;
}

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export function startLeaseElection(options: LeaseElectionOptions): LeaseElection {
  const { client, namespace, name = "hfi-leader", leaseDurationSeconds = 15, logger } = options;
  const identity = options.identity ?? `${hostname()}_${process.pid}`;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const durationMs = leaseDurationSeconds * 1000;
  let leading = false;
  let lastRenewed = 0;
  /** The other holder's record as last seen, and when this candidate first saw it so. */
  let observed: { record: string; since: number; holder: string; heldForMs: number } | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function setLeading(value: boolean): void {
    if (value === leading) return;
    leading = value;
    logger?.info(value ? "leading: holds the Lease" : "no longer leading", {
      lease: `${namespace}/${name}`,
      identity,
    });
    options.onChange?.(value);
  }

  function claimed(previous: Lease["spec"] | undefined): Lease["spec"] {
    const now = microTime(new Date());
    const takingOver = previous?.holderIdentity !== identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: takingOver ? now : previous?.acquireTime,
      renewTime: now,
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (takingOver && previous?.holderIdentity ? 1 : 0),
    };
  }

  async function attempt(): Promise<void> {
    let lease: Lease | undefined;
    try {
      lease = await client.request<Lease>("GET", `${path}/${name}`);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
    if (!lease) {
      const created: Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name },
        spec: claimed(undefined),
      };
      await client.request("POST", path, created);
      lastRenewed = Date.now();
      return setLeading(true);
    }
    const holder = lease.spec.holderIdentity;
    if (holder && holder !== identity) {
      const record = JSON.stringify(lease.spec);
      const heldFor = (lease.spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (observed?.record !== record) observed = { record, since: Date.now(), holder, heldForMs: heldFor };
      setLeading(false);
      if (Date.now() - observed.since < heldFor) return;
      logger?.info("the Lease's holder stopped renewing it; taking over", { holder });
    }
    await client.request("PUT", `${path}/${name}`, { ...lease, spec: claimed(lease.spec) });
    lastRenewed = Date.now();
    setLeading(true);
  }

  async function campaign(): Promise<void> {
    try {
      await attempt();
    } catch (err) {
      // A lost race (409) or an unreachable API server: a leader keeps leading until its lease ran out.
      if (leading && Date.now() - lastRenewed >= durationMs) setLeading(false);
      if (!(err instanceof KubeApiError && err.status === 409)) {
        logger?.warn("leader election: could not read or write the Lease", { error: (err as Error).message });
      }
    }
    if (!closed) timer = setTimeout(() => void campaign(), durationMs / 3);
  }

  void campaign();

  return {
    identity,
    isLeader: () => leading,
    holder() {
      if (leading) return identity;
      if (observed && Date.now() - observed.since < observed.heldForMs) return observed.holder;
      return undefined;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      if (!leading) return;
      setLeading(false);
      try {
        const lease = await client.request<Lease>("GET", `${path}/${name}`);
        if (lease.spec.holderIdentity !== identity) return;
        const released = {
          ...lease.spec,
          holderIdentity: "",
          leaseDurationSeconds: 1,
          renewTime: microTime(new Date()),
        };
        await client.request("PUT", `${path}/${name}`, { ...lease, spec: released });
      } catch {
        // The Lease then runs out by itself.
      }
    },
  };
}

/** A Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
