/**
 * End to end through the real `dist/hfi serve`, the real Envoy 1.40 with the release filter
 * (2 workers, so 3 root contexts counting the main thread) and a real upstream: matchers, delays,
 * sampling, policy changes, control-plane loss and the metrics Envoy exposes.
 * Requires `npm run build` and scripts/setup.sh.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { putPolicy } from "../support/policies.ts";
import { expectSoon as expectStreak, type Sent, send as sendThrough } from "../support/requests.ts";

const CHANGE_LIMIT_MS = 3_000;

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 2 });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
});

/** One request through this file's Envoy on a fresh connection. */
const send = (path: string, method = "GET", headers: Record<string, string> = {}): Promise<Sent> =>
  sendThrough(stack.envoyUrl, path, method, headers);

/** Waits until `times` requests in a row satisfy `ok`, within this file's limit for a change to show. */
const expectSoon = (
  probe: () => Promise<Sent>,
  ok: (s: Sent) => boolean,
  times = 10,
  limitMs = CHANGE_LIMIT_MS,
) => expectStreak(probe, ok, times, limitMs);

/** A request written byte for byte (e.g. a header repeated on two lines); the whole response text. */
async function rawRequest(request: string): Promise<string> {
  const { port } = new URL(stack.envoyUrl);
  const chunks: Buffer[] = [];
  const closed = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: Number(port),
    socket: {
      data: (_, data) => void chunks.push(Buffer.from(data)),
      close: () => closed.resolve(),
      error: (_, error) => closed.reject(error),
    },
  });
  socket.write(request);
  await closed.promise;
  return Buffer.concat(chunks).toString();
}

const sendMany = (n: number, path: string, method = "GET", headers: Record<string, string> = {}) =>
  Promise.all(Array.from({ length: n }, () => send(path, method, headers)));

async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
  const res = await putPolicy(stack.controlPlaneUrl, name, spec);
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
}

async function remove(name: string): Promise<void> {
  const res = await fetch(`${stack.controlPlaneUrl}/v1/policies/${name}`, { method: "DELETE" });
  if (res.status !== 200) throw new Error(`DELETE ${name}: ${res.status}`);
}

/** A policy whose effect is instant to see: once every worker answers 418 on its path, it has everything applied before it. */
async function sync(): Promise<void> {
  const name = `sync-${Math.random().toString(36).slice(2, 8)}`;
  await apply(name, { match: { path: { exact: `/${name}` } }, fault: { abort: { httpStatus: 418 } } });
  await expectSoon(
    () => send(`/${name}`),
    (s) => s.status === 418,
  );
  await remove(name);
}

/**
 * Smallest k with P(|X − n/2| ≥ k) ≤ alpha for X ~ Binomial(n, 1/2), from the exact distribution:
 * a bound that fails a correct filter with probability at most alpha.
 */
function binomialHalfBound(n: number, alpha: number): number {
  const logPmf = (k: number) => logChoose(n, k) - n * Math.LN2;
  for (let k = 1; k <= n / 2; k++) {
    let tail = 0;
    for (let x = 0; x <= n; x++) if (Math.abs(x - n / 2) >= k) tail += Math.exp(logPmf(x));
    if (tail <= alpha) return k;
  }
  return n / 2;
}

function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log(n - k + i) - Math.log(i);
  return sum;
}

