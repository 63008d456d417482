import { describe, expect, test } from "bun:test";
import { createTestApp, errorOf, jsonOf } from "../../../test/support/control-plane.ts";
import { encodeReport } from "../../../test/support/observation-report.ts";
import { policy } from "../../../test/support/policies.ts";
import type { ExperimentList } from "../../api-types.ts";
import type { Experiment, ExperimentResults } from "../../experiments/index.ts";

type App = Awaited<ReturnType<typeof createTestApp>>["app"];

const ABORT = policy("checkout-abort", {
  match: { path: { prefix: "/api/checkout" } },
  fault: { abort: { httpStatus: 503 } },
});

const body = (extra: object = {}) =>
  JSON.stringify({ name: "checkout", policies: [ABORT], duration: "2s", ...extra });

const start = (app: App, text: string, headers: Record<string, string> = {}) =>
  app.request("/v1/experiments", {
    method: "POST",
    body: text,
    headers: { "content-type": "application/json", ...headers },
  });

async function started(app: App, text = body()): Promise<Experiment> {
  const res = await start(app, text);
  expect(res.status).toBe(201);
  return jsonOf<Experiment>(res);
}

const get = async (app: App, id: string) => jsonOf<Experiment>(await app.request(`/v1/experiments/${id}`));

/** Polls the experiment until `ok`; fails after 10 s. */
async function until(app: App, id: string, ok: (e: Experiment) => boolean): Promise<Experiment> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const experiment = await get(app, id);
    if (ok(experiment)) return experiment;
    if (performance.now() > deadline)
      throw new Error(`experiment never got there: ${JSON.stringify(experiment)}`);
    await Bun.sleep(20);
  }
}

let seq = 0;
/** A filter's report for `name`: `ok` 200s and `failed` 503 aborts, each 30 ms. */
function observe(app: App, name: string, ok: number, failed: number, mode: "enforce" | "dryRun" = "enforce") {
  const buckets = Array.from({ length: 15 }, (_, i) => (i === 5 ? ok + failed : 0));
  return app.request("/v1/observations?node=n&worker=w", {
    method: "POST",
    body: encodeReport({
      seq: ++seq,
      policies: [
        {
          name,
          matched: ok + failed,
          aborts: mode === "enforce" ? failed : 0,
          delays: 0,
          dryRun: mode === "dryRun" ? failed : 0,
          statuses: { ...(ok > 0 && { "200": ok }), ...(failed > 0 && { "503": failed }) },
          otherStatuses: 0,
          latencyBuckets: buckets,
          latencySumUs: (ok + failed) * 30_000,
        },
      ],
    }),
  });
}

