import { expect, test } from "bun:test";
import { createConsola } from "consola";
import { createTestApp, servedAt } from "../../test/support/control-plane.ts";
import { encodeReport } from "../../test/support/observation-report.ts";
import { POLICY_YAML } from "../../test/support/policies.ts";
import { createApp } from "./app.ts";
import { createConfigClients } from "./clients.ts";

/** The samples of one metric, as `labels value` lines. */
async function samples(app: Awaited<ReturnType<typeof createTestApp>>["app"], name: string) {
  const text = await (await app.request("/metrics")).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => line.slice(name.length).trim());
}

test("GET /metrics is Prometheus text", async () => {
  const { app } = await createTestApp();
  const res = await app.request("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  expect(await res.text()).toContain("# TYPE hfi_http_requests_total counter");
});

test("requests are counted by method, route pattern and status", async () => {
  const { app } = await createTestApp();
  await app.request("/v1/policies", {
    method: "POST",
    headers: { "content-type": "application/yaml" },
    body: POLICY_YAML,
  });
  await app.request("/v1/policies/checkout-abort");
  await app.request("/v1/policies/missing");
  await app.request("/nowhere");
  expect(await samples(app, "hfi_http_requests_total")).toEqual([
    '{method="POST",route="/v1/policies",status="201"} 1',
    '{method="GET",route="/v1/policies/:name",status="200"} 1',
    '{method="GET",route="/v1/policies/:name",status="404"} 1',
    '{method="GET",route="unmatched",status="404"} 1',
  ]);
});

test("policies and the RuleSet revision are read from the config being served", async () => {
  const { app, distributor } = await createTestApp();
  expect(await samples(app, "hfi_policies")).toEqual(["0"]);
  await app.request("/v1/policies", {
    method: "POST",
    headers: { "content-type": "application/yaml" },
    body: POLICY_YAML,
  });
  await distributor.waitForChange({ revision: 0 }, 1000);
  expect(await samples(app, "hfi_policies")).toEqual(["1"]);
  expect(await samples(app, "hfi_ruleset_revision")).toEqual(["1"]);
});

test("SSE and long-poll clients are counted while connected", async () => {
  const { app } = await createTestApp({ heartbeatMs: 60_000 });
  const stream = await app.request("/v1/config/stream");
  const client = new AbortController();
  const poll = app.request("/v1/config?after=0&wait=30", { signal: client.signal });
  await Bun.sleep(20);
  expect(await samples(app, "hfi_config_clients")).toEqual([
    '{transport="sse"} 1',
    '{transport="long-poll"} 1',
  ]);
  await stream.body?.cancel();
  client.abort();
  await poll;
  await Bun.sleep(20);
  expect(await samples(app, "hfi_config_clients")).toEqual([
    '{transport="sse"} 0',
    '{transport="long-poll"} 0',
  ]);
});

test("release() answers held long-polls with 304 and ends SSE streams", async () => {
  const { store, distributor, logs } = await createTestApp();
  const logger = createConsola({ reporters: [{ log: (entry) => logs.push(entry) }] });
  const clients = createConfigClients();
  const app = createApp({ store, distributor, logger, clients, heartbeatMs: 60_000 });
  const stream = await app.request("/v1/config/stream");
  const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  const { id } = distributor.current();
  const poll = app.request(`/v1/config?after=0&id=${id}&wait=30`);
  await Bun.sleep(20);
  expect(clients.count()).toEqual({ sse: 1, longPoll: 1 });
  clients.release();
  const answer = await poll;
  expect([answer.status, answer.headers.get("etag"), answer.headers.get("connection")]).toEqual([
    304,
    `W/"${id}"`,
    "close",
  ]);
  expect((await reader.read()).done).toBe(true);
  expect(clients.count()).toEqual({ sse: 0, longPoll: 0 });
  // Clients that come after release are let go at once too.
  expect((await app.request("/v1/config?after=0&wait=30")).status).toBe(304);
});

test("hfi_halted follows the halt; hfi_proxies counts live, current and stale proxy workers", async () => {
  const { app, distributor } = await createTestApp({ subscribers: { marginMs: 200 } });
  expect(await samples(app, "hfi_halted")).toEqual(["0"]);
  await app.request("/v1/config?after=0&wait=0&node=a&worker=1");
  await app.request("/v1/halt", { method: "POST" });
  await servedAt(distributor, 1);
  await app.request("/v1/config?after=1&wait=0&node=b&worker=1");
  expect(await samples(app, "hfi_halted")).toEqual(["1"]);
  expect(await samples(app, "hfi_proxies")).toEqual([
    '{state="live"} 2',
    '{state="current"} 1',
    '{state="stale"} 0',
  ]);
  await Bun.sleep(250);
  expect(await samples(app, "hfi_proxies")).toEqual([
    '{state="live"} 0',
    '{state="current"} 0',
    '{state="stale"} 2',
  ]);
});

test("a lone replica leads: hfi_leader is 1 and it reports hfi_fleet_proxies for the fleet", async () => {
  const { app, distributor } = await createTestApp();
  expect(await samples(app, "hfi_leader")).toEqual(["1"]);
  await app.request("/v1/config?after=0&wait=0&node=a&worker=1");
  await app.request("/v1/halt", { method: "POST" });
  await servedAt(distributor, 1);
  await app.request("/v1/config?after=1&wait=0&node=b&worker=1");
  expect(await samples(app, "hfi_fleet_proxies")).toEqual(['{state="live"} 2', '{state="current"} 1']);
});

test("what the filters observed, per policy, and the experiments by state", async () => {
  const { app } = await createTestApp();
  const buckets = Array.from({ length: 15 }, () => 0);
  const statuses = { "200": 6, "503": 4 };
  await app.request("/v1/observations?node=n&worker=w", {
    method: "POST",
    body: encodeReport({
      seq: 1,
      policies: [
        {
          name: "checkout",
          matched: 10,
          aborts: 4,
          delays: 0,
          dryRun: 0,
          statuses,
          otherStatuses: 0,
          latencyBuckets: buckets,
          latencySumUs: 0,
        },
      ],
    }),
  });
  expect(await samples(app, "hfi_observed_requests")).toEqual(['{policy="checkout"} 10']);
  expect(await samples(app, "hfi_observed_responses")).toEqual([
    '{policy="checkout",status="200"} 6',
    '{policy="checkout",status="503"} 4',
  ]);
  expect(await samples(app, "hfi_experiments")).toContain('{state="Running"} 0');
});