describe("matching and faults in real Envoy", () => {
  test("abort on a regex path and a method; 200 elsewhere", async () => {
    await apply("orders-abort", {
      match: { path: { regex: "/api/orders/[0-9]+" }, method: { exact: "DELETE" } },
      fault: { abort: { httpStatus: 409, body: "order locked" } },
    });
    const hit = await expectSoon(
      () => send("/api/orders/42", "DELETE"),
      (s) => s.status === 409,
    );
    expect(hit).toMatchObject({ fault: "orders-abort", body: "order locked" });
    for (const [path, method] of [
      ["/api/orders/42", "GET"],
      ["/api/orders/4x", "DELETE"],
      ["/api/orders/42/items", "DELETE"],
      ["/api/products", "DELETE"],
    ] as const) {
      const passed = await send(path, method);
      expect([path, method, passed.status, passed.fault]).toEqual([path, method, 200, null]);
      expect(JSON.parse(passed.body)).toMatchObject({ upstream: "sample" });
    }
    expect((await send("/api/orders/42?verbose=1", "DELETE")).status).toBe(409);
    await remove("orders-abort");
  });

  test("header match vs no header (exact, prefix, present; a repeated header matches on any value)", async () => {
    await apply("beta-users", {
      match: {
        path: { prefix: "/profile" },
        headers: [
          { name: "X-Tenant", prefix: "beta-" },
          { name: "x-debug", present: true },
        ],
      },
      fault: { abort: { httpStatus: 451 } },
    });
    await expectSoon(
      () => send("/profile", "GET", { "x-tenant": "beta-eu", "x-debug": "" }),
      (s) => s.status === 451,
    );
    expect((await send("/profile")).status).toBe(200);
    expect((await send("/profile", "GET", { "x-tenant": "beta-eu" })).status).toBe(200);
    expect((await send("/profile", "GET", { "x-tenant": "alpha", "x-debug": "1" })).status).toBe(200);
    // Two x-tenant lines (fetch would fold them into one): the second value matches.
    const raw = (tenants: string[]) =>
      rawRequest(
        `GET /profile HTTP/1.1\r\nhost: app\r\n${tenants.map((t) => `x-tenant: ${t}\r\n`).join("")}x-debug: 1\r\nconnection: close\r\n\r\n`,
      );
    expect(await raw(["alpha", "beta-us"])).toMatch(/^HTTP\/1\.1 451 /);
    expect(await raw(["alpha", "gamma"])).toMatch(/^HTTP\/1\.1 200 /);
    await remove("beta-users");
  });

  test("50% of 400 requests, within an exact binomial bound (α = 1e-6)", async () => {
    await apply("coin", {
      match: { path: { exact: "/coin" } },
      fault: { percentage: 50, abort: { httpStatus: 500 } },
    });
    await sync();
    const n = 400;
    const bound = binomialHalfBound(n, 1e-6);
    let aborted = 0;
    for (let i = 0; i < n; i += 20) {
      for (const s of await sendMany(20, "/coin")) {
        expect([200, 500]).toContain(s.status);
        if (s.status === 500) aborted++;
      }
    }
    expect(bound).toBe(50);
    expect(Math.abs(aborted - n / 2)).toBeLessThan(bound);
    await remove("coin");
  }, 30_000);

  test("delay 2 s on POST only", async () => {
    await apply("slow-post", {
      match: { path: { prefix: "/slow" }, method: { exact: "POST" } },
      fault: { delay: { fixedDelay: "2s" } },
    });
    await sync();
    const [posts, gets] = await Promise.all([sendMany(8, "/slow/x", "POST"), sendMany(8, "/slow/x", "GET")]);
    for (const s of posts) {
      expect(s.status).toBe(200);
      expect(s.ms).toBeGreaterThanOrEqual(2000);
      expect(s.ms).toBeLessThan(2000 + 500);
    }
    for (const s of gets) expect(s.ms).toBeLessThan(1000);
    await remove("slow-post");
  }, 20_000);

  test("delay then abort: the 503 arrives after the delay", async () => {
    await apply("late-failure", {
      match: { path: { exact: "/late" } },
      fault: { delay: { fixedDelay: "300ms" }, abort: { httpStatus: 503, body: "late" } },
    });
    await sync();
    for (const s of await sendMany(6, "/late")) {
      expect(s).toMatchObject({ status: 503, fault: "late-failure", body: "late" });
      expect(s.ms).toBeGreaterThanOrEqual(300);
    }
    await remove("late-failure");
  });

  test("one policy changed from abort to delay, then deleted: each change is observed", async () => {
    const match = { path: { prefix: "/change" } };
    await apply("changing", { match, fault: { abort: { httpStatus: 502 } } });
    await expectSoon(
      () => send("/change"),
      (s) => s.status === 502 && s.fault === "changing",
    );
    await apply("changing", { match, fault: { delay: { fixedDelay: "400ms" } } });
    await expectSoon(
      () => send("/change"),
      (s) => s.status === 200 && s.ms >= 400,
      6,
    );
    await remove("changing");
    await expectSoon(
      () => send("/change"),
      (s) => s.status === 200 && s.ms < 400,
    );
  }, 20_000);
});

