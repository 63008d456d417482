import { setTimeout as sleep } from "node:timers/promises";
import {
  createDistributor,
  createSubscriberRegistry,
  type SubscriberRegistry,
  type SubscriberRegistryOptions,
} from "../distributor/index.ts";
import { createEventLog, createExperiments, recordStoreEvents } from "../experiments/index.ts";
import {
  DEFAULT_LEASE_TTL_SECONDS,
  defaultReplicaName,
  type Fleet,
  soloFleet,
  startEtcdFleet,
  startKubernetesFleet,
} from "../fleet/index.ts";
import { createObservationLedger, type ObservationLedger } from "../observations/index.ts";
import {
  connectKubernetes,
  HfiError,
  openStore,
  type PolicyStore,
  type StoreConfig,
  type StoreHooks,
} from "../store/index.ts";
import { createApp } from "./app.ts";
import { loadTokenFile } from "./auth.ts";
import { createConfigClients } from "./clients.ts";
import { logStoreEvents } from "./events.ts";
import { listen } from "./listen.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createMetrics } from "./metrics.ts";
import { precompileRegexes } from "./policy-validation.ts";
import { followProxies, propagationOf } from "./propagation.ts";

export interface ServerOptions {
  /** `host:port`, `[ipv6]:port` or `:port`; port 0 picks a free one. Default `0.0.0.0:8080`. */
  listen?: string;
  /** Where policies live; the server opens the store and closes it on stop. Default: memory. */
  store?: StoreConfig;
  /**
   * This replica among others on the same etcd: its name in `/v1/status` and the proxies' `replica`
   * (default `<hostname>-<pid>`), and the TTL of the leases its leadership and published proxies are
   * bound to (default 10 s).
   */
  fleet?: { replica?: string; leaseTtlSeconds?: number };
  /** Default: JSON lines on stdout. */
  logger?: Logger;
  heartbeatMs?: number;
  /** Require bearer tokens from this file (auth.ts); without it the API is open. */
  authTokenFile?: string;
  /** How long stop() lets ordinary requests in flight finish before cutting them. Default 5000. */
  shutdownGraceMs?: number;
  /** How long-poll subscribers are judged live and forgotten (GET /v1/status/proxies). */
  subscribers?: SubscriberRegistryOptions;
}

export interface RunningServer {
  /** Base URL for clients, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  /**
   * Graceful: stops accepting, answers held long-polls with 304 and ends SSE streams (so their
   * clients reconnect elsewhere at once), lets other requests finish, then closes the store.
   */
  stop(): Promise<void>;
}

/** Runs the control plane on Bun.serve (or @hono/node-server under Node.js, see listen.ts). */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger();
  const { hostname, port } = parseListen(options.listen ?? "0.0.0.0:8080");
  const auth = options.authTokenFile ? await loadTokenFile(options.authTokenFile) : undefined;
  const metrics = createMetrics();
  const storeConfig = options.store ?? { type: "memory" };
  const propagation: StoreHooks["propagation"] = {};
  const replica = options.fleet?.replica ?? defaultReplicaName();
  const store = await openStore(storeConfig, {
    logger,
    propagation,
    replica,
    onWatcherError: (err) => logger.error("policy watch listener failed", err),
    onError: (operation) => metrics.storeError(operation),
  });
  const cleanup: (() => unknown)[] = [() => store.close()];
  try {
    const distributor = await createDistributor(store, { logger, beforeCompile: precompileRegexes });
    cleanup.unshift(() => distributor.close());
    cleanup.unshift(logStoreEvents(store, logger));
    const clients = createConfigClients();
    const subscribers = createSubscriberRegistry(options.subscribers);
    const fleet = await openFleet(
      storeConfig,
      replica,
      options.fleet,
      store,
      subscribers,
      createObservationLedger(),
      logger,
    );
    cleanup.unshift(() => fleet.close());
    // Only the Kubernetes store reports how far policies have got (its Propagated condition).
    if (storeConfig.type === "kubernetes") {
      const proxies = await followProxies(fleet.proxies);
      cleanup.unshift(proxies.stop);
      propagation.of = propagationOf(distributor, proxies.current);
    }
    const { observations } = fleet;
    const events = createEventLog();
    cleanup.unshift(recordStoreEvents(store, events));
    const experiments = createExperiments({ store, ledger: observations, events });
    cleanup.unshift(() => experiments.close());
    const app = createApp({
      events,
      experiments,
      store,
      distributor,
      logger,
      heartbeatMs: options.heartbeatMs,
      metrics,
      clients,
      auth,
      subscribers,
      fleet,
    });
    // The default idleTimeout (10 s) stays for ordinary requests; held ones extend their own (connection.ts).
    const server = await listen({ hostname, port, fetch: app.fetch });
    const url = `http://${clientHost(hostname)}:${server.port}`;
    logger.info("control plane listening", {
      url,
      listen: `${hostname}:${server.port}`,
      store: storeConfig.type,
      replica: fleet.leadership.replica,
      auth: auth ? "bearer" : "off",
    });
    if (!auth && !isLoopback(hostname)) {
      logger.warn(
        "auth is off on a non-loopback address: anyone who can reach it may change or halt faults",
        {
          listen: `${hostname}:${server.port}`,
          hint: "listen on 127.0.0.1, or set --auth-token-file (docs/OPERATIONS.md#auth)",
        },
      );
    }
    let stopping: Promise<void> | undefined;
    const stop = async () => {
      logger.info("control plane stopping");
      const drained = server.stop(false);
      clients.release();
      await Promise.race([drained, sleep(options.shutdownGraceMs ?? 5000)]);
      await server.stop(true);
      for (const step of cleanup) await step();
      logger.info("control plane stopped");
    };
    return {
      url,
      port: server.port ?? port,
      stop: () => {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (err) {
    for (const step of cleanup) await step();
    throw err;
  }
}

/** With etcd or Kubernetes, the replicas sharing it; otherwise this process alone. */
async function openFleet(
  storeConfig: StoreConfig,
  replica: string,
  options: ServerOptions["fleet"],
  store: PolicyStore,
  subscribers: SubscriberRegistry,
  ledger: ObservationLedger,
  logger: Logger,
): Promise<Fleet> {
  const leaseTtlSeconds = options?.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  if (storeConfig.type === "kubernetes" && store.election) {
    const { client, namespace } = await connectKubernetes(storeConfig);
    const { election } = store;
    return startKubernetesFleet({
      client,
      namespace,
      replica,
      election,
      leaseTtlSeconds,
      subscribers,
      ledger,
      logger,
    });
  }
  if (storeConfig.type !== "etcd") return soloFleet(replica, subscribers, ledger);
  const { endpoints, prefix = "hfi/" } = storeConfig;
  return startEtcdFleet({ endpoints, prefix, replica, leaseTtlSeconds, store, subscribers, ledger, logger });
}

/** Splits `host:port`; a bare `:port` listens on every IPv4 interface. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new HfiError(
      "InvalidInput",
      `invalid listen address "${listen}": expected host:port, [ipv6]:port or :port`,
    );
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** Only this machine can reach it: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** A wildcard address is not something to connect to; loopback reaches the same server. */
function clientHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
