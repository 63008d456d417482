/**
 * The CRDs on a real kube-apiserver: it accepts them as structural schemas, accepts every example
 * policy, and refuses an invalid policy at admission, naming the field — as `hfi policy apply` does.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startTestKubeApiServer, type TestKubeApiServer } from "../support/kube-apiserver.ts";
import { ROOT } from "../support/paths.ts";

// Each test runs kubectl or waits for a real API server, which take seconds on a busy machine.
setDefaultTimeout(30_000);
let kube: TestKubeApiServer;
let namespace: string;

beforeAll(async () => {
  kube = await startTestKubeApiServer();
  await kube.installCrds();
  namespace = await kube.createNamespace();
}, 180_000);

afterAll(async () => {
  await kube?.stop();
});

const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".yaml"));

test.each(examples)("kubectl apply -f examples/%s creates the policy", async (file) => {
  const result = await kube.kubectl(["apply", "-n", namespace, "-f", join(ROOT, "examples", file)]);
  expect(result.stderr).toBe("");
  expect(result.stdout).toContain("faultinjectionpolicy.hfi.dev/");
  expect(result.exitCode).toBe(0);
});

function policy(spec: unknown, name = "bad"): string {
  return JSON.stringify({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec,
  });
}

test.each([
  ["an httpStatus out of range", { fault: { abort: { httpStatus: 700 } } }, "spec.fault.abort.httpStatus"],
  ["a fault with neither delay nor abort", { fault: { percentage: 5 } }, "spec.fault"],
  [
    "a percentage finer than 0.01",
    { fault: { percentage: 1.234, abort: { httpStatus: 503 } } },
    "spec.fault.percentage",
  ],
  [
    "a body with a bodyless status",
    { fault: { abort: { httpStatus: 204, body: "x" } } },
    "spec.fault.abort.body",
  ],
  [
    "two path matches",
    { match: { path: { exact: "/a", prefix: "/" } }, fault: { abort: { httpStatus: 503 } } },
    "spec.match.path",
  ],
  ["a malformed delay", { fault: { delay: { fixedDelay: "soon" } } }, "spec.fault.delay.fixedDelay"],
  ["an unknown field", { fault: { abort: { httpStatus: 503 } }, retries: 3 }, "spec.retries"],
  [
    "an unknown gRPC status name",
    { fault: { abort: { grpcStatus: "SLOW" } } },
    "spec.fault.abort.grpcStatus",
  ],
  [
    "a gRPC status code out of range",
    { fault: { abort: { grpcStatus: 17 } } },
    "spec.fault.abort.grpcStatus",
  ],
  [
    "both an HTTP and a gRPC status",
    { fault: { abort: { httpStatus: 503, grpcStatus: "UNAVAILABLE" } } },
    "spec.fault.abort",
  ],
  [
    "a grpcMessage without grpcStatus",
    { fault: { abort: { httpStatus: 503, grpcMessage: "x" } } },
    "spec.fault.abort.grpcMessage",
  ],
  [
    "a body with grpcStatus",
    { fault: { abort: { grpcStatus: "UNAVAILABLE", body: "x" } } },
    "spec.fault.abort.body",
  ],
  [
    "a uniform max below its min",
    { fault: { delay: { uniform: { min: "1s", max: "500ms" } } } },
    "spec.fault.delay.uniform.max",
  ],
  [
    "a lognormal p99 not above its p50",
    { fault: { delay: { lognormal: { p50: "20ms", p99: "20ms" } } } },
    "spec.fault.delay.lognormal.p99",
  ],
  [
    "two delay forms",
    { fault: { delay: { fixedDelay: "1s", uniform: { min: "1s", max: "2s" } } } },
    "spec.fault.delay",
  ],
])("%s is refused at admission, naming the field", async (_what, spec, field) => {
  const result = await kube.kubectl(["apply", "-n", namespace, "-f", "-"], policy(spec));
  expect(result.exitCode).not.toBe(0);
  expect(result.stderr).toContain(field);
  const get = await kube.kubectl(["get", "fip", "bad", "-n", namespace]);
  expect(get.stderr).toContain("NotFound");
});

test("a name that is not a DNS-1123 label is refused", async () => {
  const result = await kube.kubectl(
    ["apply", "-n", namespace, "-f", "-"],
    policy({ fault: { abort: { httpStatus: 503 } } }, "a.b"),
  );
  expect(result.exitCode).not.toBe(0);
  expect(result.stderr).toContain("metadata.name");
});

test("kubectl get fip prints the printer columns", async () => {
  await kube.kubectl(["apply", "-n", namespace, "-f", join(ROOT, "examples/abort.yaml")]);
  const result = await kube.kubectl(["get", "fip", "checkout-abort", "-n", namespace]);
  expect(result.stdout.split("\n")[0]?.split(/\s+/)).toEqual([
    "NAME",
    "PRIORITY",
    "MODE",
    "PATH",
    "ABORT",
    "DELAY",
    "PERCENT",
    "EXPIRES",
    "AGE",
  ]);
  // Empty cells (no mode, delay or expiry) are blank.
  expect(result.stdout.split("\n")[1]).toMatch(
    /^checkout-abort\s+10\s+\/api\/checkout\s+503\s+100\s+\d+s\s*$/,
  );
});
