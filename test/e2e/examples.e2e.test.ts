/**
 * Every policy in examples/ does in the real Envoy what its comment says: each is applied with the real
 * `dist/hfi policy apply -f examples/… --wait` to the real `dist/hfi serve`, and requests through
 * Envoy 1.40 with the real filter (2 workers) show the fault, the attribution and the counters. The
 * openapi test validates the same files against the schema. Requires `npm run build` and
 * scripts/setup.sh.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { HFI_BIN, ROOT } from "../support/paths.ts";
import { type Sent, send } from "../support/requests.ts";

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 2 });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
});
afterEach(async () => {
  await hfi("policy", "delete", "--all");
});

/** The real CLI against the stack's control plane. */
async function hfi(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([HFI_BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, HFI_CONTROL_PLANE_ADDR: stack.controlPlaneUrl, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** `hfi policy apply -f examples/FILE --wait`: must create every policy and see every worker confirm it. */
async function applyExample(file: string, names: string[]): Promise<void> {
  const run = await hfi("policy", "apply", "-f", `examples/${file}`, "--wait=20s");
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  for (const name of names) {
    expect(run.stdout).toMatch(new RegExp(`^faultinjectionpolicy\\.hfi\\.dev/${name} created`, "m"));
  }
  expect(run.stdout).toMatch(/^revision \d+ applied by 3\/3 proxies in /m);
}

/** The upstream's echo of the `x-hfi-fault` request header (the sample upstream returns it as `fault`). */
const upstreamSaw = (sent: Sent): string | undefined => JSON.parse(sent.body).fault;

const sendMany = (n: number, path: string, method = "GET") =>
  Promise.all(Array.from({ length: n }, () => send(stack.envoyUrl, path, method)));

/** A counter of Envoy's /stats, summed over the workers; NaN when Envoy has no such stat. */
async function stat(name: string): Promise<number> {
  const text = await fetch(`${stack.adminUrl}/stats?filter=${encodeURIComponent(`^${name}$`)}`).then((r) =>
    r.text(),
  );
  const match = new RegExp(`^${name.replaceAll(".", "\\.")}: (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

test("every example is covered here", () => {
  expect(readdirSync(join(ROOT, "examples")).sort()).toEqual([
    "abort.yaml",
    "body-match.yaml",
    "delay-distribution.yaml",
    "delay-header.yaml",
    "delay-then-abort.yaml",
    "dry-run.yaml",
    "game-day.yaml",
    "grpc-abort.yaml",
    "percentage.yaml",
    // A search loop over experiments: test/e2e/recommender.e2e.test.ts runs it.
    "recommender",
    "response-status.yaml",
  ]);
});

test("abort.yaml: every POST /api/checkout answers 503 from Envoy; other requests pass", async () => {
  await applyExample("abort.yaml", ["checkout-abort"]);
  const aborted = await send(stack.envoyUrl, "/api/checkout", "POST");
  expect([aborted.status, aborted.fault, aborted.body]).toEqual([
    503,
    "checkout-abort",
    "fault injected by hfi",
  ]);
  expect((await send(stack.envoyUrl, "/api/checkout", "GET")).status).toBe(200);
}, 30_000);

test("body-match.yaml: a POST /api/orders for a gold-tier user answers 503 from Envoy; other orders pass", async () => {
  await applyExample("body-match.yaml", ["gold-orders-fail"]);
  const order = (tier: string) =>
    fetch(`${stack.envoyUrl}/api/orders`, {
      method: "POST",
      headers: { connection: "close", "content-type": "application/json" },
      body: JSON.stringify({ user: { id: 7, tier }, items: [{ sku: "sku-1" }] }),
    }).then(async (r) => [r.status, r.headers.get("x-hfi-fault"), await r.text()]);
  expect(await order("gold")).toEqual([503, "gold-orders-fail", "fault injected by hfi"]);
  expect((await order("silver")).slice(0, 2)).toEqual([200, null]);
}, 30_000);

test("response-status.yaml: about half of GET /api/cart come back 500 with Retry-After; the upstream answered them all", async () => {
  await applyExample("response-status.yaml", ["cart-errors"]);
  const responses = await Promise.all(
    Array.from({ length: 100 }, () =>
      fetch(`${stack.envoyUrl}/api/cart`, { headers: { connection: "close" } }).then(async (r) => ({
        status: r.status,
        fault: r.headers.get("x-hfi-fault"),
        retryAfter: r.headers.get("retry-after"),
        body: JSON.parse(await r.text()),
      })),
    ),
  );
  const failed = responses.filter((r) => r.status === 500);
  expect(failed.length).toBeGreaterThan(0);
  expect(failed.length).toBeLessThan(100);
  expect(failed.every((r) => r.fault === "cart-errors" && r.retryAfter === "5")).toBe(true);
  expect(responses.filter((r) => r.status !== 500).every((r) => r.status === 200 && r.fault === null)).toBe(
    true,
  );
  // The upstream's own body, whatever the status: it did its work.
  expect(responses.every((r) => r.body.upstream === "sample" && r.body.path === "/api/cart")).toBe(true);
  expect(await stat("wasmcustom.hfi.policy.cart-errors.responses_total")).toBe(failed.length);
}, 30_000);

test("delay-distribution.yaml: each GET /api/search gets its own delay, median about 50 ms, the upstream told which", async () => {
  await applyExample("delay-distribution.yaml", ["search-latency-tail"]);
  const sent = await sendMany(60, "/api/search");
  const told = sent.map((s) => {
    const match = /^search-latency-tail;delay=(\d+)$/.exec(upstreamSaw(s) ?? "");
    if (!match) throw new Error(`x-hfi-fault at the upstream: ${upstreamSaw(s)}`);
    return Number(match[1]);
  });
  for (const [i, s] of sent.entries()) expect([s.status, s.ms >= told[i]!]).toEqual([200, true]);
  // 60 draws of a median-50 ms log-normal: P(at most 15 or at least 45 below 50 ms) ≈ 1e-4.
  const below = told.filter((ms) => ms < 50).length;
  expect(below).toBeGreaterThan(15);
  expect(below).toBeLessThan(45);
  expect(new Set(told).size).toBeGreaterThan(20);
  const post = await send(stack.envoyUrl, "/api/search", "POST");
  expect([post.status, upstreamSaw(post)]).toEqual([200, undefined]);
  expect((await hfi("policy", "get")).stdout).toMatch(/^search-latency-tail .* delay=p50:50ms\/p99:800ms /m);
}, 30_000);

test("grpc-abort.yaml: about 10% of /shop.Inventory/ calls fail; a plain HTTP client gets 503 and the message", async () => {
  // The gRPC side, with a real gRPC client and server, is test/e2e/grpc-abort.e2e.test.ts.
  await applyExample("grpc-abort.yaml", ["inventory-grpc-unavailable"]);
  const sent = await sendMany(400, "/shop.Inventory/Get", "POST");
  const failed = sent.filter((s) => s.status === 503);
  for (const s of failed)
    expect([s.body, s.fault]).toEqual([
      "inventory unavailable (fault injected)",
      "inventory-grpc-unavailable",
    ]);
  // Binomial(400, 0.1): mean 40, sd 6; outside 15..65 has probability below 1e-4.
  expect(failed.length).toBeGreaterThan(15);
  expect(failed.length).toBeLessThan(65);
  expect(sent.every((s) => s.status === 503 || s.status === 200)).toBe(true);
  expect((await hfi("policy", "get")).stdout).toMatch(
    /^inventory-grpc-unavailable .* abort=grpc:UNAVAILABLE@10% /m,
  );
}, 30_000);

test("delay-header.yaml: only x-user: test is delayed, for ten minutes; the upstream sees the mark", async () => {
  await applyExample("delay-header.yaml", ["products-delay-test-user"]);
  const delayed = await send(stack.envoyUrl, "/api/products", "GET", { "x-user": "test" });
  expect(delayed.status).toBe(200);
  expect(upstreamSaw(delayed)).toBe("products-delay-test-user;delay=2000");
  const other = await send(stack.envoyUrl, "/api/products", "GET", { "x-user": "someone" });
  expect([other.status, upstreamSaw(other)]).toEqual([200, undefined]);
  const listed = await hfi("policy", "get");
  expect(listed.stdout).toMatch(/^products-delay-test-user .* delay=2s +\S+ +(9m5\ds|10m0s)$/m);
  expect(await stat("wasmcustom.hfi.policy.products-delay-test-user.delays_total")).toBe(1);
}, 30_000);

test("delay-then-abort.yaml: POST /api/payments is held, then answered 504; the upstream never sees it", async () => {
  await applyExample("delay-then-abort.yaml", ["payments-slow-timeout"]);
  const failed = await send(stack.envoyUrl, "/api/payments", "POST");
  expect([failed.status, failed.fault, failed.body]).toEqual([
    504,
    "payments-slow-timeout",
    "upstream timed out (injected by hfi)",
  ]);
  expect(await stat("wasmcustom.hfi.policy.payments-slow-timeout.delays_total")).toBe(1);
  expect(await stat("wasmcustom.hfi.policy.payments-slow-timeout.aborts_total")).toBe(1);
}, 30_000);

test("percentage.yaml: about a quarter of /api/catalog/<number> fail with 500; other paths never", async () => {
  await applyExample("percentage.yaml", ["catalog-errors-25pct"]);
  const sent = (await Promise.all(Array.from({ length: 10 }, () => sendMany(20, "/api/catalog/42")))).flat();
  const failed = sent.filter((s) => s.status === 500);
  // Binomial(200, 0.25): mean 50, standard deviation 6.1; 20 and 80 are about 5 deviations away.
  expect(failed.length).toBeGreaterThan(20);
  expect(failed.length).toBeLessThan(80);
  expect(failed.every((s) => s.fault === "catalog-errors-25pct")).toBe(true);
  expect(sent.filter((s) => s.status !== 500).every((s) => s.status === 200)).toBe(true);
  expect(await stat("wasmcustom.hfi.policy.catalog-errors-25pct.aborts_total")).toBe(failed.length);
  const notANumber = await sendMany(20, "/api/catalog/new");
  expect(notANumber.map((s) => s.status)).toEqual(Array(20).fill(200));
}, 30_000);

test("dry-run.yaml: every request passes untouched; the policy's counter says how many it would have hit", async () => {
  await applyExample("dry-run.yaml", ["checkout-abort-dry-run"]);
  const sent = await sendMany(40, "/api/checkout", "POST");
  expect(sent.map((s) => [s.status, s.fault])).toEqual(Array(40).fill([200, null]));
  const wouldHit = await stat("wasmcustom.hfi.policy.checkout-abort-dry-run.dryrun_matches_total");
  // A 50 % share of 40: never none, never all (each with probability 1e-12).
  expect(wouldHit).toBeGreaterThan(0);
  expect(wouldHit).toBeLessThan(40);
  const prometheus = await fetch(`${stack.adminUrl}/stats/prometheus`).then((r) => r.text());
  expect(prometheus).toContain(
    `hfi_policy_dryrun_matches_total{policy="checkout-abort-dry-run"} ${wouldHit}\n`,
  );
  const listed = await hfi("policy", "get", "checkout-abort-dry-run");
  expect(listed.stdout).toContain("abort=503@50% (dry run)");
}, 30_000);

test("game-day.yaml: both documents are applied at once, each does its part, both expire in 2 h", async () => {
  await applyExample("game-day.yaml", ["game-day-cart-errors", "game-day-search-slow"]);
  const slow = await send(stack.envoyUrl, "/api/search?q=shoes");
  expect([slow.status, upstreamSaw(slow)]).toEqual([200, "game-day-search-slow;delay=800"]);
  const carts = (
    await Promise.all(Array.from({ length: 10 }, () => sendMany(20, "/api/cart", "POST")))
  ).flat();
  const failed = carts.filter((s) => s.status === 503);
  // Binomial(200, 0.1): mean 20, standard deviation 4.2.
  expect(failed.length).toBeGreaterThan(0);
  expect(failed.length).toBeLessThan(50);
  expect(
    failed.every((s) => s.fault === "game-day-cart-errors" && s.body === "cart unavailable (game day)"),
  ).toBe(true);
  const listed = await hfi("policy", "get");
  expect(listed.stdout).toMatch(/^game-day-cart-errors .* abort=503@10% +\S+ +(119m|120m)$/m);
  expect(listed.stdout).toMatch(/^game-day-search-slow .* delay=800ms +\S+ +(119m|120m)$/m);
}, 30_000);
