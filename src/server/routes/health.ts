import { Hono } from "hono";
import { HfiError, isHfiError, type PolicyStore } from "../../store/index.ts";

/** Liveness: the process answers. Readiness: the store answers too. */
export function healthRoutes({ store }: { store: PolicyStore }): Hono {
  const app = new Hono();

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    try {
      await store.ping();
    } catch (err) {
      if (isHfiError(err)) throw err;
      throw new HfiError(
        "Unavailable",
        `policy store unreachable: ${err instanceof Error ? err.message : err}`,
      );
    }
    return c.json({ status: "ready" });
  });

  return app;
}
