import { describe, expect, test } from "bun:test";
import { createConsola, type LogObject } from "consola";
import { errorOf } from "../../test/support/control-plane.ts";
import { policyJson } from "../../test/support/policies.ts";
import { createDistributor } from "../distributor/index.ts";
import { createMemoryStore } from "../store/index.ts";
import { createApp } from "./app.ts";
import { parseTokenFile } from "./auth.ts";

const WRITER = "w-0123456789abcdef";
const READER = "r-0123456789abcdef";

async function securedApp() {
  const logs: LogObject[] = [];
  const logger = createConsola({ level: 5, reporters: [{ log: (entry) => logs.push(entry) }] });
  const store = createMemoryStore();
  const distributor = await createDistributor(store, { logger, coalesceMs: 0 });
  const auth = parseTokenFile(`# tokens\nwriter:${WRITER}\n\n  reader:${READER}  \n`);
  return { app: createApp({ store, distributor, logger, auth }), logs };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const putPolicy = (token?: string) => ({
  method: "PUT",
  headers: { "content-type": "application/json", ...(token ? bearer(token) : {}) },
  body: JSON.stringify(policyJson("a")),
});

describe("parseTokenFile", () => {
  test("roles by token; comments and blank lines ignored", () => {
    const tokens = parseTokenFile(`writer:${WRITER}\n# a comment\nreader:${READER}\nreader:second-token`);
    expect([WRITER, READER, "second-token", "nope", ""].map((t) => tokens.roleOf(t))).toEqual([
      "writer",
      "reader",
      "reader",
      undefined,
      undefined,
    ]);
  });

  test.each([
    ["admin:abc", 1],
    ["writer:", 1],
    ["# ok\nwriter abc", 2],
    ["reader:has space", 1],
  ])("%j is refused at line %d, without echoing the line", (text, line) => {
    expect(() => parseTokenFile(text, "tokens.txt")).toThrow(
      `tokens.txt, line ${line}: expected "writer:<token>" or "reader:<token>"`,
    );
  });

  test("an empty file is refused", () => {
    expect(() => parseTokenFile("# nothing\n")).toThrow("holds no tokens");
  });
});

describe("bearer tokens on /v1", () => {
  test("401 Unauthenticated without a token or with an unknown one", async () => {
    const { app } = await securedApp();
    for (const headers of [{}, bearer("wrong"), { authorization: WRITER }]) {
      const res = await app.request("/v1/policies", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="hfi"');
      expect((await errorOf(res)).code).toBe("Unauthenticated");
    }
  });

  test("a reader token reads policies and config but cannot write: 403 Forbidden", async () => {
    const { app } = await securedApp();
    expect((await app.request("/v1/policies", { headers: bearer(READER) })).status).toBe(200);
    expect((await app.request("/v1/config", { headers: bearer(READER) })).status).toBe(200);
    const res = await app.request("/v1/policies/a", putPolicy(READER));
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toEqual({
      code: "Forbidden",
      message: "a reader token cannot change policies; use a writer token",
      details: [],
    });
  });

  test("halt and proxy status: a reader token reads them; halting and resuming need a writer token", async () => {
    const { app } = await securedApp();
    for (const path of ["/v1/halt", "/v1/status/proxies"]) {
      expect((await app.request(path)).status).toBe(401);
      expect((await app.request(path, { headers: bearer(READER) })).status).toBe(200);
    }
    for (const method of ["POST", "DELETE"]) {
      expect((await app.request("/v1/halt", { method, headers: bearer(READER) })).status).toBe(403);
    }
    expect((await app.request("/v1/halt", { method: "POST", headers: bearer(WRITER) })).status).toBe(201);
    expect((await app.request("/v1/halt", { method: "DELETE", headers: bearer(WRITER) })).status).toBe(200);
  });

  test("a writer token writes and reads", async () => {
    const { app } = await securedApp();
    expect((await app.request("/v1/policies/a", putPolicy(WRITER))).status).toBe(201);
    expect((await app.request("/v1/policies/a", { headers: bearer(WRITER) })).status).toBe(200);
    const stream = await app.request("/v1/config/stream", { headers: bearer(WRITER) });
    expect(stream.status).toBe(200);
    await stream.body?.cancel();
  });

  test("health and metrics stay open", async () => {
    const { app } = await securedApp();
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      expect((await app.request(path)).status).toBe(200);
    }
  });

  test("tokens never reach the logs", async () => {
    const { app, logs } = await securedApp();
    await app.request("/v1/policies/a", putPolicy(WRITER));
    await app.request("/v1/policies/a", putPolicy(READER));
    await app.request("/v1/policies", { headers: bearer("wrong-token-value") });
    expect(logs.length).toBeGreaterThan(3);
    const text = JSON.stringify(logs.map((entry) => entry.args));
    for (const token of [WRITER, READER, "wrong-token-value"]) expect(text).not.toContain(token);
  });
});
