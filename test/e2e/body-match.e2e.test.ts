/**
 * Request-body conditions (`match.body`) in the real Envoy 1.40 (one worker) with the release
 * filter, `dist/hfi serve` and a real upstream that records every request it gets, through the
 * shipped configuration (allow_on_headers_stop_iteration with the plugin's bodyMatching): a body
 * that contains a string, matches a regex anywhere, or has a JSON value at a path is answered by the
 * filter and the upstream never sees it; a body delay holds the request, which then reaches the
 * upstream with its body and x-hfi-fault, as does a 3 MB body behind a delay decided at the headers; a body over the cap, a request without a body and a
 * request no body rule is waiting for reach the upstream untouched — the last one before its body
 * has ended, so it was not held.
 * Requires `npm run build` and scripts/setup.sh.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { putPolicy } from "../support/policies.ts";
import { expectSoon } from "../support/requests.ts";

interface Received {
  path: string;
  body: string;
  fault: string | null;
}

/** Every request the upstream got, in order; `headersSeen` also those whose body has not ended. */
const received: Received[] = [];
const headersSeen: string[] = [];

async function upstream(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  headersSeen.push(pathname);
  const body = await req.text();
  received.push({ path: pathname, body, fault: req.headers.get("x-hfi-fault") });
  return Response.json({ bytes: body.length });
}

let stack: LocalStack;

async function post(path: string, body?: string) {
  const res = await fetch(`${stack.envoyUrl}${path}`, {
    method: "POST",
    headers: { connection: "close", "content-type": "application/json" },
    body,
  });
  return { status: res.status, fault: res.headers.get("x-hfi-fault"), text: await res.text() };
}

const reached = (path: string) => received.filter((r) => r.path === path);

beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 1, upstream });
  const policies: [string, Record<string, unknown>][] = [
    [
      "free-coupon",
      {
        match: {
          path: { prefix: "/orders" },
          method: { exact: "POST" },
          body: { contains: '"coupon":"FREE"' },
        },
        fault: { abort: { httpStatus: 402, body: "no free lunch" } },
      },
    ],
    [
      "bulk-quantity",
      {
        match: { path: { prefix: "/orders" }, body: { regex: "qty=[0-9]{3,}" } },
        fault: { abort: { httpStatus: 429 } },
      },
    ],
    [
      "gold-tier",
      {
        match: { path: { prefix: "/orders" }, body: { json: { path: "user.tier", exact: "gold" } } },
        fault: { abort: { httpStatus: 503 } },
      },
    ],
    [
      "slow-sku",
      {
        match: { path: { prefix: "/orders" }, body: { json: { path: "items.0.sku", regex: "SKU-9[0-9]*" } } },
        fault: { delay: { fixedDelay: "200ms" } },
      },
    ],
    ["slow-upload", { match: { path: { prefix: "/upload" } }, fault: { delay: { fixedDelay: "100ms" } } }],
  ];
  for (const [name, spec] of policies)
    expect((await putPolicy(stack.controlPlaneUrl, name, spec)).status).toBe(201);
  // The rules reach the worker together: once one is in force, all are.
  await expectSoon(
    () => post("/orders/probe", '{"user":{"tier":"gold"}}'),
    (r) => r.fault === "gold-tier",
    3,
    10_000,
  );
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe("request-body conditions in real Envoy", () => {
  test.each([
    ["contains", "/orders/contains", '{"coupon":"FREE","total":0}', 402, "free-coupon"],
    ["a regex anywhere", "/orders/regex", "a=1&qty=1200&b=2", 429, "bulk-quantity"],
    ["a JSON path", "/orders/json", '{"user":{"id":7,"tier":"gold"}}', 503, "gold-tier"],
  ])(
    "%s: the filter answers and the upstream never gets the request",
    async (_, path, body, status, policy) => {
      const res = await post(path, body);
      expect([res.status, res.fault]).toEqual([status, policy]);
      expect(reached(path)).toEqual([]);
      expect(headersSeen).not.toContain(path);
    },
    30_000,
  );

  test("a body that matches no condition reaches the upstream whole", async () => {
    const body = '{"user":{"tier":"silver"},"coupon":"HALF","qty":12}';
    const res = await post("/orders/plain", body);
    expect([res.status, res.fault]).toEqual([200, null]);
    expect(reached("/orders/plain")).toEqual([{ path: "/orders/plain", body, fault: null }]);
  }, 30_000);

  test("a body delay holds the request, which then reaches the upstream with its body and x-hfi-fault", async () => {
    const body = '{"items":[{"sku":"SKU-912","n":1}]}';
    const res = await post("/orders/slow", body);
    expect(res.status).toBe(200);
    expect(reached("/orders/slow")).toEqual([{ path: "/orders/slow", body, fault: "slow-sku;delay=200" }]);
  }, 30_000);

  test("a body over the cap (16 KiB) goes to the upstream untouched, though it contains the string", async () => {
    const body = `{"coupon":"FREE","pad":"${"x".repeat(20_000)}"}`;
    const res = await post("/orders/big", body);
    expect([res.status, res.fault]).toEqual([200, null]);
    expect(reached("/orders/big").map((r) => r.body)).toEqual([body]);
  }, 30_000);

  test("a request delayed at its headers gets its 3 MB body to the upstream whole after the delay (held with flow control)", async () => {
    const body = "z".repeat(3 * 1024 * 1024);
    const res = await post("/upload/big", body);
    expect([res.status, res.fault]).toEqual([200, null]);
    const [got] = reached("/upload/big");
    expect([got?.body.length, got?.body === body, got?.fault]).toEqual([
      body.length,
      true,
      "slow-upload;delay=100",
    ]);
  }, 30_000);

  test("a request without a body is not held: the body conditions are false", async () => {
    const res = await post("/orders/empty");
    expect([res.status, res.fault]).toEqual([200, null]);
    expect(reached("/orders/empty")).toEqual([{ path: "/orders/empty", body: "", fault: null }]);
  }, 30_000);

  test("a request no body rule waits for reaches the upstream before its body has ended", async () => {
    const url = new URL(stack.envoyUrl);
    const done = Promise.withResolvers<string>();
    let reply = "";
    const socket = await Bun.connect({
      hostname: url.hostname,
      port: Number(url.port),
      socket: {
        data(_, data) {
          reply += Buffer.from(data).toString("latin1");
        },
        close() {
          done.resolve(reply);
        },
        error(_, error) {
          done.reject(error);
        },
      },
    });
    socket.write(
      'POST /catalog/items HTTP/1.1\r\nhost: app\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n10\r\n{"coupon":"FREE"\r\n',
    );
    await expectSoon(
      async () => headersSeen.includes("/catalog/items"),
      (seen) => seen,
      1,
      10_000,
    );
    expect(reached("/catalog/items")).toEqual([]);
    socket.write("1\r\n}\r\n0\r\n\r\n");
    expect((await done.promise).split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    expect(reached("/catalog/items")).toEqual([
      { path: "/catalog/items", body: '{"coupon":"FREE"}', fault: null },
    ]);
  }, 30_000);
});
