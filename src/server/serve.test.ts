import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsola } from "consola";
import { createTestApp } from "../../test/support/control-plane.ts";
import { policyJson } from "../../test/support/policies.ts";
import type { RuleSet } from "../ruleset/format.ts";
import { isLoopback, parseListen, startServer } from "./serve.ts";

describe("parseListen", () => {
  test.each([
    ["0.0.0.0:8080", "0.0.0.0", 8080],
    ["127.0.0.1:0", "127.0.0.1", 0],
    [":9090", "0.0.0.0", 9090],
    ["[::1]:8080", "::1", 8080],
    ["localhost:80", "localhost", 80],
  ])("%s", (listen, hostname, port) => {
    expect(parseListen(listen)).toEqual({ hostname, port });
  });

  test.each(["8080", "host", "host:99999", "::1:8080", "host:port"])("%s is refused", (listen) => {
    expect(() => parseListen(listen)).toThrow("invalid listen address");
  });
});

/** Resolves when the server closes a connection left idle after one request. */
function idleConnectionClosed(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (socket) => void socket.write("GET /healthz HTTP/1.1\r\nHost: hfi\r\n\r\n"),
        data: () => {},
        close: () => resolve(),
        error: (_socket, err) => reject(err),
      },
    }).catch(reject);
  });
}

describe("startServer on Bun.serve", () => {
  test(
    "a held long-poll and a quiet SSE stream outlive Bun's 10 s idle timeout",
    async () => {
      const logger = createConsola({ level: -999 });
      const server = await startServer({ listen: "127.0.0.1:0", logger, heartbeatMs: 60_000 });
      try {
        const started = performance.now();
        const longPoll = fetch(`${server.url}/v1/config?after=0&wait=30`);
        const stream = await fetch(`${server.url}/v1/config/stream`);
        const events = (stream.body as ReadableStream<Uint8Array>).getReader();
        const nextText = async () => new TextDecoder().decode((await events.read()).value);
        expect(await nextText()).toStartWith("event: config\ndata: ");
        // Proof that the default still applies to ordinary connections, so the wait below means something.
        const idleClosed = idleConnectionClosed(server.port);

        await Bun.sleep(12_000);
        const put = await fetch(`${server.url}/v1/policies/a`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(policyJson("a")),
        });
        expect(put.status).toBe(201);

        const answer = await longPoll;
        expect(performance.now() - started).toBeGreaterThan(11_500);
        expect(answer.status).toBe(200);
        const id = /^W\/"([0-9a-f]{16})"$/.exec(answer.headers.get("etag") ?? "")?.[1];
        expect(id).toBeDefined();
        expect(await nextText()).toContain(`\nid: ${id}\n\n`);
        await idleClosed;
        await events.cancel();
      } finally {
        await server.stop();
      }
    },
    { timeout: 30_000 },
  );

  test("stop() ends open streams", async () => {
    const server = await startServer({ listen: "127.0.0.1:0", logger: createConsola({ level: -999 }) });
    const stream = await fetch(`${server.url}/v1/config/stream`);
    const events = (stream.body as ReadableStream<Uint8Array>).getReader();
    await events.read();
    await server.stop();
    const end = await events.read().catch(() => ({ done: true }));
    expect(end.done).toBe(true);
  });

  test("clients that disconnect release their long-poll and SSE subscriptions", async () => {
    const { app, distributor } = await createTestApp({ heartbeatMs: 60_000 });
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
    try {
      for (const path of ["v1/config?after=0&wait=30", "v1/config/stream"]) {
        const client = new AbortController();
        const done = fetch(`${server.url}${path}`, { signal: client.signal })
          .then((res) => res.text())
          .catch(() => "aborted");
        await Bun.sleep(100);
        expect(distributor.listenerCount()).toBe(1);
        client.abort();
        await done;
        await Bun.sleep(100);
        expect(distributor.listenerCount()).toBe(0);
      }
    } finally {
      await server.stop(true);
    }
  });
});

describe("startServer: policy expiry", () => {
  test("a policy whose duration runs out leaves the store, the RuleSet, and is logged with reason expired", async () => {
    const logs: { msg: unknown; fields: unknown }[] = [];
    const logger = createConsola({
      level: 4,
      reporters: [{ log: (entry) => logs.push({ msg: entry.args[0], fields: entry.args[1] }) }],
    });
    const server = await startServer({ listen: "127.0.0.1:0", logger });
    try {
      const body = policyJson("short");
      const res = await fetch(`${server.url}/v1/policies/short`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...body, spec: { ...body.spec, duration: "1s" } }),
      });
      const created = (await res.json()) as { status: { expiresAt: string } };
      const config = (await (await fetch(`${server.url}/v1/config?after=0&wait=5`)).json()) as RuleSet;
      expect(config.rules[0]?.expiresAt).toBe(Date.parse(created.status.expiresAt));
      const after = config.revision;
      const next = await fetch(`${server.url}/v1/config?after=${after}&wait=5`);
      expect(((await next.json()) as RuleSet).rules).toEqual([]);
      expect((await fetch(`${server.url}/v1/policies/short`)).status).toBe(404);
      await Bun.sleep(20);
      expect(logs.find((l) => l.msg === "policy expired")?.fields).toEqual({
        policy: "short",
        reason: "expired",
        revision: after + 1,
        expiresAt: created.status.expiresAt,
      });
    } finally {
      await server.stop();
    }
  });
});

describe("the warning when the API is open to the network", () => {
  const WARNING = "auth is off on a non-loopback address: anyone who can reach it may change or halt faults";

  async function startupWarnings(options: { listen: string; authTokenFile?: string }): Promise<unknown[][]> {
    const warnings: unknown[][] = [];
    const logger = createConsola({
      level: 3,
      reporters: [{ log: (entry) => entry.type === "warn" && warnings.push(entry.args) }],
    });
    const server = await startServer({ ...options, logger });
    await server.stop();
    return warnings;
  }

  test("auth off on 0.0.0.0: one warning at start, naming the address and the way out", async () => {
    const warnings = await startupWarnings({ listen: "0.0.0.0:0" });
    expect(warnings).toEqual([
      [
        WARNING,
        {
          listen: expect.stringMatching(/^0\.0\.0\.0:\d+$/),
          hint: "listen on 127.0.0.1, or set --auth-token-file (docs/OPERATIONS.md#auth)",
        },
      ],
    ]);
  });

  test("no warning on loopback, nor with tokens on 0.0.0.0", async () => {
    expect(await startupWarnings({ listen: "127.0.0.1:0" })).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), "hfi-serve-auth-"));
    try {
      writeFileSync(join(dir, "tokens"), "writer:abcdefghijklmnop\n");
      expect(await startupWarnings({ listen: "0.0.0.0:0", authTokenFile: join(dir, "tokens") })).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    ["127.0.0.1", true],
    ["127.3.4.5", true],
    ["::1", true],
    ["localhost", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.7", false],
    ["127.example.com", false],
  ])("%s is loopback: %p", (hostname, loopback) => {
    expect(isLoopback(hostname)).toBe(loopback);
  });
});
