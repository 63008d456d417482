import { type Context, Hono } from "hono";
import type { ExperimentList } from "../../api-types.ts";
import {
  EXPERIMENT_STATES,
  type ExperimentState,
  type Experiments,
  parseExperimentRequest,
} from "../../experiments/index.ts";
import { MAX_POLICY_BYTES } from "../../policy/index.ts";
import { HfiError } from "../../store/index.ts";
import { readBodyText } from "../body.ts";
import type { Logger } from "../logger.ts";

const MAX_IDEMPOTENCY_KEY = 256;

/** `/v1/experiments`: run a fault for a time, observe it, stop on harm (docs/API_REFERENCE.md). */
export function experimentRoutes({
  experiments,
  logger,
}: {
  experiments: Experiments;
  logger: Logger;
}): Hono {
  const app = new Hono();

  app.post("/", async (c) => {
    const text = await readBodyText(c, MAX_POLICY_BYTES);
    const key = idempotencyKey(c);
    const request = parseExperimentRequest(decode(text));
    // The canonical body: the same request however it was spaced.
    const { experiment, created } = await experiments.start(request, JSON.stringify(JSON.parse(text)), key);
    if (created)
      logger.info("experiment started", {
        id: experiment.id,
        name: experiment.name,
        state: experiment.state,
      });
    return c.json(experiment, created ? 201 : 200);
  });

  app.get("/", (c) => {
    const state = c.req.query("state");
    if (state !== undefined && !(EXPERIMENT_STATES as readonly string[]).includes(state)) {
      throw new HfiError("InvalidInput", `state: must be one of ${EXPERIMENT_STATES.join(", ")}`, [
        { path: "state", message: `must be one of ${EXPERIMENT_STATES.join(", ")}` },
      ]);
    }
    return c.json({ items: experiments.list(state as ExperimentState | undefined) } satisfies ExperimentList);
  });

  app.get("/:id", (c) => c.json(experiments.get(c.req.param("id"))));

  app.post("/:id/stop", async (c) => {
    const experiment = await experiments.stop(c.req.param("id"));
    logger.info("experiment stop requested", { id: experiment.id, state: experiment.state });
    return c.json(experiment);
  });

  app.get("/:id/results", (c) => c.json(experiments.results(c.req.param("id"))));

  return app;
}

function idempotencyKey(c: Context): string | undefined {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) {
    throw new HfiError("InvalidInput", `Idempotency-Key: must be 1 to ${MAX_IDEMPOTENCY_KEY} characters`, [
      { path: "Idempotency-Key", message: `must be 1 to ${MAX_IDEMPOTENCY_KEY} characters` },
    ]);
  }
  return key;
}

function decode(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HfiError("InvalidInput", `malformed JSON: ${(err as Error).message}`, [
      { path: "", message: (err as Error).message },
    ]);
  }
}
