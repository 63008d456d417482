/**
 * Response faults in the real Envoy 1.40 (one worker) with the release filter, `dist/hfi serve` and
 * a real upstream serving plain (content-length), chunked and gzip responses: the status is replaced
 * and headers set or removed when the upstream's response meets `match.response`, the body reaches
 * the client whole and framed right, and a response outside the conditions is untouched. A response
 * delay holds the response after the upstream answered, then rewrites it; a halt releases a held
 * response at once, untouched. A body replacement sends the rule's body, framed by its own
 * content-length, whatever the upstream's framing and encoding. A JSON merge patch rewrites plain
 * and chunked JSON bodies; gzip and oversized bodies pass untouched, counted.
 * Requires `npm run build` and scripts/setup.sh.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { putPolicy } from "../support/policies.ts";
import { expectSoon } from "../support/requests.ts";

const BODY = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) });
/** Over the filter's default maxPatchBodyBytes (64 KiB). */
const BIG = JSON.stringify({ items: Array.from({ length: 4000 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) });

/** When the upstream answered each `/plain/...` path (performance.now(), this process's clock). */
const answeredAt = new Map<string, number>();

/** `/plain/...`, `/chunked/...` and `/gzip/...` bodies of BODY; `/missing/...` a 404; `/big/...` and `/bigchunked/...` BIG. */
function upstream(req: Request): Response {
  const { pathname } = new URL(req.url);
  const [, kind] = pathname.split("/");
  answeredAt.set(pathname, performance.now());
  const headers = { "content-type": "application/json", etag: '"v1"', "cache-control": "max-age=600" };
  if (kind === "missing") return Response.json({ error: "no such cart" }, { status: 404, headers });
  if (kind === "gzip") {
    return new Response(gzipSync(BODY), { headers: { ...headers, "content-encoding": "gzip" } });
  }
  if (kind === "big") return new Response(BIG, { headers });
  if (kind === "chunked" || kind === "bigchunked") {
    const bytes = new TextEncoder().encode(kind === "chunked" ? BODY : BIG);
    const stream = new ReadableStream({
      async start(controller) {
        for (let at = 0; at < bytes.length; at += 1000) {
          controller.enqueue(bytes.subarray(at, at + 1000));
          await Bun.sleep(1);
        }
        controller.close();
      },
    });
    return new Response(stream, { headers });
  }
  return new Response(BODY, { headers });
}

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 1, upstream });
  const res = await putPolicy(stack.controlPlaneUrl, "cart-500s", {
    match: { path: { regex: "/(plain|chunked|gzip|missing)/cart" }, response: { status: { codes: [200] } } },
    fault: {
      response: {
        status: 500,
        headers: { set: [{ name: "Retry-After", value: "5" }], remove: ["ETag"] },
      },
    },
  });
  expect(res.status).toBe(201);
  const slow = await putPolicy(stack.controlPlaneUrl, "slow-response", {
    priority: 10,
    match: { path: { prefix: "/plain/slow" } },
    fault: { response: { delay: { fixedDelay: "300ms" }, status: 503 } },
  });
  expect(slow.status).toBe(201);
  const held = await putPolicy(stack.controlPlaneUrl, "held-response", {
    priority: 10,
    match: { path: { prefix: "/plain/held" } },
    fault: { response: { delay: { fixedDelay: "1h" } } },
  });
  expect(held.status).toBe(201);
  const maintenance = await putPolicy(stack.controlPlaneUrl, "maintenance-page", {
    priority: 10,
    match: { path: { regex: "/(plain|chunked|gzip)/maintenance" } },
    fault: {
      response: {
        status: 503,
        headers: { set: [{ name: "content-type", value: "text/plain" }] },
        body: "down for maintenance",
      },
    },
  });
  expect(maintenance.status).toBe(201);
  const prices = await putPolicy(stack.controlPlaneUrl, "free-prices", {
    priority: 10,
    match: { path: { regex: "/(plain|chunked|gzip|big|bigchunked)/price" } },
    fault: { response: { jsonPatch: { items: null, total: 0, meta: { patched: true } } } },
  });
  expect(prices.status).toBe(201);
  // The last policy stored is in force, so every one before it is too.
  await expectSoon(
    () => fetch(`${stack.envoyUrl}/plain/price`, { headers: { connection: "close" } }),
    (r) => r.headers.get("x-hfi-fault") === "free-prices",
    3,
    10_000,
  );
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** The response through Envoy, read whole over a raw HTTP/1.1 connection: status line, headers, body bytes. */
async function rawGet(path: string) {
  const url = new URL(stack.envoyUrl);
  const chunks: Uint8Array[] = [];
  const done = Promise.withResolvers<void>();
  await Bun.connect({
    hostname: url.hostname,
    port: Number(url.port),
    socket: {
      open(socket) {
        socket.write(
          `GET ${path} HTTP/1.1\r\nhost: app\r\naccept-encoding: gzip\r\nconnection: close\r\n\r\n`,
        );
      },
      data(_, data) {
        chunks.push(new Uint8Array(data));
      },
      close() {
        done.resolve();
      },
      error(_, error) {
        done.reject(error);
      },
    },
  });
  await done.promise;
  const all = Buffer.concat(chunks);
  const end = all.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = all.subarray(0, end).toString("latin1").split("\r\n");
  const headers = new Map(
    lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
  );
  return { status: Number(statusLine?.split(" ")[1]), headers, rest: all.subarray(end + 4) };
}

