/**
 * End to end: the real dist/hfi, the real Envoy loading the real dist/hfi-filter.wasm (2 workers),
 * a real upstream. Requires `npm run build` (npm test does it) and scripts/setup.sh (Envoy).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { policy } from "../support/policies.ts";
import { expectSoon, send as sendThrough } from "../support/requests.ts";

const POLICY = policy("checkout-abort", {
  match: { path: { prefix: "/api/checkout" }, method: { exact: "POST" } },
  fault: { abort: { httpStatus: 503, body: "fault injected by hfi" } },
});
const PROPAGATION_LIMIT_MS = 2000;

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 2 });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
});

const send = (path: string, method = "GET") => sendThrough(stack.envoyUrl, path, method);

/** Waits until `times` requests in a row answer `status`; fails after the propagation limit. */
const expectStatusSoon = (path: string, method: string, status: number, times = 10) =>
  expectSoon(
    () => send(path, method),
    (s) => s.status === status,
    times,
    PROPAGATION_LIMIT_MS,
  );

test("a policy applied to hfi serve aborts matching requests in Envoy and stops when deleted", async () => {
  const before = await send("/api/checkout/pay", "POST");
  expect(before.status).toBe(200);

  const put = await fetch(`${stack.controlPlaneUrl}/v1/policies/checkout-abort`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(POLICY),
  });
  expect(put.status).toBe(201);

  const aborted = await expectStatusSoon("/api/checkout/pay", "POST", 503);
  expect(aborted.fault).toBe("checkout-abort");
  expect(aborted.body).toBe("fault injected by hfi");

  const otherPath = await send("/api/products");
  expect(otherPath.status).toBe(200);
  expect(JSON.parse(otherPath.body)).toMatchObject({ upstream: "sample", path: "/api/products" });
  expect((await send("/api/checkout/pay", "GET")).status).toBe(200);

  const del = await fetch(`${stack.controlPlaneUrl}/v1/policies/checkout-abort`, { method: "DELETE" });
  expect(del.status).toBe(200);
  const healed = await expectStatusSoon("/api/checkout/pay", "POST", 200);
  expect(healed.fault).toBeNull();
}, 20_000);

// Envoy 1.40's /stats keeps the `wasmcustom.` namespace in front of custom Wasm metrics;
// /stats/prometheus strips it. See docs/FILTER.md#metrics.
test("Envoy exposes the filter's metrics in /stats and /stats/prometheus", async () => {
  const stats = await fetch(`${stack.adminUrl}/stats?filter=hfi\\.`).then((r) => r.text());
  const aborts = Number(/^wasmcustom\.hfi\.faults\.aborts_total: (\d+)$/m.exec(stats)?.[1]);
  expect(aborts).toBeGreaterThanOrEqual(10);
  expect(stats).toMatch(/^wasmcustom\.hfi\.config\.revision: [1-9]\d*$/m);
  const prometheus = await fetch(`${stack.adminUrl}/stats/prometheus`).then((r) => r.text());
  expect(prometheus).toMatch(/^hfi_faults_aborts_total\{\} [1-9]\d*$/m);
  expect(prometheus).toMatch(/^hfi_config_revision\{\} [1-9]\d*$/m);
});
