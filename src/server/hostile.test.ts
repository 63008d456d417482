/**
 * Hostile bodies that outside fuzzing (Schemathesis and by hand) found the API accepting or
 * mishandling. Each is refused with the status and field the API reference promises, and leaves
 * the store as it was.
 */
import { describe, expect, test } from "bun:test";
import { createTestApp, errorOf, jsonOf } from "../../test/support/control-plane.ts";
import { regexBombJson } from "../../test/support/hostile-bodies.ts";
import { policyJson } from "../../test/support/policies.ts";
import type { PolicyList } from "../store/index.ts";

const YAML = { "content-type": "application/yaml" };
const JSON_TYPE = { "content-type": "application/json" };

/** A YAML policy whose header conditions all repeat one anchored `exact` value. */
function aliasedHeadersYaml(anchored: string, aliases: number): string {
  const headers = [`    - { name: x-h0, exact: &big ${anchored} }`];
  for (let i = 1; i <= aliases; i++) headers.push(`    - { name: x-h${i}, exact: *big }`);
  return [
    "apiVersion: hfi.dev/v1alpha1",
    "kind: FaultInjectionPolicy",
    "metadata: { name: amplified }",
    "spec:",
    "  match:",
    "    headers:",
    ...headers.map((line) => `  ${line}`),
    "  fault: { abort: { httpStatus: 503 } }",
    "",
  ].join("\n");
}

async function expectNothingStored(app: Awaited<ReturnType<typeof createTestApp>>["app"]) {
  const list = await jsonOf<PolicyList>(await app.request("/v1/policies"));
  expect(list.items).toEqual([]);
}

