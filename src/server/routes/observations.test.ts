import { describe, expect, test } from "bun:test";
import { createTestApp, errorOf, jsonOf } from "../../../test/support/control-plane.ts";
import { encodeReport } from "../../../test/support/observation-report.ts";
import type { ObservationsList, PolicyObservationView } from "../../api-types.ts";
import { ENTRY_BYTES, type PolicyReport } from "../../observations/index.ts";
import { createApp } from "../app.ts";
import { parseTokenFile } from "../auth.ts";

const buckets = (counts: Record<number, number>) => Array.from({ length: 15 }, (_, i) => counts[i] ?? 0);

const policy = (name: string, extra: Partial<PolicyReport> = {}): PolicyReport => ({
  name,
  matched: 10,
  aborts: 4,
  delays: 0,
  dryRun: 0,
  statuses: { "200": 6, "503": 4 },
  otherStatuses: 0,
  latencyBuckets: buckets({ 0: 4, 5: 6 }),
  latencySumUs: 6 * 30_000,
  ...extra,
});

const report = (seq: number, policies: PolicyReport[]) => encodeReport({ seq, policies });

const post = (body: Uint8Array, query = "node=envoy-a&worker=00000000000000aa") => ({
  path: `/v1/observations?${query}`,
  init: { method: "POST", body },
});

async function send(
  app: { request: (p: string, i: RequestInit) => Response | Promise<Response> },
  body: Uint8Array,
  query?: string,
) {
  const { path, init } = post(body, query);
  return app.request(path, init);
}

describe("/v1/observations", () => {
  test("sums reports across workers and proxies; a resent seq is not counted twice", async () => {
    const { app } = await createTestApp();
    expect((await send(app, report(1, [policy("checkout")]))).status).toBe(200);
    const resent = await send(app, report(1, [policy("checkout")]));
    expect(await resent.json()).toEqual({ seq: 1, counted: false });
    await send(app, report(1, [policy("checkout")]), "node=envoy-a&worker=00000000000000bb");
    await send(
      app,
      report(7, [policy("checkout"), policy("search", { aborts: 0, statuses: { "200": 10 } })]),
      "node=envoy-b&worker=00000000000000aa",
    );

    const list = await jsonOf<ObservationsList>(await app.request("/v1/observations"));
    expect(list.policies.map((p) => [p.name, p.matched])).toEqual([
      ["checkout", 30],
      ["search", 10],
    ]);
    const checkout = await jsonOf<PolicyObservationView>(await app.request("/v1/observations/checkout"));
    expect(checkout).toMatchObject({
      matched: 30,
      aborts: 12,
      statuses: { "200": 18, "503": 12 },
      latencyBuckets: buckets({ 0: 12, 5: 18 }),
      summary: {
        requests: 30,
        injected: 12,
        statusCounts: { "200": 18, "503": 12 },
        errorRate: 0.4,
        latencyMs: { p50: 32, p95: 32, p99: 32, mean: 18 },
        dominantStatus: 200,
      },
    });
  });

  test("an unknown policy is 404", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/observations/nothing");
    expect(res.status).toBe(404);
  });

  const corrupt = (edit: (bytes: Uint8Array, view: DataView) => void) => {
    const bytes = report(1, [policy("a")]);
    edit(bytes, new DataView(bytes.buffer));
    return bytes;
  };
  test.each([
    ["no header", new Uint8Array(8), "body", "no HFO1 header"],
    ["another magic", corrupt((_, v) => v.setUint32(0, 0x12345678, true)), "body", "no HFO1 header"],
    ["cut short", report(1, [policy("a")]).subarray(0, 16 + ENTRY_BYTES - 1), "body", "must be"],
    ["seq 0", report(0, [policy("a")]), "seq", "must be a positive integer"],
    ["an empty name", corrupt((_, v) => v.setUint8(16, 0)), "policies[0].name", "must be 1 to 63 bytes"],
    ["a name not UTF-8", corrupt((b) => b.set([0xff], 17)), "policies[0].name", "must be UTF-8"],
    ["a count past 2^53", corrupt((_, v) => v.setBigUint64(16 + 64, 2n ** 60n, true)), "policies[0]", "2^53"],
  ] as [string, Uint8Array, string, string][])(
    "bad report (%s) → 400 naming %s; nothing is counted",
    async (_, body, field, message) => {
      const { app } = await createTestApp();
      const res = await send(app, body);
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe("InvalidInput");
      expect(error.details[0]?.path).toBe(field);
      expect(error.message).toContain(message);
      expect((await jsonOf<ObservationsList>(await app.request("/v1/observations"))).policies).toEqual([]);
    },
  );

  test("node and worker are required", async () => {
    const { app } = await createTestApp();
    const res = await send(app, report(1, []), "node=a");
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toStartWith("worker:");
  });

  test("a reader token may report (filters carry one); it still cannot write policies", async () => {
    const { store, distributor, subscribers } = await createTestApp();
    const { createConsola } = await import("consola");
    const app = createApp({
      store,
      distributor,
      subscribers,
      logger: createConsola({ level: 0 }),
      auth: parseTokenFile("reader:r-token\nwriter:w-token\n"),
    });
    const { path, init } = post(report(1, [policy("a")]));
    const auth = { authorization: "Bearer r-token", "content-type": "application/json" };
    expect((await app.request(path, { ...init, headers: auth })).status).toBe(200);
    expect((await app.request(path, init)).status).toBe(401);
    const write = await app.request("/v1/halt", { method: "POST", headers: auth });
    expect(write.status).toBe(403);
  });
});
