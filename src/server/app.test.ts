import { describe, expect, test } from "bun:test";
import { createTestApp, errorOf, jsonOf } from "../../test/support/control-plane.ts";
import { POLICY_YAML } from "../../test/support/policies.ts";
import { createMemoryStore, HfiError, type PolicyStore } from "../store/index.ts";

describe("health", () => {
  test("/healthz and /readyz answer 200", async () => {
    const { app } = await createTestApp();
    expect(await jsonOf(await app.request("/healthz"))).toEqual({ status: "ok" });
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(200);
  });

  test("/readyz is 503 Unavailable when the store cannot be reached", async () => {
    const store: PolicyStore = {
      ...createMemoryStore(),
      ping: () => Promise.reject(new Error("connection refused")),
    };
    const { app } = await createTestApp({ store });
    const res = await app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await errorOf(res)).toEqual({
      code: "Unavailable",
      message: "policy store unreachable: connection refused",
      details: [],
    });
  });
});

describe("errors", () => {
  test("an unknown route is a NotFound error body", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v2/nothing");
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({
      code: "NotFound",
      message: "no route for GET /v2/nothing",
      details: [],
    });
  });

  test("an unexpected failure is a 500 that tells nothing of its cause, and is logged", async () => {
    const store: PolicyStore = {
      ...createMemoryStore(),
      get: () => Promise.reject(new Error("secret: etcd password rejected")),
    };
    const { app, logs } = await createTestApp({ store });
    const res = await app.request("/v1/policies/a");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toBe('{"error":{"code":"Internal","message":"internal server error","details":[]}}');
    const logged = logs.find((entry) => entry.type === "error");
    expect(logged?.args).toContainEqual(new Error("secret: etcd password rejected"));
  });

  test("a domain error thrown by the store keeps its code", async () => {
    const memory = createMemoryStore();
    let down = false;
    const store: PolicyStore = {
      ...memory,
      list: () => (down ? Promise.reject(new HfiError("Unavailable", "etcd is down")) : memory.list()),
    };
    const { app } = await createTestApp({ store });
    down = true;
    const res = await app.request("/v1/policies");
    expect(res.status).toBe(503);
    expect((await errorOf(res)).message).toBe("etcd is down");
  });
});

describe("logging", () => {
  test("one request line with method, path, status and latency; policy events name the policy", async () => {
    const { app, logs } = await createTestApp();
    await app.request("/v1/policies", {
      method: "POST",
      headers: { "content-type": "application/yaml" },
      body: POLICY_YAML,
    });
    const messages = logs.map((entry) => [entry.type, ...entry.args]);
    expect(messages).toContainEqual([
      "info",
      "policy created",
      { policy: "checkout-abort", namespace: "default", revision: 1 },
    ]);
    const request = logs.find((entry) => entry.args[0] === "request");
    expect(request?.args[1]).toMatchObject({
      method: "POST",
      path: "/v1/policies",
      status: 201,
      latency_ms: expect.any(Number),
    });
  });

  test("error responses are logged with their status", async () => {
    const { app, logs } = await createTestApp();
    await app.request("/v1/policies/missing");
    const request = logs.find((entry) => entry.args[0] === "request");
    expect(request?.args[1]).toMatchObject({ method: "GET", path: "/v1/policies/missing", status: 404 });
  });
});
