import { Hono } from "hono";
import type { FleetStatus, ProxiesStatus } from "../../api-types.ts";
import type { Distributor } from "../../distributor/index.ts";
import type { Fleet } from "../../fleet/index.ts";

/** `/v1/status`: the fleet — its leader and replicas, and what the proxies polling any of them have applied. */
export function statusRoutes(options: { distributor: Distributor; fleet: Fleet }): Hono {
  const { distributor, fleet } = options;
  const app = new Hono();

  const served = () => {
    const { revision, ruleSet } = distributor.current();
    return { revision, halted: ruleSet.halted === true };
  };

  app.get("/", async (c) => {
    const { leadership } = fleet;
    return c.json({
      ...served(),
      replica: leadership.replica,
      leader: leadership.leader() ?? null,
      replicas: await fleet.proxies.replicas(),
    } satisfies FleetStatus);
  });

  app.get("/proxies", async (c) => {
    const status = served();
    return c.json({ ...status, proxies: await fleet.proxies.list() } satisfies ProxiesStatus);
  });

  return app;
}
