import { describe, expect, test } from "bun:test";
import { createTestApp, errorOf, jsonOf } from "../../../test/support/control-plane.ts";
import { POLICY_YAML, policyJson } from "../../../test/support/policies.ts";
import type { PolicyList, StoredPolicy } from "../../store/index.ts";

const YAML = { "content-type": "application/yaml" };
const JSON_TYPE = { "content-type": "application/json" };

function body(value: unknown): string {
  return JSON.stringify(value);
}

describe("POST /v1/policies", () => {
  test("201 with the stored object, from YAML", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/policies", { method: "POST", headers: YAML, body: POLICY_YAML });
    expect(res.status).toBe(201);
    const stored = await jsonOf<StoredPolicy>(res);
    expect(stored.metadata).toMatchObject({ name: "checkout-abort", resourceVersion: "1", generation: 1 });
    expect(stored.spec.fault).toEqual({
      percentage: 100,
      abort: { httpStatus: 503, body: "fault injected" },
    });
  });

  test("409 AlreadyExists for a taken name", async () => {
    const { app } = await createTestApp();
    const post = () =>
      app.request("/v1/policies", { method: "POST", headers: JSON_TYPE, body: body(policyJson("a")) });
    await post();
    const res = await post();
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toEqual({
      code: "AlreadyExists",
      message: 'policy "a" already exists',
      details: [],
    });
  });

  test("400 InvalidInput with the path of every bad field", async () => {
    const { app } = await createTestApp();
    const bad = policyJson("a", 700) as Record<string, unknown>;
    bad.extra = 1;
    const res = await app.request("/v1/policies", { method: "POST", headers: JSON_TYPE, body: body(bad) });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("InvalidInput");
    expect(error.details).toEqual([
      { path: "spec.fault.abort.httpStatus", message: "must be at most 599" },
      { path: "extra", message: 'unknown field "extra"' },
    ]);
  });

  test.each([
    [
      "an unknown gRPC status name",
      { abort: { grpcStatus: "UNAVAILBLE" } },
      "spec.fault.abort.grpcStatus",
      "must be a gRPC status name",
    ],
    [
      "a uniform delay whose max is below its min",
      { delay: { uniform: { min: "50ms", max: "10ms" } } },
      "spec.fault.delay.uniform.max",
      "must not be less than min",
    ],
    [
      "a log-normal delay whose p99 is not above its p50",
      { delay: { lognormal: { p50: "1s", p99: "500ms" } } },
      "spec.fault.delay.lognormal.p99",
      "must be more than p50",
    ],
  ])("400 naming the field for %s; nothing is stored", async (_, fault, path, message) => {
    const { app } = await createTestApp();
    const bad = { ...(policyJson("a") as Record<string, unknown>), spec: { fault } };
    const res = await app.request("/v1/policies", { method: "POST", headers: JSON_TYPE, body: body(bad) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details).toContainEqual({ path, message: expect.stringContaining(message) });
    expect((await app.request("/v1/policies/a")).status).toBe(404);
  });

  test("400 for malformed YAML, never a 500", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/policies", { method: "POST", headers: YAML, body: "spec: [unclosed" });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: "InvalidInput", details: [{ path: "" }] });
  });

  test("415 for a body that is neither JSON nor YAML", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/policies", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: POLICY_YAML,
    });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe("UnsupportedMediaType");
  });

  test("413 for a body over 1 MiB, declared or streamed", async () => {
    const { app } = await createTestApp();
    const big = "x".repeat(1024 * 1024 + 1);
    const declared = await app.request("/v1/policies", {
      method: "POST",
      headers: { ...YAML, "content-length": String(big.length) },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe("PayloadTooLarge");
    const streamed = await app.request("/v1/policies", {
      method: "POST",
      headers: YAML,
      body: new Blob([big]).stream(),
    });
    expect(streamed.status).toBe(413);
  });
});

