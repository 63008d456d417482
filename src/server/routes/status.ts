import { Hono } from "hono";
import type { ProxiesStatus } from "../../api-types.ts";
import { appliedRevision, type Distributor, type SubscriberRegistry } from "../../distributor/index.ts";

/** `/v1/status`: what the proxies polling this replica have applied. */
export function statusRoutes(options: { distributor: Distributor; subscribers: SubscriberRegistry }): Hono {
  const { distributor, subscribers } = options;
  const app = new Hono();

  app.get("/proxies", (c) => {
    const current = distributor.current();
    return c.json({
      revision: current.revision,
      id: current.id,
      halted: current.ruleSet.halted === true,
      proxies: subscribers.list().map((proxy) => {
        // Each proxy against the rule set its identity is served, which its selectors decide.
        const served = distributor.current(proxy);
        return { ...proxy, revision: appliedRevision(proxy, served), servedId: served.id };
      }),
    } satisfies ProxiesStatus);
  });

  return app;
}
