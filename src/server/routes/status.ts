import { Hono } from "hono";
import type { ProxiesStatus } from "../../api-types.ts";
import type { Distributor, SubscriberRegistry } from "../../distributor/index.ts";

/** `/v1/status`: what the proxies polling this replica have applied. */
export function statusRoutes(options: { distributor: Distributor; subscribers: SubscriberRegistry }): Hono {
  const { distributor, subscribers } = options;
  const app = new Hono();

  app.get("/proxies", (c) => {
    const { revision, ruleSet } = distributor.current();
    return c.json({
      revision,
      halted: ruleSet.halted === true,
      proxies: subscribers.list(),
    } satisfies ProxiesStatus);
  });

  return app;
}
