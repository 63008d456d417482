import { Hono } from "hono";
import type { FleetStatus, ProxiesStatus } from "../../api-types.ts";
import { appliedRevision, type Distributor } from "../../distributor/index.ts";
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
    const current = distributor.current();
    const proxies = await fleet.proxies.list();
    return c.json({
      revision: current.revision,
      id: current.id,
      halted: current.ruleSet.halted === true,
      proxies: proxies.map((proxy) => {
        // Each proxy against the rule set its identity is served, which its selectors decide —
        // whichever replica it polls: the identity of its rules says whether it is current.
        const served = distributor.current(proxy);
        return { ...proxy, revision: appliedRevision(proxy, served), servedId: served.id };
      }),
    } satisfies ProxiesStatus);
  });

  return app;
}
