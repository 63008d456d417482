import { Hono } from "hono";
import type { Distributor } from "../distributor/index.ts";
import { HfiError, type PolicyStore } from "../store/index.ts";
import { errorResponse, handleErrors } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { requestLog } from "./request-log.ts";
import { configRoutes } from "./routes/config.ts";
import { healthRoutes } from "./routes/health.ts";
import { openapiRoutes } from "./routes/openapi.ts";
import { policyRoutes } from "./routes/policies.ts";

export interface AppOptions {
  store: PolicyStore;
  distributor: Distributor;
  logger: Logger;
  /** SSE heartbeat interval; 15 s unless a test needs it shorter. */
  heartbeatMs?: number;
}

/** The control plane's HTTP API (DESIGN §4), independent of the server that runs it. */
export function createApp({ store, distributor, logger, heartbeatMs = 15_000 }: AppOptions): Hono {
  const app = new Hono();
  app.use(requestLog(logger));
  app.route("/", healthRoutes({ store }));
  app.route("/", openapiRoutes());
  app.route("/v1/policies", policyRoutes({ store, logger }));
  app.route("/v1/config", configRoutes({ distributor, heartbeatMs }));
  app.notFound((c) =>
    errorResponse(c, new HfiError("NotFound", `no route for ${c.req.method} ${c.req.path}`)),
  );
  app.onError(handleErrors(logger));
  return app;
}
