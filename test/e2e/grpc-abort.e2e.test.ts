/**
 * gRPC aborts seen by a real gRPC client (Python grpcio, test/support/grpc/shop.py) through the real
 * Envoy 1.40 with the release filter and `dist/hfi serve`, in front of a real gRPC server: the status
 * code and message the client gets, the server never reached, a plain HTTP request to the same path,
 * a delay before the abort, and the service back once the policy is gone.
 * Requires `npm run build` and `scripts/setup.sh --test` (grpcio in .tools/venv).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { ROOT } from "../support/paths.ts";
import { putPolicy } from "../support/policies.ts";
import { terminate } from "../support/process.ts";
import { send } from "../support/requests.ts";

const PYTHON = join(ROOT, ".tools/venv/bin/python");
const SHOP = join(ROOT, "test/support/grpc/shop.py");

interface Seen {
  code: string;
  details: string;
  response?: string;
  initial: Record<string, string>;
  trailing: Record<string, string>;
}

let stack: LocalStack;
let server: Subprocess<"ignore", "pipe", "inherit">;
/** Lines the gRPC server printed: "served <method>" for every call that reached it. */
const served: string[] = [];

beforeAll(async () => {
  server = Bun.spawn([PYTHON, SHOP, "serve"], { stdout: "pipe", stderr: "inherit" });
  const port = Promise.withResolvers<number>();
  (async () => {
    let pending = "";
    for await (const chunk of server.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (/^\d+$/.test(line)) port.resolve(Number(line));
        else served.push(line);
      }
    }
  })();
  stack = await startLocalStack({
    concurrency: 2,
    grpcUpstream: { pathPrefix: "/shop.", port: await port.promise },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  if (server) await terminate(server);
});

/** One call by the real gRPC client through Envoy. */
async function call(method: string): Promise<Seen> {
  const target = new URL(stack.envoyUrl).host;
  const proc = Bun.spawn([PYTHON, SHOP, "call", target, method], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`grpc client: ${err}`);
  return JSON.parse(out);
}

/** Calls until `ok` holds for 4 in a row (every worker has the change), within 10 s; the last result. */
async function callUntil(method: string, ok: (seen: Seen) => boolean): Promise<Seen> {
  const deadline = performance.now() + 10_000;
  let streak = 0;
  for (;;) {
    const seen = await call(method);
    streak = ok(seen) ? streak + 1 : 0;
    if (streak >= 4) return seen;
    if (performance.now() > deadline) throw new Error(`still ${JSON.stringify(seen)}`);
  }
}

async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
  const res = await putPolicy(stack.controlPlaneUrl, name, spec);
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
}

describe("gRPC aborts through real Envoy", () => {
  test("without a policy, the call reaches the gRPC server", async () => {
    const seen = await call("/shop.Inventory/Get");
    expect([seen.code, seen.response]).toEqual(["OK", "ok:ping"]);
    expect(served).toContain("served /shop.Inventory/Get");
  }, 30_000);

  test("grpcStatus UNAVAILABLE with a message: the client sees UNAVAILABLE and the message; the server sees nothing", async () => {
    await apply("inventory-unavailable", {
      match: { path: { prefix: "/shop.Inventory/" } },
      fault: { abort: { grpcStatus: "UNAVAILABLE", grpcMessage: "inventory is down (hfi)" } },
    });
    const seen = await callUntil("/shop.Inventory/Get", (s) => s.code === "UNAVAILABLE");
    expect(seen.details).toBe("inventory is down (hfi)");
    // Trailers-only: everything comes in the one header block, which grpcio reports as trailing.
    expect({ ...seen.initial, ...seen.trailing }).toMatchObject({ "x-hfi-fault": "inventory-unavailable" });
    const before = served.length;
    for (let i = 0; i < 5; i++) expect((await call("/shop.Inventory/Get")).code).toBe("UNAVAILABLE");
    expect(served.length).toBe(before);
    // A request that is not gRPC gets the HTTP twin of the status, with the message as its body.
    const plain = await send(stack.envoyUrl, "/shop.Inventory/Get", "POST");
    expect([plain.status, plain.body, plain.fault]).toEqual([
      503,
      "inventory is down (hfi)",
      "inventory-unavailable",
    ]);
  }, 60_000);

  // Envoy maps a local reply's HTTP 429 to UNAVAILABLE for a gRPC client: RESOURCE_EXHAUSTED shows
  // that the filter's grpc_status is what the client gets.
  test("grpcStatus 8 after a delay: RESOURCE_EXHAUSTED, no message", async () => {
    await apply("quota-exhausted", {
      match: { path: { prefix: "/shop.Quota/" } },
      fault: { delay: { fixedDelay: "50ms" }, abort: { grpcStatus: 8 } },
    });
    const seen = await callUntil("/shop.Quota/Take", (s) => s.code === "RESOURCE_EXHAUSTED");
    expect(seen.details ?? "").toBe("");
    expect(served).not.toContain("served /shop.Quota/Take");
  }, 60_000);

  test("once the policy is deleted, calls reach the server again", async () => {
    const res = await fetch(`${stack.controlPlaneUrl}/v1/policies/inventory-unavailable`, {
      method: "DELETE",
    });
    expect(res.status).toBe(200);
    const seen = await callUntil("/shop.Inventory/Get", (s) => s.code === "OK");
    expect(seen.response).toBe("ok:ping");
  }, 60_000);
});
