import { Hono } from "hono";
import type { Distributor, Subscriber, SubscriberRegistry } from "../../distributor/index.ts";

/** The body of `GET /v1/status/proxies`. */
export interface ProxiesStatus {
  /** The revision of the RuleSet this replica serves now. */
  revision: number;
  /** Whether that RuleSet is halted. */
  halted: boolean;
  /** The subscribers that have long-polled this replica, sorted by node and worker. */
  proxies: Subscriber[];
}

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
