import { afterAll, beforeAll, expect, test } from "bun:test";
import { parse } from "yaml";
import { LATENCY_BUCKETS } from "../../src/observations/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { encodeReport } from "../support/observation-report.ts";
import { policyYaml } from "../support/policies.ts";

let server: RunningServer;
let env: Record<string, string>;
beforeAll(async () => {
  server = await startControlPlane();
  env = { HFI_CONTROL_PLANE_ADDR: server.url };
  const checkout = policyYaml(
    "checkout-abort",
    "priority: 10, match: { path: { prefix: /api/checkout }, method: { exact: POST }, headers: [{ name: x-user, exact: test }] }, fault: { percentage: 50, abort: { httpStatus: 503, body: oops } }",
  );
  const everything = policyYaml("all-teapot", "fault: { abort: { httpStatus: 418 } }");
  await hfi(["policy", "apply", "-f", "-"], { env, stdin: `${checkout}---\n${everything}` });
});
afterAll(() => server.stop());

/** AGE depends on the clock; everything else is exact. */
const ageless = (table: string) => table.replace(/ {3}\d+s(?= |$)/gm, "   AGE");

test("get lists policies as a table: NAME, PRIORITY, MATCHES, FAULTS, AGE", async () => {
  const run = await hfi(["policy", "get"], { env });
  expect(run.code).toBe(0);
  expect(run.stderr).toBe("");
  expect(ageless(run.stdout)).toBe(
    [
      "NAME             PRIORITY   MATCHES                           FAULTS          AGE",
      "all-teapot       0          <all>                             abort=418       AGE",
      "checkout-abort   10         POST,/api/checkout*,x-user=test   abort=503@50%   AGE",
      "",
    ].join("\n"),
  );
});

test("get -o wide adds generation, resource version, creation time, the selector and what was observed", async () => {
  const run = await hfi(["policy", "get", "checkout-abort", "-o", "wide"], { env });
  const [header, row] = run.stdout.trimEnd().split("\n");
  expect(header).toBe(
    "NAME             PRIORITY   MATCHES                           FAULTS          AGE   GENERATION   RESOURCE-VERSION   CREATED                    SELECTOR   REQUESTS   INJECTED   ERROR-RATE",
  );
  expect(row).toMatch(
    /^checkout-abort {3}10 {9}POST,\/api\/checkout\*,x-user=test {3}abort=503@50% {3}\d+s +1 {12}1 {18}\d{4}-\d\d-\d\dT[\d:.]+Z {3}\* {10}0 {10}0 {10}<none>$/,
  );
});

test("get -o wide shows each policy's observed requests, injected faults and error rate", async () => {
  const own = await startControlPlane();
  try {
    const ownEnv = { HFI_CONTROL_PLANE_ADDR: own.url };
    const policies = [
      policyYaml("observed", "fault: { abort: { httpStatus: 503 }, percentage: 50 }"),
      policyYaml("quiet", "fault: { abort: { httpStatus: 418 } }"),
    ].join("---\n");
    expect((await hfi(["policy", "apply", "-f", "-"], { env: ownEnv, stdin: policies })).code).toBe(0);
    const body = encodeReport({
      seq: 1,
      policies: [
        {
          name: "observed",
          matched: 8,
          aborts: 3,
          delays: 0,
          dryRun: 0,
          statuses: { "200": 4, "500": 1, "503": 3 },
          otherStatuses: 0,
          latencyBuckets: Array.from({ length: LATENCY_BUCKETS }, (_, k) => (k === 0 ? 8 : 0)),
          latencySumUs: 800,
        },
      ],
    });
    const posted = await fetch(`${own.url}/v1/observations?node=envoy-1&worker=0`, { method: "POST", body });
    expect(posted.status).toBe(200);
    const run = await hfi(["policy", "get", "-o", "wide"], { env: ownEnv });
    expect(run.code).toBe(0);
    const rows = run.stdout
      .trimEnd()
      .split("\n")
      .map((line) => line.split(/ {3,}/).slice(-3));
    expect(rows).toEqual([
      ["REQUESTS", "INJECTED", "ERROR-RATE"],
      ["8", "3", "50.0%"],
      ["0", "0", "<none>"],
    ]);
  } finally {
    await own.stop();
  }
});