describe("PUT /v1/policies/:name", () => {
  const put = (app: Awaited<ReturnType<typeof createTestApp>>["app"], name: string, value: unknown) =>
    app.request(`/v1/policies/${name}`, { method: "PUT", headers: JSON_TYPE, body: body(value) });

  test("201 when created, 200 when updated", async () => {
    const { app } = await createTestApp();
    expect((await put(app, "a", policyJson("a", 500))).status).toBe(201);
    const updated = await put(app, "a", policyJson("a", 503));
    expect(updated.status).toBe(200);
    expect((await jsonOf<StoredPolicy>(updated)).metadata).toMatchObject({
      resourceVersion: "2",
      generation: 2,
    });
  });

  test("400 when the body's name is not the URL's", async () => {
    const { app } = await createTestApp();
    const res = await put(app, "a", policyJson("b"));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details).toEqual([
      { path: "metadata.name", message: 'must equal the name in the URL ("a")' },
    ]);
  });

  test("409 Conflict for a stale resourceVersion", async () => {
    const { app } = await createTestApp();
    await put(app, "a", policyJson("a", 500));
    await put(app, "a", policyJson("a", 502));
    const stale = policyJson("a", 503);
    const res = await put(app, "a", { ...stale, metadata: { name: "a", resourceVersion: "1" } });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe("Conflict");
  });
});

