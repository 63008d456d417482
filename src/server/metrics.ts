import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Distributor, Subscriber, SubscriberRegistry } from "../distributor/index.ts";
import { EXPERIMENT_STATES, type Experiments } from "../experiments/index.ts";
import type { Fleet } from "../fleet/index.ts";
import type { ConfigClients } from "./clients.ts";

/** The control plane's Prometheus metrics, in a registry of their own (one per app, never global). */
export interface Metrics {
  readonly registry: Registry;
  /** Counts and times every request by method, matched route and status. */
  readonly requests: MiddlewareHandler;
  /** One failed store call or watch interruption. */
  storeError(operation: string): void;
  /** Reads the config state, connected clients and proxies at every scrape. */
  observe(sources: {
    distributor: Distributor;
    clients: ConfigClients;
    subscribers?: SubscriberRegistry;
    fleet?: Fleet;
    experiments?: Experiments;
  }): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const requestsTotal = new Counter({
    name: "hfi_http_requests_total",
    help: "HTTP requests answered, by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const requestSeconds = new Histogram({
    name: "hfi_http_request_duration_seconds",
    help: "Time to the response (for streams: to its start), by method and route",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60],
    registers,
  });
  const storeErrors = new Counter({
    name: "hfi_store_errors_total",
    help: "Failed policy store calls and watch interruptions, by operation",
    labelNames: ["operation"] as const,
    registers,
  });
  let sources: Parameters<Metrics["observe"]>[0] | undefined;
  /**
   * Every replica's observations summed, on the leader, nothing elsewhere; where replicas do not
   * share them (Kubernetes), each replica's own.
   */
  const fleetObservations = () => {
    const fleet = sources?.fleet;
    if (!fleet) return [];
    return fleet.observationsCover === "replica" || fleet.leadership.isLeader()
      ? fleet.observations.list()
      : [];
  };
  new Gauge({
    name: "hfi_policies",
    help: "Policies in the current RuleSet",
    registers,
    collect() {
      if (sources) this.set(sources.distributor.current().ruleSet.rules.length);
    },
  });
  new Gauge({
    name: "hfi_ruleset_revision",
    help: "Revision of the RuleSet being served",
    registers,
    collect() {
      if (sources) this.set(sources.distributor.current().revision);
    },
  });
  new Gauge({
    name: "hfi_halted",
    help: "1 while the RuleSet being served is halted (hfi halt), else 0",
    registers,
    collect() {
      if (sources) this.set(sources.distributor.current().ruleSet.halted ? 1 : 0);
    },
  });
  new Gauge({
    name: "hfi_proxies",
    help: "Proxy workers long-polling this replica, by state: live (and current: with the served rules), stale",
    labelNames: ["state"] as const,
    registers,
    collect() {
      if (!sources?.subscribers) return;
      const current = sources.distributor.current();
      const proxies = sources.subscribers.list();
      const live = proxies.filter((p) => p.live);
      this.set({ state: "live" }, live.length);
      this.set({ state: "current" }, live.filter((p) => isCurrent(p, current)).length);
      this.set({ state: "stale" }, proxies.length - live.length);
    },
  });
  new Gauge({
    name: "hfi_observed_requests",
    help: "Requests each policy matched, as its filters reported them to any replica (docs/FILTER.md, Observations); only the leader reports it, so a sum over replicas counts each request once",
    labelNames: ["policy"] as const,
    registers,
    collect() {
      this.reset();
      for (const o of fleetObservations()) this.set({ policy: o.name }, o.matched);
    },
  });
  new Gauge({
    name: "hfi_observed_responses",
    help: "Responses to the requests each policy matched, by status code (0: none, a reset); only the leader reports it",
    labelNames: ["policy", "status"] as const,
    registers,
    collect() {
      this.reset();
      for (const o of fleetObservations()) {
        for (const [status, n] of Object.entries(o.statuses)) this.set({ policy: o.name, status }, n);
      }
    },
  });
  new Gauge({
    name: "hfi_experiments",
    help: "Experiments this replica runs or ran, by state",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const experiments = sources?.experiments;
      if (!experiments) return;
      for (const state of EXPERIMENT_STATES) this.set({ state }, experiments.list(state).length);
    },
  });
  new Gauge({
    name: "hfi_leader",
    help: "1 while this replica leads the fleet (runs the singleton duties), else 0",
    registers,
    collect() {
      if (sources?.fleet) this.set(sources.fleet.leadership.isLeader() ? 1 : 0);
    },
  });
  new Gauge({
    name: "hfi_fleet_proxies",
    help: "Proxy workers polling any replica, by state: live, current (live, with the served rules); only the leader reports it where replicas share their proxies (etcd, Kubernetes), so a sum over replicas counts each worker once",
    labelNames: ["state"] as const,
    registers,
    async collect() {
      this.reset();
      const fleet = sources?.fleet;
      if (!sources || !fleet) return;
      if (fleet.proxies.covers === "fleet" && !fleet.leadership.isLeader()) return;
      const current = sources.distributor.current();
      // /metrics answers even when etcd does not: the gauge is then left without samples.
      const proxies = await fleet.proxies.list().catch(() => undefined);
      if (!proxies) return;
      const live = proxies.filter((p) => p.live);
      this.set({ state: "live" }, live.length);
      this.set({ state: "current" }, live.filter((p) => isCurrent(p, current)).length);
    },
  });
  new Gauge({
    name: "hfi_config_clients",
    help: "Config clients connected now, by transport (sse, long-poll)",
    labelNames: ["transport"] as const,
    registers,
    collect() {
      if (!sources) return;
      const { sse, longPoll } = sources.clients.count();
      this.set({ transport: "sse" }, sse);
      this.set({ transport: "long-poll" }, longPoll);
    },
  });

  return {
    registry,
    async requests(c, next) {
      const started = performance.now();
      await next();
      const route = routeOf(c);
      requestsTotal.inc({ method: c.req.method, route, status: String(c.res.status) });
      requestSeconds.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
    },
    storeError(operation) {
      storeErrors.inc({ operation });
    },
    observe(next) {
      sources = next;
    },
  };
}

/** Whether a worker has the served rules: by identity, or by revision from filters that send none. */
function isCurrent(p: Subscriber, current: { id: string; revision: number }): boolean {
  return p.ruleSetId !== null ? p.ruleSetId === current.id : p.revision === current.revision;
}

/** The route pattern that answered (`/v1/policies/:name`), so that labels stay few; "unmatched" for 404s. */
function routeOf(c: Context): string {
  const handler = matchedRoutes(c).findLast((route) => route.method !== "ALL");
  return handler?.path ?? "unmatched";
}