test("SELECTOR says whom a policy targets; MATCHES shows its host condition", async () => {
  const own = await startControlPlane();
  const ownEnv = { HFI_CONTROL_PLANE_ADDR: own.url };
  try {
    const targeted = [
      policyYaml(
        "reviews-down",
        "selector: { service: productpage, namespace: shop, matchLabels: { version: v1 } }, match: { host: { exact: reviews } }, fault: { abort: { httpStatus: 503 } }",
      ),
      policyYaml(
        "any-service",
        "selector: { service: '*' }, match: { host: { suffix: .example.com } }, fault: { abort: { httpStatus: 502 } }",
      ),
      policyYaml(
        "by-regex",
        "selector: {}, match: { host: { regex: 'ratings(-v[0-9])?' } }, fault: { abort: { httpStatus: 504 } }",
      ),
    ].join("---\n");
    expect((await hfi(["policy", "apply", "-f", "-"], { env: ownEnv, stdin: targeted })).code).toBe(0);
    const run = await hfi(["policy", "get", "-o", "wide"], { env: ownEnv });
    const rows = run.stdout
      .trimEnd()
      .split("\n")
      .slice(1)
      .map((line) => line.split(/ {3,}/));
    expect(rows.map((cells) => [cells[0], cells[2], cells.at(-4)])).toEqual([
      ["any-service", "host=*.example.com", "service=*"],
      ["by-regex", "host~ratings(-v[0-9])?", "*"],
      ["reviews-down", "host=reviews", "service=productpage,namespace=shop,version=v1"],
    ]);
  } finally {
    await own.stop();
  }
});

test("get NAME -o yaml|json prints the stored object; without NAME a FaultInjectionPolicyList", async () => {
  const yaml = parse((await hfi(["policy", "get", "all-teapot", "-o", "yaml"], { env })).stdout);
  const json = JSON.parse((await hfi(["policy", "get", "all-teapot", "-o", "json"], { env })).stdout);
  expect(yaml).toEqual(json);
  expect(json).toEqual({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: {
      name: "all-teapot",
      namespace: "default",
      creationTimestamp: expect.any(String),
      resourceVersion: "2",
      generation: 1,
    },
    spec: { priority: 0, fault: { percentage: 100, abort: { httpStatus: 418, body: "" } } },
  });
  const list = JSON.parse((await hfi(["policy", "get", "--output=json"], { env })).stdout);
  expect(list).toMatchObject({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicyList",
    metadata: { resourceVersion: "2" },
  });
  expect(list.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([
    "all-teapot",
    "checkout-abort",
  ]);
  expect(parse((await hfi(["policy", "get", "-oyaml"], { env })).stdout)).toEqual(list);
});

test("get of a missing policy is a kubectl-style NotFound, exit 1", async () => {
  expect(await hfi(["policy", "get", "nope"], { env })).toEqual({
    code: 1,
    stdout: "",
    stderr: 'Error from server (NotFound): faultinjectionpolicies.hfi.dev "nope" not found\n',
  });
});

test("an unknown output format is a usage error", async () => {
  expect(await hfi(["policy", "get", "-o", "xml"], { env })).toEqual({
    code: 1,
    stdout: "",
    stderr:
      "error: Invalid value for argument: --output (xml). Expected one of: table, wide, yaml, json.\n" +
      "Run 'hfi policy get --help' for usage.\n",
  });
});

test("an empty store: the table says so on stderr, yaml and json print an empty list", async () => {
  const empty = await startControlPlane();
  try {
    const emptyEnv = { HFI_CONTROL_PLANE_ADDR: empty.url };
    expect(await hfi(["policy", "get"], { env: emptyEnv })).toEqual({
      code: 0,
      stdout: "",
      stderr: "No resources found\n",
    });
    expect(JSON.parse((await hfi(["policy", "get", "-o", "json"], { env: emptyEnv })).stdout).items).toEqual(
      [],
    );
  } finally {
    await empty.stop();
  }
});

test("FAULTS shows a drawn delay by its distribution (min..max, or p50/p99) and a gRPC abort by its status", async () => {
  const alone = await startControlPlane();
  const local = { HFI_CONTROL_PLANE_ADDR: alone.url };
  try {
    const uniform = policyYaml("jitter", "fault: { delay: { uniform: { min: 10ms, max: 50ms } } }");
    const lognormal = policyYaml(
      "tail",
      "fault: { percentage: 5, delay: { lognormal: { p50: 20ms, p99: 300ms } }, abort: { httpStatus: 503 } }",
    );
    const grpc = policyYaml("outage", "fault: { abort: { grpcStatus: UNAVAILABLE, grpcMessage: down } }");
    await hfi(["policy", "apply", "-f", "-"], {
      env: local,
      stdin: `${uniform}---\n${lognormal}---\n${grpc}`,
    });
    const run = await hfi(["policy", "get"], { env: local });
    expect(ageless(run.stdout)).toBe(
      [
        "NAME     PRIORITY   MATCHES   FAULTS                                  AGE",
        "jitter   0          <all>     delay=10ms..50ms                        AGE",
        "outage   0          <all>     abort=grpc:UNAVAILABLE                  AGE",
        "tail     0          <all>     delay=p50:20ms/p99:300ms,abort=503@5%   AGE",
        "",
      ].join("\n"),
    );
  } finally {
    await alone.stop();
  }
});
