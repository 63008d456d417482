import { Hono } from "hono";
import {
  appliedRevision,
  type Distributor,
  type Subscriber,
  type SubscriberRegistry,
} from "../../distributor/index.ts";

/** The body of `GET /v1/status/proxies`. */
export interface ProxiesStatus {
  /** The revision of the RuleSet this replica serves now. */
  revision: number;
  /** That RuleSet's identity (its ETag). */
  id: string;
  /** Whether that RuleSet is halted. */
  halted: boolean;
  /**
   * The subscribers that have long-polled this replica, sorted by node and worker; the revision of
   * one that has the current rules (same identity) is the current revision.
   */
  proxies: Subscriber[];
}

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