describe("GET and DELETE", () => {
  test("list, get, delete, then 404", async () => {
    const { app } = await createTestApp();
    await app.request("/v1/policies", { method: "POST", headers: YAML, body: POLICY_YAML });

    const list = await app.request("/v1/policies");
    expect(list.status).toBe(200);
    const { items, revision } = await jsonOf<PolicyList>(list);
    expect([items.map((p) => p.metadata.name), revision]).toEqual([["checkout-abort"], 1]);

    const got = await app.request("/v1/policies/checkout-abort");
    expect(got.status).toBe(200);
    const stored = await jsonOf<StoredPolicy>(got);

    const deleted = await app.request("/v1/policies/checkout-abort", { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await jsonOf<StoredPolicy>(deleted)).toEqual(stored);

    for (const method of ["GET", "DELETE"]) {
      const res = await app.request("/v1/policies/checkout-abort", { method });
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toEqual({
        code: "NotFound",
        message: 'policy "checkout-abort" not found',
        details: [],
      });
    }
  });
});

describe("namespaces (the memory store holds one: default)", () => {
  const withNamespace = (name: string, namespace: string) => {
    const policy = policyJson(name) as { metadata: Record<string, unknown> };
    return body({ ...policy, metadata: { ...policy.metadata, namespace } });
  };

  test("a policy is in default, whether the request names it, the document does, or neither", async () => {
    const { app } = await createTestApp();
    const writes = [
      app.request("/v1/policies", { method: "POST", headers: JSON_TYPE, body: body(policyJson("a")) }),
      app.request("/v1/policies?namespace=default", {
        method: "POST",
        headers: JSON_TYPE,
        body: body(policyJson("b")),
      }),
      app.request("/v1/policies/c", {
        method: "PUT",
        headers: JSON_TYPE,
        body: withNamespace("c", "default"),
      }),
    ];
    for (const res of await Promise.all(writes)) {
      expect(res.status).toBe(201);
      expect((await jsonOf<StoredPolicy>(res)).metadata.namespace).toBe("default");
    }
    for (const query of [
      "",
      "?namespace=default",
      "?allNamespaces=true",
      "?allNamespaces=false",
      // allNamespaces is over namespace, as kubectl's -A is over -n.
      "?namespace=default&allNamespaces=true",
    ]) {
      const { items } = await jsonOf<PolicyList>(await app.request(`/v1/policies${query}`));
      expect(items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([
        "default/a",
        "default/b",
        "default/c",
      ]);
    }
    const got = await app.request("/v1/policies/a?namespace=default");
    expect((await jsonOf<StoredPolicy>(got)).metadata.name).toBe("a");
  });

  test("400 naming the field for a namespace not held, on every route, and nothing is stored", async () => {
    const { app } = await createTestApp();
    const refusals = [
      ["GET", "/v1/policies?namespace=shop", undefined, "namespace"],
      ["GET", "/v1/policies/a?namespace=shop", undefined, "namespace"],
      ["DELETE", "/v1/policies/a?namespace=shop", undefined, "namespace"],
      ["GET", "/v1/policies?namespace=Not_A_Label", undefined, "namespace"],
      ["POST", "/v1/policies?namespace=shop", body(policyJson("a")), "namespace"],
      ["POST", "/v1/policies", withNamespace("a", "shop"), "metadata.namespace"],
      ["PUT", "/v1/policies/a", withNamespace("a", "shop"), "metadata.namespace"],
      // The document's namespace and the request's disagree, as the Kubernetes API server refuses it.
      ["PUT", "/v1/policies/a?namespace=default", withNamespace("a", "shop"), "metadata.namespace"],
      ["GET", "/v1/policies?allNamespaces=yes", undefined, "allNamespaces"],
    ] as const;
    for (const [method, path, sent, field] of refusals) {
      const res = await app.request(path, { method, headers: JSON_TYPE, body: sent });
      expect([method, path, res.status]).toEqual([method, path, 400]);
      const error = await errorOf(res);
      expect([path, error.details.map((d) => d.path)]).toEqual([path, [field]]);
    }
    const unserved = await errorOf(await app.request("/v1/policies?namespace=shop"));
    expect(unserved.details[0]?.message).toBe(
      'must be "default": this control plane serves that namespace only',
    );
    expect((await jsonOf<PolicyList>(await app.request("/v1/policies"))).items).toEqual([]);
  });
});

describe("the error model through the API", () => {
  const post = (app: Awaited<ReturnType<typeof createTestApp>>["app"], init: RequestInit) =>
    app.request("/v1/policies", { method: "POST", ...init });

  test("a delay + regex policy is stored as written", async () => {
    const { app } = await createTestApp();
    const yaml = `apiVersion: hfi.dev/v1alpha1
kind: FaultInjectionPolicy
metadata: { name: slow-users }
spec:
  match:
    path: { regex: "/api/v[0-9]+/users/[^/]+" }
    headers: [{ name: X-Canary, present: true }]
  fault: { delay: { fixedDelay: 1m30s }, abort: { httpStatus: 504 } }
`;
    const res = await post(app, { headers: YAML, body: yaml });
    expect(res.status).toBe(201);
    expect((await jsonOf<StoredPolicy>(res)).spec).toEqual({
      priority: 0,
      match: {
        path: { regex: "/api/v[0-9]+/users/[^/]+" },
        headers: [{ name: "X-Canary", present: true }],
      },
      fault: { percentage: 100, delay: { fixedDelay: "1m30s" }, abort: { httpStatus: 504, body: "" } },
    });
  });

  test("400 names the regex field and says why", async () => {
    const { app } = await createTestApp();
    const bad = policyJson("a") as { spec: Record<string, unknown> };
    bad.spec.match = {
      headers: [
        { name: "x", exact: "1" },
        { name: "y", regex: "a(?=b)" },
      ],
    };
    const res = await post(app, { headers: JSON_TYPE, body: body(bad) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details).toEqual([
      {
        path: "spec.match.headers[1].regex",
        message: "uses the lookaround (?=b): lookahead and lookbehind are not supported",
      },
    ]);
  });

  test("400 for a resourceVersion on create, naming it", async () => {
    const { app } = await createTestApp();
    const withVersion = { ...policyJson("a"), metadata: { name: "a", resourceVersion: "3" } };
    const res = await post(app, { headers: JSON_TYPE, body: body(withVersion) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details).toEqual([
      { path: "metadata.resourceVersion", message: "must not be set when creating" },
    ]);
  });

  test("415 when no Content-Type is sent", async () => {
    const { app } = await createTestApp();
    const res = await post(app, { body: body(policyJson("a")) });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe("UnsupportedMediaType");
  });

  test("413 on PUT as on POST, and nothing is stored", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/policies/a", {
      method: "PUT",
      headers: JSON_TYPE,
      body: new Blob([body(policyJson("a")), " ".repeat(1024 * 1024)]).stream(),
    });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("PayloadTooLarge");
    expect((await jsonOf<PolicyList>(await app.request("/v1/policies"))).items).toEqual([]);
  });
});
