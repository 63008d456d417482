/**
 * The control plane over a real etcd that stops answering (SIGSTOP: connections stay open, nothing
 * comes back). Every request still gets an answer before Bun's 10 s idle timeout would cut it: 503
 * Unavailable with Retry-After, in words a user can act on.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConsola } from "consola";
import { startTestEtcd, type TestEtcd } from "../../test/support/etcd.ts";
import { policyJson } from "../../test/support/policies.ts";
import { startServer } from "./serve.ts";

let etcd: TestEtcd;

beforeAll(async () => {
  etcd = await startTestEtcd();
});

afterAll(async () => {
  await etcd.stop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  error: { code: string; message: string };
}

/** An answer, or a failure if none came within 9 s (before the server's idle timeout would close it). */
async function answerTo(url: string, method = "GET", body?: unknown): Promise<Answer> {
  const res = await fetch(url, {
    method,
    signal: AbortSignal.timeout(9000),
    ...(body !== undefined && {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  });
  const json = (await res.json()) as { error: Answer["error"] };
  return { status: res.status, retryAfter: res.headers.get("retry-after"), error: json.error };
}

test(
  "while etcd is frozen, writes, reads, deletes and readiness are answered 503 with Retry-After; then it recovers",
  async () => {
    const server = await startServer({
      listen: "127.0.0.1:0",
      logger: createConsola({ level: -999 }),
      // Long enough that a few waits in a row would pass the 9 s a request is given here.
      store: { type: "etcd", endpoints: [etcd.endpoint], prefix: "frozen/", requestTimeoutMs: 4000 },
    });
    try {
      const put = await fetch(`${server.url}/v1/policies/a`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(policyJson("a")),
      });
      expect(put.status).toBe(201);

      etcd.freeze();
      try {
        // One at a time: each waits out its own deadline (a retried call would wait several).
        const del = await answerTo(`${server.url}/v1/policies/a`, "DELETE");
        const list = await answerTo(`${server.url}/v1/policies`);
        // Writes to one name queue behind each other; none waits longer than one deadline.
        const puts = await Promise.all(
          Array.from({ length: 4 }, () => answerTo(`${server.url}/v1/policies/b`, "PUT", policyJson("b"))),
        );
        const ready = await answerTo(`${server.url}/readyz`);
        for (const answer of [del, list, ...puts, ready]) {
          expect(answer).toMatchObject({ status: 503, retryAfter: "5", error: { code: "Unavailable" } });
        }
        // Truthful: the delete may have been carried out, and the answer says so.
        expect(del.error.message).toMatch(/may have been deleted/);
        // Three outages in a row (or more): the next request is refused at once, in words.
        const next = await answerTo(`${server.url}/v1/policies`);
        expect(next).toMatchObject({ status: 503, retryAfter: "5", error: { code: "Unavailable" } });
        expect(next.error.message).toMatch(/^etcd unreachable: /);
        expect(next.error.message).not.toMatch(/Execution prevented|circuit breaker/i);
      } finally {
        etcd.thaw();
      }

      const deadline = Date.now() + 15_000;
      while ((await fetch(`${server.url}/readyz`)).status !== 200) {
        if (Date.now() > deadline) throw new Error("not ready again within 15 s");
        await Bun.sleep(200);
      }
      expect((await fetch(`${server.url}/v1/policies`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  },
  { timeout: 40_000 },
);