/** A chunked body's bytes, checking its framing: every chunk's size line, and the last chunk. */
function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const line = bytes.indexOf("\r\n", at);
    const size = Number.parseInt(bytes.subarray(at, line).toString(), 16);
    if (Number.isNaN(size)) throw new Error("a chunk size line that is not hex");
    if (size === 0) return Buffer.concat(parts);
    parts.push(bytes.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
}

describe("response faults in real Envoy", () => {
  test("a plain 200: status replaced, headers set and removed, the body whole with its content-length", async () => {
    const res = await rawGet("/plain/cart");
    expect(res.status).toBe(500);
    expect(res.headers.get("x-hfi-fault")).toBe("cart-500s");
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.has("etag")).toBe(false);
    expect(res.headers.get("cache-control")).toBe("max-age=600");
    expect(res.headers.get("content-length")).toBe(String(BODY.length));
    expect(res.rest.toString()).toBe(BODY);
  }, 30_000);

  test("a chunked 200: rewritten, still chunked, every chunk through", async () => {
    const res = await rawGet("/chunked/cart");
    expect([res.status, res.headers.get("transfer-encoding"), res.headers.has("content-length")]).toEqual([
      500,
      "chunked",
      false,
    ]);
    expect(dechunk(res.rest).toString()).toBe(BODY);
  }, 30_000);

  test("a gzip 200: rewritten; the compressed body passes as the upstream sent it", async () => {
    const res = await rawGet("/gzip/cart");
    expect([res.status, res.headers.get("content-encoding")]).toEqual([500, "gzip"]);
    expect(Bun.gunzipSync(res.rest).length).toBe(BODY.length);
    // fetch decodes it, as a client would.
    const viaFetch = await fetch(`${stack.envoyUrl}/gzip/cart`, { headers: { connection: "close" } });
    expect([viaFetch.status, await viaFetch.text()]).toEqual([500, BODY]);
  }, 30_000);

  test("a 404 is outside match.response: untouched", async () => {
    const res = await rawGet("/missing/cart");
    expect([res.status, res.headers.get("etag"), res.headers.has("x-hfi-fault")]).toEqual([
      404,
      '"v1"',
      false,
    ]);
    expect(JSON.parse(res.rest.toString())).toEqual({ error: "no such cart" });
  }, 30_000);

  test("a response delay holds the response after the upstream answered, then rewrites it", async () => {
    const sentAt = performance.now();
    const res = await rawGet("/plain/slow/1");
    const receivedAt = performance.now();
    expect([res.status, res.headers.get("x-hfi-fault"), res.rest.toString()]).toEqual([
      503,
      "slow-response",
      BODY,
    ]);
    // Lower bounds only: the client got it no sooner than the delay after the upstream answered.
    const upstreamAt = answeredAt.get("/plain/slow/1") ?? Number.NaN;
    expect(upstreamAt).toBeGreaterThanOrEqual(sentAt);
    expect(receivedAt - upstreamAt).toBeGreaterThanOrEqual(300);
  }, 30_000);

  test("a halt releases a held response at once, untouched (its delay is an hour)", async () => {
    const pending = rawGet("/plain/held/1");
    await expectSoon(
      async () => answeredAt.has("/plain/held/1"),
      (answered) => answered,
      1,
      10_000,
    );
    const halt = await fetch(`${stack.controlPlaneUrl}/v1/halt`, { method: "POST", body: "{}" });
    expect(halt.status).toBe(201);
    const res = await pending;
    expect([res.status, res.headers.has("x-hfi-fault"), res.rest.toString()]).toEqual([200, false, BODY]);
    await fetch(`${stack.controlPlaneUrl}/v1/halt`, { method: "DELETE" });
    await expectSoon(
      () => fetch(`${stack.envoyUrl}/plain/maintenance`, { headers: { connection: "close" } }),
      (r) => r.status === 503,
      3,
      10_000,
    );
  }, 30_000);

  test.each(["plain", "chunked", "gzip"])(
    "a %s body is replaced whole: content-length is the new body's, no content-encoding",
    async (kind) => {
      const res = await rawGet(`/${kind}/maintenance`);
      expect([res.status, res.headers.get("content-type"), res.headers.get("content-length")]).toEqual([
        503,
        "text/plain",
        "20",
      ]);
      expect([res.headers.has("content-encoding"), res.headers.has("transfer-encoding")]).toEqual([
        false,
        false,
      ]);
      expect(res.rest.toString()).toBe("down for maintenance");
    },
    30_000,
  );

  test.each(["plain", "chunked"])(
    "a %s JSON body is merge-patched, and framed chunked without its content-length",
    async (kind) => {
      const res = await rawGet(`/${kind}/price`);
      expect([res.status, res.headers.get("transfer-encoding"), res.headers.has("content-length")]).toEqual([
        200,
        "chunked",
        false,
      ]);
      expect(JSON.parse(dechunk(res.rest).toString())).toEqual({ total: 0, meta: { patched: true } });
    },
    30_000,
  );

  test("a gzip body is never patched: it passes as the upstream sent it, counted", async () => {
    const res = await rawGet("/gzip/price");
    expect([res.status, res.headers.get("content-encoding"), res.headers.get("x-hfi-fault")]).toEqual([
      200,
      "gzip",
      "free-prices",
    ]);
    expect(Bun.gunzipSync(res.rest).length).toBe(BODY.length);
  }, 30_000);

  test.each(["big", "bigchunked"])(
    "a %s body over 64 KiB passes untouched, counted",
    async (kind) => {
      const res = await rawGet(`/${kind}/price`);
      const body = res.headers.has("content-length") ? res.rest : dechunk(res.rest);
      expect([res.status, body.length]).toEqual([200, BIG.length]);
      expect(body.toString()).toBe(BIG);
    },
    30_000,
  );

  test("Envoy counts the patches it could not apply", async () => {
    const stats = await (await fetch(`${stack.adminUrl}/stats?filter=patches_skipped`)).text();
    const count = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(stats)?.[1] ?? -1);
    expect(count("wasmcustom.hfi.faults.patches_skipped_compressed_total")).toBe(1);
    expect(count("wasmcustom.hfi.faults.patches_skipped_oversize_total")).toBe(2);
    expect(count("wasmcustom.hfi.faults.patches_skipped_invalid_total")).toBe(0);
  }, 30_000);

  test("Envoy counts the rewrites in the policy's counter", async () => {
    const stats = await (await fetch(`${stack.adminUrl}/stats?filter=responses_total`)).text();
    const count = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(stats)?.[1] ?? -1);
    expect(count("wasmcustom.hfi.policy.cart-500s.responses_total")).toBe(4);
    expect(count("wasmcustom.hfi.policy.slow-response.responses_total")).toBe(1);
    expect(count("wasmcustom.hfi.policy.maintenance-page.responses_total")).toBeGreaterThanOrEqual(6);
    expect(count("wasmcustom.hfi.policy.free-prices.responses_total")).toBeGreaterThanOrEqual(8);
    expect(count("wasmcustom.hfi.faults.responses_total")).toBe(
      4 +
        1 +
        count("wasmcustom.hfi.policy.maintenance-page.responses_total") +
        count("wasmcustom.hfi.policy.free-prices.responses_total"),
    );
  }, 30_000);
});
