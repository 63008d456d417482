import { Hono } from "hono";
import { consoleRoutes } from "../console/console.ts";
import { createSubscriberRegistry, type Distributor, type SubscriberRegistry } from "../distributor/index.ts";
import {
  createEventLog,
  createExperiments,
  type EventLog,
  type Experiments,
  recordStoreEvents,
} from "../experiments/index.ts";
import { defaultReplicaName, type Fleet, soloFleet } from "../fleet/index.ts";
import { createObservationLedger } from "../observations/index.ts";
import { HfiError, type PolicyStore } from "../store/index.ts";
import { type AuthTokens, requireToken } from "./auth.ts";
import { type ConfigClients, createConfigClients } from "./clients.ts";
import { errorResponse, handleErrors } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { allowedMethods } from "./methods.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { requestLog } from "./request-log.ts";
import { configRoutes } from "./routes/config.ts";
import { eventRoutes } from "./routes/events.ts";
import { experimentRoutes } from "./routes/experiments.ts";
import { haltRoutes } from "./routes/halt.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { observationRoutes } from "./routes/observations.ts";
import { openapiRoutes } from "./routes/openapi.ts";
import { policyRoutes } from "./routes/policies.ts";
import { statusRoutes } from "./routes/status.ts";

export interface AppOptions {
  store: PolicyStore;
  distributor: Distributor;
  logger: Logger;
  /** SSE heartbeat interval; 15 s unless a test needs it shorter. */
  heartbeatMs?: number;
  /** Default: a registry of the app's own. */
  metrics?: Metrics;
  /** Default: counted here, never released. startServer passes its own, to release at shutdown. */
  clients?: ConfigClients;
  /** When given, `/v1` needs a bearer token (auth.ts); health and metrics stay open. */
  auth?: AuthTokens;
  /** The long-poll subscribers seen; default: a registry of the app's own. */
  subscribers?: SubscriberRegistry;
  /** Events for `GET /v1/events`; default: a log of the app's own, fed by the store and the experiments. */
  events?: EventLog;
  /** Default: experiments of the app's own over `store`, the fleet's observations and `events`. */
  experiments?: Experiments;
  /** The replicas (leader, everyone's proxies and observations); default: this app alone, over `subscribers` and a ledger of its own. */
  fleet?: Fleet;
}

/** The control plane's HTTP API (docs/API_REFERENCE.md), independent of the server that runs it. */
export function createApp(options: AppOptions): Hono {
  const { store, distributor, logger, heartbeatMs = 15_000, auth } = options;
  const metrics = options.metrics ?? createMetrics();
  const clients = options.clients ?? createConfigClients();
  const subscribers = options.subscribers ?? createSubscriberRegistry();
  const events = options.events ?? ownEvents(store);
  const fleet = options.fleet ?? soloFleet(defaultReplicaName(), subscribers, createObservationLedger());
  const { observations } = fleet;
  const experiments = options.experiments ?? createExperiments({ store, ledger: observations, events });
  metrics.observe({ distributor, clients, subscribers, fleet, experiments });
  const app = new Hono();
  app.use(requestLog(logger));
  app.use(metrics.requests);
  if (auth) app.use("/v1/*", requireToken(auth));
  app.use("/v1/config", clients.longPoll);
  app.use("/v1/config/stream", clients.stream);
  app.route("/", consoleRoutes());
  app.route("/", healthRoutes({ store }));
  app.route("/", metricsRoutes(metrics));
  app.route("/", openapiRoutes({ auth: auth !== undefined, namespaces: store.namespaces }));
  app.route("/v1/policies", policyRoutes({ store, logger }));
  app.route("/v1/halt", haltRoutes({ store, logger }));
  app.route("/v1/config", configRoutes({ distributor, heartbeatMs, subscribers }));
  app.route("/v1/observations", observationRoutes({ ledger: observations }));
  app.route("/v1/experiments", experimentRoutes({ experiments, logger }));
  app.route("/v1/events", eventRoutes({ events, heartbeatMs }));
  app.route("/v1/status", statusRoutes({ distributor, fleet }));
  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length === 0) {
      return errorResponse(c, new HfiError("NotFound", `no route for ${c.req.method} ${c.req.path}`));
    }
    c.header("Allow", allowed.join(", "));
    return errorResponse(
      c,
      new HfiError(
        "MethodNotAllowed",
        `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(", ")}`,
      ),
    );
  });
  app.onError(handleErrors(logger));
  return app;
}

/** An event log of the app's own (tests); `startServer` passes one it stops feeding at shutdown. */
function ownEvents(store: PolicyStore): EventLog {
  const events = createEventLog();
  recordStoreEvents(store, events);
  return events;
}
