import { Hono } from "hono";
import type { Registry } from "prom-client";

/** `GET /metrics`: Prometheus text exposition of the app's own registry. */
export function metricsRoutes({ registry }: { registry: Registry }): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) =>
    c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType }),
  );
  return app;
}
