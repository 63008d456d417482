import { type Context, Hono } from "hono";
import { jsonBytesExceed, MAX_POLICY_BYTES, type Policy } from "../../policy/index.ts";
import { HfiError, type PolicyStore } from "../../store/index.ts";
import { readBodyText } from "../body.ts";
import type { Logger } from "../logger.ts";
import { validatePolicyDocument } from "../policy-validation.ts";

/** Largest policy as stored JSON: 1 KiB below the body limit, for metadata and status the server sets. */
const MAX_STORED_POLICY_BYTES = MAX_POLICY_BYTES - 1024;

/** `/v1/policies`: the FaultInjectionPolicy resource, kubectl-style. */
export function policyRoutes({ store, logger }: { store: PolicyStore; logger: Logger }): Hono {
  const app = new Hono();

  app.post("/", async (c) => {
    const policy = await store.create(await readPolicy(c));
    logger.info("policy created", {
      policy: policy.metadata.name,
      revision: Number(policy.metadata.resourceVersion),
      ...(policy.status?.expiresAt && { expiresAt: policy.status.expiresAt }),
    });
    return c.json(policy, 201);
  });

  app.put("/:name", async (c) => {
    const name = c.req.param("name");
    const input = await readPolicy(c);
    if (input.metadata.name !== name) {
      throw new HfiError("InvalidInput", `metadata.name "${input.metadata.name}" does not match the URL`, [
        { path: "metadata.name", message: `must equal the name in the URL ("${name}")` },
      ]);
    }
    const { policy, created } = await store.createOrUpdate(input);
    const revision = Number(policy.metadata.resourceVersion);
    logger.info(created ? "policy created" : "policy updated", {
      policy: name,
      revision,
      ...(policy.status?.expiresAt && { expiresAt: policy.status.expiresAt }),
    });
    return c.json(policy, created ? 201 : 200);
  });

  app.get("/", async (c) => c.json(await store.list()));

  app.get("/:name", async (c) => c.json(await store.get(c.req.param("name"))));

  app.delete("/:name", async (c) => {
    const policy = await store.delete(c.req.param("name"));
    logger.info("policy deleted", { policy: policy.metadata.name });
    return c.json(policy);
  });

  return app;
}

async function readPolicy(c: Context): Promise<Policy> {
  const result = await validatePolicyDocument(
    await readBodyText(c, MAX_POLICY_BYTES),
    c.req.header("content-type"),
  );
  if (!result.success) throw new HfiError(result.code, result.message, result.issues);
  // What the store keeps is JSON, which escapes control characters six bytes to one: bound that too,
  // with room for the fields the server adds, so that what a GET returns can always be PUT back.
  if (jsonBytesExceed(result.output, MAX_STORED_POLICY_BYTES)) {
    throw new HfiError(
      "PayloadTooLarge",
      `the policy exceeds ${MAX_STORED_POLICY_BYTES} bytes as stored JSON (1 MiB less room for server-set fields)`,
    );
  }
  return result.output;
}
