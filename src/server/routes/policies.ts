import { type Context, Hono } from "hono";
import * as v from "valibot";
import {
  jsonBytesExceed,
  MAX_POLICY_BYTES,
  NamespaceNameSchema,
  type Policy,
  toFieldIssues,
} from "../../policy/index.ts";
import { HfiError, type PolicyStore, resolveNamespace } from "../../store/index.ts";
import { readBodyText } from "../body.ts";
import type { Logger } from "../logger.ts";
import { validatePolicyDocument } from "../policy-validation.ts";

/** Largest policy as stored JSON: 1 KiB below the body limit, for metadata and status the server sets. */
const MAX_STORED_POLICY_BYTES = MAX_POLICY_BYTES - 1024;

/**
 * `/v1/policies`: the FaultInjectionPolicy resource, kubectl-style. `?namespace=` names the namespace
 * (default: the control plane's, or on a write the body's `metadata.namespace`); a list with
 * `?allNamespaces=true` has every namespace's policies, whatever `namespace` says.
 */
export function policyRoutes({ store, logger }: { store: PolicyStore; logger: Logger }): Hono {
  const app = new Hono();

  /** The namespace `?namespace=` names, if it names one the store holds. */
  function requested(c: Context): string | undefined {
    const namespace = c.req.query("namespace");
    if (namespace === undefined) return undefined;
    const result = v.safeParse(NamespaceNameSchema, namespace);
    if (!result.success) {
      const [issue] = toFieldIssues(result.issues);
      throw new HfiError("InvalidInput", `namespace: ${issue?.message}`, [
        { path: "namespace", message: issue?.message ?? "" },
      ]);
    }
    return resolveNamespace(store.namespaces, namespace);
  }

  /** The policy a write sends, in the namespace of the request (which its own, if it names one, must be). */
  async function readPolicyIn(c: Context): Promise<Policy> {
    const query = requested(c);
    const policy = await readPolicy(c);
    const own = policy.metadata.namespace;
    if (query !== undefined && own !== undefined && own !== query) {
      throw new HfiError(
        "InvalidInput",
        `the namespace of the provided object ("${own}") does not match the namespace sent on the request ("${query}")`,
        [
          {
            path: "metadata.namespace",
            message: `must be "${query}", the namespace of the request, or absent`,
          },
        ],
      );
    }
    const namespace = resolveNamespace(store.namespaces, query ?? own, "metadata.namespace");
    return { ...policy, metadata: { ...policy.metadata, namespace } };
  }

  app.post("/", async (c) => {
    const policy = await store.create(await readPolicyIn(c));
    logger.info("policy created", {
      policy: policy.metadata.name,
      namespace: policy.metadata.namespace,
      revision: Number(policy.metadata.resourceVersion),
      ...(policy.status?.expiresAt && { expiresAt: policy.status.expiresAt }),
    });
    return c.json(policy, 201);
  });

  app.put("/:name", async (c) => {
    const name = c.req.param("name");
    const input = await readPolicyIn(c);
    if (input.metadata.name !== name) {
      throw new HfiError("InvalidInput", `metadata.name "${input.metadata.name}" does not match the URL`, [
        { path: "metadata.name", message: `must equal the name in the URL ("${name}")` },
      ]);
    }
    const { policy, created } = await store.createOrUpdate(input);
    const revision = Number(policy.metadata.resourceVersion);
    logger.info(created ? "policy created" : "policy updated", {
      policy: name,
      namespace: policy.metadata.namespace,
      revision,
      ...(policy.status?.expiresAt && { expiresAt: policy.status.expiresAt }),
    });
    return c.json(policy, created ? 201 : 200);
  });

  app.get("/", async (c) => {
    const all = c.req.query("allNamespaces");
    if (all !== undefined && all !== "true" && all !== "false") {
      throw new HfiError("InvalidInput", `allNamespaces: must be true or false, not "${all}"`, [
        { path: "allNamespaces", message: "must be true or false" },
      ]);
    }
    const namespace = requested(c);
    const { items, revision } = await store.list();
    // Over namespace, as kubectl's --all-namespaces is over --namespace.
    if (all === "true") return c.json({ items, revision });
    const wanted = namespace ?? store.namespaces.home;
    return c.json({ items: items.filter((p) => p.metadata.namespace === wanted), revision });
  });

  app.get("/:name", async (c) => c.json(await store.get(c.req.param("name"), requested(c))));

  app.delete("/:name", async (c) => {
    const policy = await store.delete(c.req.param("name"), requested(c));
    logger.info("policy deleted", { policy: policy.metadata.name, namespace: policy.metadata.namespace });
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
