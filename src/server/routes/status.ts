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
      proxies: subscribers.list().map((proxy) => ({ ...proxy, revision: appliedRevision(proxy, current) })),
    } satisfies ProxiesStatus);
  });

  return app;
}
