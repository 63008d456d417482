import { describe, expect, test } from "bun:test";
import { createTestApp, jsonOf, servedAt } from "../../../test/support/control-plane.ts";
import { policyJson } from "../../../test/support/policies.ts";
import type { FleetStatus, ProxiesStatus } from "../../api-types.ts";
import { ANONYMOUS_PROXY } from "../../distributor/index.ts";

describe("GET /v1/status", () => {
  test("with the memory store the replica is alone and leads", async () => {
    const { app } = await createTestApp();
    const status = await jsonOf<FleetStatus>(await app.request("/v1/status"));
    expect(status).toEqual({
      revision: 0,
      halted: false,
      replica: expect.any(String),
      leader: status.replica,
      replicas: [status.replica],
    });
  });
});

describe("GET /v1/status/proxies", () => {
  test("no subscribers yet: the revision and halt state only", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/status/proxies");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      revision: 0,
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      halted: false,
      proxies: [],
    });
  });

  test("lists every subscriber with the revision it applied and when it was last seen", async () => {
    const { app, distributor } = await createTestApp();
    await app.request("/v1/policies/a", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(policyJson("a")),
    });
    await app.request("/v1/config?after=1&wait=0&node=envoy-b&worker=0");
    await app.request("/v1/config?after=0&wait=0&node=envoy-a&worker=1");
    await app.request("/v1/halt", { method: "POST" });
    await servedAt(distributor, 2);
    const status = await jsonOf<ProxiesStatus>(await app.request("/v1/status/proxies"));
    expect(status).toEqual({
      revision: 2,
      id: expect.any(String),
      halted: true,
      proxies: [
        {
          node: "envoy-a",
          worker: "1",
          ...ANONYMOUS_PROXY,
          servedId: expect.any(String),
          revision: 0,
          ruleSetId: null,
          lastSeen: expect.any(String),
          polling: false,
          live: true,
          replica: expect.any(String),
        },
        {
          node: "envoy-b",
          worker: "0",
          ...ANONYMOUS_PROXY,
          servedId: expect.any(String),
          revision: 1,
          ruleSetId: null,
          lastSeen: expect.any(String),
          polling: false,
          live: true,
          replica: expect.any(String),
        },
      ],
    });
    expect(Date.now() - Date.parse(status.proxies[0]?.lastSeen ?? "")).toBeLessThan(5000);
  });

  test("a subscriber with the current rules (same identity) is at the current revision, one with other rules at its own", async () => {
    const { app, distributor } = await createTestApp();
    const put = (mode: string) =>
      app.request("/v1/policies/a", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...policyJson("a"), spec: { ...policyJson("a").spec, mode } }),
      });
    await put("enforce");
    await servedAt(distributor, 1);
    const { id } = distributor.current();
    await app.request(`/v1/config?after=1&id=${id}&wait=0&node=current&worker=0`);
    await app.request("/v1/config?after=1&id=0123456789abcdef&wait=0&node=other&worker=0");
    // The default mode spelt out: revision 2, the same rules as revision 1.
    const spelt = policyJson("a");
    await app.request("/v1/policies/a", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...spelt, spec: { ...spelt.spec, mode: undefined } }),
    });
    await servedAt(distributor, 2);
    expect(distributor.current().id).toBe(id);
    const status = await jsonOf<ProxiesStatus>(await app.request("/v1/status/proxies"));
    expect(status).toMatchObject({
      revision: 2,
      id,
      proxies: [
        { node: "current", revision: 2, ruleSetId: id },
        { node: "other", revision: 1, ruleSetId: "0123456789abcdef" },
      ],
    });
  });

  test("shows who each proxy says it is; hostile values are cut, never refused", async () => {
    const { app } = await createTestApp();
    const labels = encodeURIComponent("app=reviews,version=v1,no-equals,=empty-key");
    const ok = await app.request(
      `/v1/config?wait=0&node=a&worker=0&cluster=mesh&service=reviews&namespace=shop&labels=${labels}`,
    );
    expect(ok.status).toBe(200);
    const long = "x".repeat(10_000);
    const many = Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(",");
    const hostile = await app.request(
      `/v1/config?wait=0&node=b&worker=0&service=${long}&namespace=%01ns&labels=${encodeURIComponent(`${many},${long}=${long}`)}`,
    );
    expect(hostile.status).toBe(200);
    const status = await jsonOf<ProxiesStatus>(await app.request("/v1/status/proxies"));
    expect(status.proxies[0]).toMatchObject({
      node: "a",
      cluster: "mesh",
      service: "reviews",
      namespace: "shop",
      labels: { app: "reviews", version: "v1" },
    });
    const b = status.proxies[1];
    expect(b?.service).toBe("x".repeat(256));
    expect(b?.namespace).toBe("?ns");
    expect(Object.keys(b?.labels ?? {})).toHaveLength(64);
  });

  test("a subscriber unseen for longer than its wait plus the margin is listed as not live", async () => {
    const { app } = await createTestApp({ subscribers: { marginMs: 0 } });
    await app.request("/v1/config?after=0&wait=0&node=gone&worker=0");
    await Bun.sleep(20);
    const status = await jsonOf<ProxiesStatus>(await app.request("/v1/status/proxies"));
    expect(status.proxies).toMatchObject([{ node: "gone", live: false }]);
  });
});