describe("/v1/experiments", () => {
  test("baseline (a dry run), then the faults until the duration elapses; results per phase", async () => {
    const { app, store } = await createTestApp();
    const created = await started(app, body({ baseline: "1s" }));
    const applied = `checkout-abort-${created.id}`;
    expect(created.policies).toEqual([applied]);

    const baseline = await until(app, created.id, (e) => e.state === "Baseline");
    expect(baseline.reason).toBe("dry run for 1s");
    expect((await store.get(applied)).spec).toMatchObject({ mode: "dryRun", duration: "3s" });
    await observe(app, applied, 8, 2, "dryRun");

    const running = await until(app, created.id, (e) => e.state === "Running");
    const enforced = await store.get(applied);
    expect(enforced.spec.mode).toBeUndefined();
    expect(enforced.spec.duration).toBe("2s");
    // It ends when its faults do: when the filters and the store end its policies.
    expect(running.endsAt).toBe(enforced.status?.expiresAt);
    await observe(app, applied, 5, 5);

    const done = await until(app, created.id, (e) => e.state === "Completed");
    expect(done.reason).toBe("duration elapsed");
    expect(done.history.map((h) => h.state)).toEqual(["Pending", "Baseline", "Running", "Completed"]);
    expect((await store.list()).items).toEqual([]);

    const results = await jsonOf<ExperimentResults>(
      await app.request(`/v1/experiments/${created.id}/results`),
    );
    expect(results.phases.baseline).toMatchObject({
      requests: 10,
      injected: 0,
      dryRunMatches: 2,
      errorRate: 0.2,
    });
    expect(results.phases.running).toMatchObject({
      requests: 10,
      injected: 5,
      statusCounts: { "200": 5, "503": 5 },
      errorRate: 0.5,
      latencyMs: { p50: 32, p95: 32, p99: 32, mean: 30 },
    });
    expect(results.observation).toEqual({ dominantStatus: 200, meanLatencyMs: 30, errorRate: 0.5 });
  });

  test("a stop condition fires: Stopped with the condition as reason, the policies gone", async () => {
    const { app, store } = await createTestApp();
    const created = await started(
      app,
      body({ duration: "60s", stopConditions: [{ metric: "errorRate", threshold: 0.5, for: "0s" }] }),
    );
    await until(app, created.id, (e) => e.state === "Running");
    const applied = created.policies[0]!;
    await observe(app, applied, 6, 4);
    await Bun.sleep(600);
    expect((await get(app, created.id)).state).toBe("Running");
    await observe(app, applied, 0, 10);
    const stopped = await until(app, created.id, (e) => e.state !== "Running");
    expect(stopped).toMatchObject({ state: "Stopped", reason: "stopCondition errorRate>0.5 for 0s" });
    expect((await store.list()).items).toEqual([]);
  });

  test("stop by the user; a halt stops every running one; starting while halted is 423", async () => {
    const { app, store } = await createTestApp();
    const a = await started(app, body({ duration: "60s" }));
    const b = await started(app, body({ duration: "60s" }));
    await until(app, a.id, (e) => e.state === "Running");
    await until(app, b.id, (e) => e.state === "Running");
    const stop = await app.request(`/v1/experiments/${a.id}/stop`, { method: "POST" });
    expect(await jsonOf<Experiment>(stop)).toMatchObject({ state: "Stopped", reason: "stopped by user" });

    expect((await app.request("/v1/halt", { method: "POST" })).status).toBe(201);
    expect(await until(app, b.id, (e) => e.state !== "Running")).toMatchObject({
      state: "Stopped",
      reason: "halted",
    });
    expect((await store.list()).items).toEqual([]);

    const refused = await start(app, body());
    expect(refused.status).toBe(423);
    expect((await errorOf(refused)).code).toBe("Locked");

    const running = await jsonOf<ExperimentList>(await app.request("/v1/experiments?state=Running"));
    expect(running.items).toEqual([]);
    const stopped = await jsonOf<ExperimentList>(await app.request("/v1/experiments?state=Stopped"));
    expect(stopped.items.map((e) => e.id).sort()).toEqual([a.id, b.id].sort());
  });

  test("Idempotency-Key: the same body gives the same experiment, another body is 409", async () => {
    const { app } = await createTestApp();
    const first = await start(app, body(), { "idempotency-key": "k1" });
    expect(first.status).toBe(201);
    const again = await start(app, JSON.stringify(JSON.parse(body()), null, 2), { "idempotency-key": "k1" });
    expect(again.status).toBe(200);
    expect((await jsonOf<Experiment>(again)).id).toBe((await jsonOf<Experiment>(first)).id);
    const other = await start(app, body({ duration: "3s" }), { "idempotency-key": "k1" });
    expect(other.status).toBe(409);
    expect((await jsonOf<ExperimentList>(await app.request("/v1/experiments"))).items).toHaveLength(1);
  });

  test.each([
    [{ duration: undefined }, "duration"],
    [{ duration: "1.5s" }, "duration"],
    [{ baseline: "11m" }, "baseline"],
    [{ stopConditions: [{ metric: "cpu", threshold: 1 }] }, "stopConditions[0].metric"],
    [{ stopConditions: [{ metric: "errorRate", threshold: 2 }] }, "stopConditions[0].threshold"],
    [{ policies: [] }, "policies"],
    [{ policies: [policy("x", { fault: {} })] }, "policies[0].spec.fault"],
    [
      { policies: [policy("x", { fault: { abort: { httpStatus: 503 } }, duration: "5s" })] },
      "policies[0].spec.duration",
    ],
    [{ colour: "red" }, ""],
  ])("bad input %j → 400 naming %s; nothing starts", async (extra, field) => {
    const { app, store } = await createTestApp();
    const res = await start(app, body(extra));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("InvalidInput");
    expect(error.details[0]?.path ?? "").toStartWith(field);
    expect((await jsonOf<ExperimentList>(await app.request("/v1/experiments"))).items).toEqual([]);
    expect((await store.list()).items).toEqual([]);
  });

  test("a dry-run policy is an observer: a dry run in every phase, beside the faults", async () => {
    const { app, store } = await createTestApp();
    const observer = policy("frontend", {
      match: { path: { prefix: "/frontend" } },
      fault: { abort: { httpStatus: 500 } },
      mode: "dryRun",
    });
    const created = await started(app, body({ duration: "60s", policies: [ABORT, observer] }));
    await until(app, created.id, (e) => e.state === "Running");
    expect((await store.get(`checkout-abort-${created.id}`)).spec.mode).toBeUndefined();
    expect((await store.get(`frontend-${created.id}`)).spec).toMatchObject({
      mode: "dryRun",
      duration: "60s",
    });
  });

  test("unknown id is 404; a bad state filter is 400", async () => {
    const { app } = await createTestApp();
    expect((await app.request("/v1/experiments/nope")).status).toBe(404);
    expect((await app.request("/v1/experiments/nope/results")).status).toBe(404);
    expect((await app.request("/v1/experiments/nope/stop", { method: "POST" })).status).toBe(404);
    expect((await app.request("/v1/experiments?state=Done")).status).toBe(400);
  });
});
