import { Hono } from "hono";
import type { ObservationsList, PolicyObservationView } from "../../api-types.ts";
import {
  MAX_REPORT_BYTES,
  type ObservationLedger,
  type PolicyObservation,
  parseReport,
  summarize,
} from "../../observations/index.ts";
import { HfiError } from "../../store/index.ts";
import { readBodyBytes } from "../body.ts";

const IDENTITY = /^[\x21-\x7e]{1,256}$/;

/**
 * `/v1/observations`: filters POST what they observed of each policy's traffic (docs/FILTER.md,
 * "Observations"); GET shows the totals across every proxy reporting to any replica (the fleet's
 * ledger), with the summary a Recommender scores.
 */
export function observationRoutes({ ledger }: { ledger: ObservationLedger }): Hono {
  const app = new Hono();

  app.post("/", async (c) => {
    const node = c.req.query("node") ?? "";
    const worker = c.req.query("worker") ?? "";
    for (const [field, value] of [
      ["node", node],
      ["worker", worker],
    ] as const) {
      if (!IDENTITY.test(value)) {
        throw new HfiError(
          "InvalidInput",
          `${field}: expected 1..256 visible ASCII characters in the query`,
          [{ path: field, message: "expected 1..256 visible ASCII characters" }],
        );
      }
    }
    const report = parseReport(await readBodyBytes(c, MAX_REPORT_BYTES));
    const counted = ledger.record(node, worker, report);
    return c.json({ seq: report.seq, counted });
  });

  app.get("/", (c) => c.json({ policies: ledger.list().map(view) } satisfies ObservationsList));

  app.get("/:name", (c) => {
    const name = c.req.param("name");
    const found = ledger.get(name);
    if (!found) throw new HfiError("NotFound", `nothing observed for policy ${name}`);
    return c.json(view(found));
  });

  return app;
}

function view(o: PolicyObservation): PolicyObservationView {
  return { ...o, summary: summarize(o) };
}
