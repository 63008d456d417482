import { Hono } from "hono";
import type { Distributor } from "../../distributor/index.ts";
import type { Fleet, FleetProxy } from "../../fleet/index.ts";

/** The body of `GET /v1/status`. */
export interface FleetStatus {
  /** The revision of the RuleSet this replica serves now. */
  revision: number;
  /** Whether that RuleSet is halted. */
  halted: boolean;
  /** The replica that answered. */
  replica: string;
  /** The replica that runs the singleton duties; null while there is none (during a failover). */
  leader: string | null;
  /** Every live replica, sorted. */
  replicas: string[];
}

/** The body of `GET /v1/status/proxies`. */
export interface ProxiesStatus {
  /** The revision of the RuleSet this replica serves now. */
  revision: number;
  /** Whether that RuleSet is halted. */
  halted: boolean;
  /** The subscribers of every live replica, sorted by node, worker and replica. */
  proxies: FleetProxy[];
}

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