describe("hostile bodies", () => {
  test("YAML aliases that expand one 1 MB string 32 times: 413 naming the expansion", async () => {
    const { app } = await createTestApp();
    const body = aliasedHeadersYaml("a".repeat(1_000_000), 31);
    expect(body.length).toBeLessThan(1024 * 1024);
    const res = await app.request("/v1/policies", { method: "POST", headers: YAML, body });
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toMatchObject({
      code: "PayloadTooLarge",
      message: expect.stringContaining("once its YAML aliases are expanded"),
    });
    await expectNothingStored(app);
  });

  test("aliases that stay within 1 MiB but over a field's bound: 400 naming the field", async () => {
    const { app } = await createTestApp();
    const body = aliasedHeadersYaml("a".repeat(20_000), 31);
    const res = await app.request("/v1/policies", { method: "POST", headers: YAML, body });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.details[0]).toEqual({
      path: "spec.match.headers[0].exact",
      message: "must be at most 8192 characters",
    });
    await expectNothingStored(app);
  });

  test("aliases that expand to over 1 MiB only as JSON (escaped control characters): 413", async () => {
    const { app } = await createTestApp();
    // 8192 control characters take 4 bytes each in YAML, 6 each as stored JSON (\u0001), 32 times.
    const body = aliasedHeadersYaml(`"${"\\x01".repeat(8192)}"`, 31);
    expect(body.length).toBeLessThan(64 * 1024);
    const res = await app.request("/v1/policies", { method: "POST", headers: YAML, body });
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toMatchObject({
      code: "PayloadTooLarge",
      message: expect.stringContaining("once its YAML aliases are expanded"),
    });
    await expectNothingStored(app);
  });

  test("a JSON body under 1 MiB whose stored object, defaults filled in, is over: 413 before the store", async () => {
    const { app } = await createTestApp();
    const policy = policyJson("full");
    const withHeaders = (values: string[]) =>
      JSON.stringify({
        ...policy,
        spec: { ...policy.spec, match: { headers: values.map((exact, i) => ({ name: `x-${i}`, exact })) } },
      });
    const full = Array.from({ length: 21 }, () => "\u0001".repeat(8192));
    const room = 1024 * 1024 - withHeaders([...full, ""]).length - 4;
    const body = withHeaders([...full, "\u0001".repeat(Math.floor(room / 6)) + "a".repeat(room % 6)]);
    expect(body.length).toBeLessThanOrEqual(1024 * 1024);
    expect(body.length).toBeGreaterThan(1024 * 1024 - 10);
    const res = await app.request("/v1/policies", { method: "POST", headers: JSON_TYPE, body });
    expect(await errorOf(res)).toMatchObject({
      code: "PayloadTooLarge",
      message: expect.stringContaining("as stored JSON"),
    });
    expect(res.status).toBe(413);
    await expectNothingStored(app);
  });

  test("every string field of the schema has a bound", async () => {
    const { app } = await createTestApp();
    const long = (n: number) => `/${"a".repeat(n)}`;
    const cases: [string, unknown][] = [
      ["spec.match.path.exact", { path: { exact: long(4096) } }],
      ["spec.match.path.prefix", { path: { prefix: long(4096) } }],
      ["spec.match.method.exact", { method: { exact: "GET".repeat(22) } }],
      ["spec.match.headers[0].name", { headers: [{ name: "x".repeat(257), present: true }] }],
      ["spec.match.headers[0].prefix", { headers: [{ name: "x", prefix: "v".repeat(8193) }] }],
    ];
    for (const [path, match] of cases) {
      const policy = policyJson("long");
      const res = await app.request("/v1/policies", {
        method: "POST",
        headers: JSON_TYPE,
        body: JSON.stringify({ ...policy, spec: { ...policy.spec, match } }),
      });
      expect([path, res.status]).toEqual([path, 400]);
      expect((await errorOf(res)).details[0]?.path).toBe(path);
    }
    await expectNothingStored(app);
  });

  test("bytes that are not UTF-8 inside a string: 400 naming the field, not stored as U+FFFD", async () => {
    const { app } = await createTestApp();
    const text = JSON.stringify(policyJson("bytes")).replace('"prefix":"/"', '"prefix":"/\u0000"');
    const bytes = new TextEncoder().encode(text);
    bytes[bytes.indexOf(0)] = 0xff;
    for (const headers of [JSON_TYPE, YAML]) {
      const res = await app.request("/v1/policies", { method: "POST", headers, body: bytes });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).details).toEqual([
        { path: "spec.match.path.prefix", message: expect.stringContaining("not UTF-8") },
      ]);
    }
    await expectNothingStored(app);
  });

  test("a lone surrogate in abort.body: 400 naming the field", async () => {
    const { app } = await createTestApp();
    const policy = policyJson("surrogate");
    const text = JSON.stringify({
      ...policy,
      spec: { ...policy.spec, fault: { abort: { httpStatus: 503, body: "x" } } },
    });
    for (const [headers, body] of [
      [JSON_TYPE, text.replace('"body":"x"', '"body":"\\ud800"')],
      [YAML, text.replace('"body":"x"', '"body":"\\ud800"')],
    ] as const) {
      const res = await app.request("/v1/policies", { method: "POST", headers, body });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).details).toEqual([
        { path: "spec.fault.abort.body", message: expect.stringContaining("lone surrogate") },
      ]);
    }
    await expectNothingStored(app);
  });

  test("a lone surrogate in the halt reason: 400 naming the field, and no halt", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/halt", {
      method: "POST",
      headers: JSON_TYPE,
      body: '{"reason":"\\udfff"}',
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details).toEqual([
      { path: "reason", message: expect.stringContaining("lone surrogate") },
    ]);
    expect(await jsonOf(await app.request("/v1/halt"))).toEqual({ halted: false });
  });

  test("duplicate JSON keys: 400 naming the repeated key, as for YAML", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/policies", {
      method: "POST",
      headers: JSON_TYPE,
      body: '{"apiVersion":"hfi.dev/v1alpha1","kind":"FaultInjectionPolicy","metadata":{"name":"a"},"metadata":{"name":"b"},"spec":{"fault":{"abort":{"httpStatus":503}}}}',
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details).toEqual([{ path: "metadata", message: "duplicate key" }]);
    const nested = await app.request("/v1/halt", {
      method: "POST",
      headers: JSON_TYPE,
      body: '{"reason":"a","by":"x","reason":"b"}',
    });
    expect(nested.status).toBe(400);
    expect((await errorOf(nested)).details).toEqual([{ path: "reason", message: "duplicate key" }]);
    await expectNothingStored(app);
  });

  test.each([99.99999999999999, 5e-324, 0.005])(
    "percentage %p is not on the 0.01 grid: 400",
    async (percentage) => {
      const { app } = await createTestApp();
      const policy = policyJson("grid");
      const res = await app.request("/v1/policies", {
        method: "POST",
        headers: JSON_TYPE,
        body: JSON.stringify({
          ...policy,
          spec: { ...policy.spec, fault: { percentage, abort: { httpStatus: 503 } } },
        }),
      });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).details).toEqual([
        { path: "spec.fault.percentage", message: "must have at most 2 decimal places" },
      ]);
    },
  );

  test("block YAML nested 6,500 levels deep: the depth error, not a stack overflow", async () => {
    const { app } = await createTestApp();
    const res = await app.request("/v1/policies", {
      method: "POST",
      headers: YAML,
      body: `${"- ".repeat(6500)}a\n`,
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details).toEqual([
      { path: "", message: "collections nested deeper than 64 levels" },
    ]);
  });

  test.each(["TRACE", "PATCH", "OPTIONS"])("%s on a known path: 405 with Allow", async (method) => {
    const { app } = await createTestApp();
    for (const [path, allow] of [
      ["/v1/policies", "GET, HEAD, POST"],
      ["/v1/policies/a", "GET, HEAD, PUT, DELETE"],
      ["/v1/halt", "GET, HEAD, POST, DELETE"],
      ["/healthz", "GET, HEAD"],
    ]) {
      const res = await app.request(path as string, { method });
      expect([path, res.status, res.headers.get("allow")]).toEqual([path, 405, allow]);
      expect((await errorOf(res)).code).toBe("MethodNotAllowed");
    }
  });
});

describe("regex compilation", () => {
  test("a body of 33 exploding regexes is refused within the compile budget, every regex named", async () => {
    const { app } = await createTestApp();
    const body = regexBombJson("a");
    expect(body.length).toBeLessThan(2048);
    const res = await app.request("/v1/policies", { method: "POST", headers: JSON_TYPE, body });
    expect(res.status).toBe(400);
    const { details } = await errorOf(res);
    expect(details).toHaveLength(33);
    expect(details[0]).toEqual({
      path: "spec.match.path.regex",
      message: expect.stringContaining("too complex"),
    });
    expect(details[32]).toEqual({
      path: "spec.match.headers[31].regex",
      message: expect.stringContaining("ms this request may spend compiling regexes are spent"),
    });
    await expectNothingStored(app);
  });

  test("while it is being refused, /healthz and a config poll answer first", async () => {
    const { app } = await createTestApp();
    const finished: string[] = [];
    const bomb = Promise.resolve(
      app.request("/v1/policies", { method: "POST", headers: JSON_TYPE, body: regexBombJson("b") }),
    ).then((res) => finished.push(`bomb ${res.status}`));
    // Let the bomb's request reach validation before the others start.
    await Bun.sleep(50);
    const health = await app.request("/healthz");
    finished.push(`healthz ${health.status}`);
    const config = await app.request("/v1/config");
    finished.push(`config ${config.status}`);
    await bomb;
    expect(finished).toEqual(["healthz 200", "config 200", "bomb 400"]);
  });
});
