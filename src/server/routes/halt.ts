import { type Context, Hono } from "hono";
import * as v from "valibot";
import type { HaltStatus } from "../../api-types.ts";
import {
  decodeJson,
  findIllFormedString,
  ILL_FORMED_MESSAGE,
  maxCharacters,
  toFieldIssues,
} from "../../policy/index.ts";
import { type Halt, HfiError, type PolicyStore } from "../../store/index.ts";
import { readBodyText } from "../body.ts";
import { remoteAddress } from "../connection.ts";
import type { Logger } from "../logger.ts";

/** Largest halt request body, in bytes. */
const MAX_HALT_BODY_BYTES = 8 * 1024;

export const HaltRequestSchema = v.strictObject(
  {
    reason: v.optional(
      v.pipe(v.string("must be a string"), maxCharacters(1024, "must be at most 1024 characters")),
    ),
    by: v.optional(
      v.pipe(v.string("must be a string"), maxCharacters(256, "must be at most 256 characters")),
    ),
  },
  (issue) =>
    issue.expected === "never" ? `unknown field ${JSON.stringify(issue.input)}` : "must be an object",
);

/**
 * `/v1/halt`: the fleet-wide halt. POST halts (201; 200 with the halt already in force, unchanged),
 * DELETE lifts it (200, `lifted` and the new `revision` when there was one), GET shows it.
 */
export function haltRoutes({ store, logger }: { store: PolicyStore; logger: Logger }): Hono {
  const app = new Hono();

  app.get("/", async (c) => c.json(haltStatus(await store.getHalt())));

  app.post("/", async (c) => {
    const request = await readRequest(c);
    const { halt, created } = await store.halt({ ...request, by: request.by ?? remoteAddress(c) });
    if (created) logger.warn("fleet halted", { reason: halt.reason, by: halt.by, revision: halt.revision });
    return c.json(haltStatus(halt), created ? 201 : 200);
  });

  app.delete("/", async (c) => {
    const resumed = await store.resume();
    if (!resumed) return c.json({ halted: false } satisfies HaltStatus);
    logger.warn("fleet resumed", { revision: resumed.revision, halted_since: resumed.lifted.since });
    return c.json({ halted: false, lifted: resumed.lifted, revision: resumed.revision } satisfies HaltStatus);
  });

  return app;
}

function haltStatus(halt: Halt | undefined): HaltStatus {
  return halt ? { halted: true, ...halt } : { halted: false };
}

/** An empty body is an empty request; anything else is JSON `{reason?, by?}`. */
async function readRequest(c: Context): Promise<v.InferOutput<typeof HaltRequestSchema>> {
  const text = await readBodyText(c, MAX_HALT_BODY_BYTES);
  if (text.trim() === "") return {};
  const decoded = decodeJson(text);
  if ("error" in decoded) {
    throw new HfiError(
      "InvalidInput",
      `malformed JSON: ${decoded.path ? `${decoded.path}: ` : ""}${decoded.error}`,
      [{ path: decoded.path, message: decoded.error }],
    );
  }
  const illFormed = findIllFormedString(decoded.value);
  if (illFormed !== undefined) {
    throw new HfiError("InvalidInput", `invalid halt request: ${illFormed}: ${ILL_FORMED_MESSAGE}`, [
      { path: illFormed, message: ILL_FORMED_MESSAGE },
    ]);
  }
  // valibot takes an array for an object
  const value = Array.isArray(decoded.value) ? null : decoded.value;
  const result = v.safeParse(HaltRequestSchema, value);
  if (result.success) return result.output;
  const issues = toFieldIssues(result.issues);
  const first = issues[0];
  throw new HfiError(
    "InvalidInput",
    `invalid halt request: ${first?.path ? `${first.path}: ` : ""}${first?.message}`,
    issues,
  );
}
