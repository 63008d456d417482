/**
 * What an on-call engineer and an attacker can rely on, through the real `dist/hfi serve`, the real
 * Envoy 1.40 with the release filter (2 workers) and the shipped config: a halt releases requests a
 * delay already holds, a client cannot forge `x-hfi-fault` towards the upstream, a path spelled
 * differently cannot slip past a policy, and the API refuses an abort body a 204 or 304 cannot carry.
 * Requires `npm run build` and scripts/setup.sh.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ProxiesStatus } from "../../src/api-types.ts";
import { laggards } from "../../src/client/propagation.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { putPolicy } from "../support/policies.ts";
import { type Sent, send as sendThrough } from "../support/requests.ts";

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 2 });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
});

const send = (path: string, method = "GET", headers: Record<string, string> = {}): Promise<Sent> =>
  sendThrough(stack.envoyUrl, path, method, headers);

/** What the sample upstream echoed: the path it was asked for and the request's x-hfi-fault. */
const echo = (sent: { body: string }) => JSON.parse(sent.body) as { path: string; fault?: string };

/** Applies a policy and returns once every worker (and Envoy's main thread) has it. */
async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
  const res = await putPolicy(stack.controlPlaneUrl, name, spec);
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${name}: ${res.status} ${text}`);
  await everyProxyAt(Number(JSON.parse(text).metadata.resourceVersion));
}

/** A control-plane call that must succeed; the revision it answers with, if any. */
async function call(method: string, path: string): Promise<number> {
  const res = await fetch(`${stack.controlPlaneUrl}${path}`, { method });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return Number(JSON.parse(text).revision);
}

/** Envoy's 2 workers and its main thread each poll: all three must have applied `revision`. */
async function everyProxyAt(revision: number): Promise<void> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    const status = (await fetch(`${stack.controlPlaneUrl}/v1/status/proxies`).then((r) =>
      r.json(),
    )) as ProxiesStatus;
    if (status.proxies.filter((p) => p.live).length >= 3 && laggards(status, revision).length === 0) return;
    if (performance.now() > deadline)
      throw new Error(`revision ${revision} not applied: ${JSON.stringify(status)}`);
    await Bun.sleep(20);
  }
}

async function delaysActive(): Promise<number> {
  const text = await fetch(`${stack.adminUrl}/stats?filter=delays_active`).then((r) => r.text());
  return Number(/^wasmcustom\.hfi\.faults\.delays_active: (\d+)$/m.exec(text)?.[1]);
}

async function delaysActiveSoon(value: number): Promise<void> {
  const deadline = performance.now() + 5_000;
  while ((await delaysActive()) !== value) {
    if (performance.now() > deadline)
      throw new Error(`delays_active is ${await delaysActive()}, not ${value}`);
    await Bun.sleep(20);
  }
}

/** A request written byte for byte, so the path reaches Envoy exactly as given; status line and body. */
async function rawGet(path: string): Promise<{ status: number; fault: string | null; body: string }> {
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
  socket.write(`GET ${path} HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n`);
  await closed.promise;
  const text = Buffer.concat(chunks).toString();
  const [head = "", body = ""] = text.split("\r\n\r\n");
  return {
    status: Number(head.split(" ")[1]),
    fault: /^x-hfi-fault: (.*)$/im.exec(head)?.[1]?.trim() ?? null,
    body,
  };
}

// Held for a minute: an answer within a test's 20 s can only be a release.
const HOLD = { match: { path: { prefix: "/hold" } }, fault: { delay: { fixedDelay: "60s" } } };

describe("held requests", () => {
  test("POST /v1/halt releases every request a delay holds, on every worker, to the upstream", async () => {
    await apply("hold", HOLD);
    const held = Array.from({ length: 4 }, () => send("/hold/x"));
    await delaysActiveSoon(4);
    await call("POST", "/v1/halt");
    try {
      const released = await Promise.all(held);
      expect(released.map((r) => [r.status, echo(r).fault])).toEqual(
        Array.from({ length: 4 }, () => [200, "hold;delay=60000"]),
      );
      await delaysActiveSoon(0);
    } finally {
      await call("DELETE", "/v1/halt");
      await call("DELETE", "/v1/policies/hold");
    }
  }, 20_000);

  test("deleting the policy releases its held requests", async () => {
    await apply("hold", HOLD);
    const held = Array.from({ length: 2 }, () => send("/hold/y"));
    await delaysActiveSoon(2);
    await call("DELETE", "/v1/policies/hold");
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    await delaysActiveSoon(0);
  }, 20_000);
});

describe("attribution cannot be forged", () => {
  test("a client's x-hfi-fault never reaches the upstream, faulted or not, halted or not", async () => {
    await apply("slow", { match: { path: { prefix: "/slow" } }, fault: { delay: { fixedDelay: "10ms" } } });
    const forged = { "x-hfi-fault": "ab;delay=999" };
    try {
      const plain = await send("/plain", "GET", forged);
      const delayed = await send("/slow", "GET", forged);
      expect([plain.status, echo(plain).fault]).toEqual([200, undefined]);
      expect([delayed.status, echo(delayed).fault]).toEqual([200, "slow;delay=10"]);
      await everyProxyAt(await call("POST", "/v1/halt"));
      const halted = await send("/slow", "GET", forged);
      expect([halted.status, echo(halted).fault]).toEqual([200, undefined]);
    } finally {
      await call("DELETE", "/v1/halt");
      await call("DELETE", "/v1/policies/slow");
    }
  });
});

describe("path normalisation (shipped config)", () => {
  test("other spellings of a faulted path are faulted; the upstream gets the normalised path", async () => {
    await apply("checkout", {
      match: { path: { prefix: "/api/checkout" } },
      fault: { abort: { httpStatus: 503, body: "checkout down" } },
    });
    try {
      // Each raw request waits out Envoy's delayed close (1 s), so they go in parallel.
      const paths = [
        "/api/checkout",
        "/api/%63heckout",
        "//api/checkout",
        "/api/./checkout",
        "/api/x/../checkout",
      ];
      const replies = await Promise.all(paths.map(rawGet));
      expect(replies.map((r, i) => [paths[i], r.status, r.fault, r.body])).toEqual(
        paths.map((path) => [path, 503, "checkout", "checkout down"]),
      );
      const other = await rawGet("//api/%63atalog/./items");
      expect([other.status, echo(other).path]).toEqual([200, "/api/catalog/items"]);
    } finally {
      await call("DELETE", "/v1/policies/checkout");
    }
  }, 20_000);
});

describe("aborts without a body", () => {
  test.each([204, 304])(
    "the API refuses a body with httpStatus %d, naming spec.fault.abort.body",
    async (httpStatus) => {
      const res = await putPolicy(stack.controlPlaneUrl, "bodyless", {
        fault: { abort: { httpStatus, body: "nope" } },
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: {
          code: "InvalidInput",
          details: [{ path: "spec.fault.abort.body", message: expect.stringContaining("must be empty") }],
        },
      });
      const missing = await fetch(`${stack.controlPlaneUrl}/v1/policies/bodyless`);
      await missing.arrayBuffer();
      expect(missing.status).toBe(404);
    },
  );
});