describe("control plane loss", () => {
  test("killed: faults keep working on the last rules; restarted: the next change arrives", async () => {
    await apply("survivor", {
      match: { path: { exact: "/survive" } },
      fault: { abort: { httpStatus: 503 } },
    });
    await expectSoon(
      () => send("/survive"),
      (s) => s.status === 503,
    );
    await stack.stopControlPlane();
    expect((await fetch(`${stack.controlPlaneUrl}/healthz`).catch(() => null))?.status).toBeUndefined();
    for (let round = 0; round < 5; round++) {
      for (const s of await sendMany(10, "/survive")) expect(s.status).toBe(503);
      await Bun.sleep(300);
    }
    await stack.startControlPlane();
    // The restarted memory store is empty: its first rule set removes the fault…
    await expectSoon(
      () => send("/survive"),
      (s) => s.status === 200,
      10,
      40_000,
    );
    // …and the next change arrives as usual.
    await apply("revived", { match: { path: { exact: "/revived" } }, fault: { abort: { httpStatus: 418 } } });
    await expectSoon(
      () => send("/revived"),
      (s) => s.status === 418,
    );
    await remove("revived");
  }, 60_000);
});

describe("metrics", () => {
  const stat = (text: string, name: string) =>
    Number(new RegExp(`^${name.replaceAll(".", "\\.")}: (\\d+)$`, "m").exec(text)?.[1]);

  test("every filter metric is in /stats (wasmcustom.) and /stats/prometheus", async () => {
    await apply("metered", {
      match: { path: { exact: "/metered" } },
      fault: { delay: { fixedDelay: "50ms" }, abort: { httpStatus: 429 } },
    });
    await sync();
    for (const s of await sendMany(5, "/metered")) expect(s.status).toBe(429);
    // Histograms reach the admin endpoints at Envoy's stats flush (every 5 s by default).
    const deadline = performance.now() + 12_000;
    let prometheus = "";
    while (performance.now() < deadline) {
      prometheus = await fetch(`${stack.adminUrl}/stats/prometheus`).then((r) => r.text());
      if (/^hfi_faults_delay_duration_milliseconds_count\{\} [1-9]/m.test(prometheus)) break;
      await Bun.sleep(500);
    }
    const stats = await fetch(`${stack.adminUrl}/stats?filter=hfi\\.`).then((r) => r.text());
    expect(stat(stats, "wasmcustom.hfi.faults.aborts_total")).toBeGreaterThanOrEqual(5);
    expect(stat(stats, "wasmcustom.hfi.faults.delays_total")).toBeGreaterThanOrEqual(5);
    expect(stat(stats, "wasmcustom.hfi.faults.delays_active")).toBe(0);
    expect(stat(stats, "wasmcustom.hfi.faults.overflow_total")).toBe(0);
    expect(stat(stats, "wasmcustom.hfi.config.revision")).toBeGreaterThan(0);
    expect(stat(stats, "wasmcustom.hfi.config.updates_total")).toBeGreaterThan(0);
    expect(stat(stats, "wasmcustom.hfi.config.errors_total")).toBe(0);
    expect(stats).toMatch(/^wasmcustom\.hfi\.faults\.delay_duration_milliseconds: P0\(/m);
    for (const name of [
      "hfi_faults_aborts_total",
      "hfi_faults_delays_total",
      "hfi_faults_delays_active",
      "hfi_faults_overflow_total",
      "hfi_config_revision",
      "hfi_config_updates_total",
      "hfi_config_errors_total",
      "hfi_faults_delay_duration_milliseconds_count",
    ]) {
      expect([name, new RegExp(`^${name}\\{\\} \\d+`, "m").test(prometheus)]).toEqual([name, true]);
    }
    const sum = Number(/^hfi_faults_delay_duration_milliseconds_sum\{\} ([\d.]+)/m.exec(prometheus)?.[1]);
    const count = Number(/^hfi_faults_delay_duration_milliseconds_count\{\} (\d+)/m.exec(prometheus)?.[1]);
    expect(sum / count).toBeGreaterThanOrEqual(50);
    await remove("metered");
  }, 30_000);
});
