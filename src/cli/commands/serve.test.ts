/**
 * `hfi serve` as a real process: flags, JSON logs, auth, and a graceful exit on SIGTERM with a
 * long-poll and an SSE stream open.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestEtcd, type TestEtcd } from "../../../test/support/etcd.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const WRITER = "writer-token-5f1c2a9e";
const READER = "reader-token-0b7d3e41";
let etcd: TestEtcd;
let dir: string;

beforeAll(async () => {
  etcd = await startTestEtcd();
  dir = mkdtempSync(join(tmpdir(), "hfi-serve-"));
});

afterAll(async () => {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Collects stdout lines; resolves `url` from the "control plane listening" line. */
function readLines(stream: ReadableStream<Uint8Array>) {
  const lines: string[] = [];
  let resolveUrl: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  const done = (async () => {
    let buffered = "";
    for await (const chunk of stream) {
      buffered += new TextDecoder().decode(chunk);
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        const record = JSON.parse(line) as { msg: string; url?: string };
        if (record.msg === "control plane listening" && record.url) resolveUrl(record.url);
      }
    }
  })();
  return { lines, url, done };
}

test(
  "SIGTERM: held long-poll answered, SSE stream ended, store closed, exit 0",
  async () => {
    const tokenFile = join(dir, "tokens");
    writeFileSync(tokenFile, `# hfi tokens\nwriter:${WRITER}\nreader:${READER}\n`);
    const proc = Bun.spawn(
      [
        process.execPath,
        MAIN,
        "serve",
        "--listen=127.0.0.1:0",
        "--store=etcd",
        `--etcd-endpoints=${etcd.endpoint}`,
        "--etcd-prefix=serve-test/",
        "--log-level=info",
      ],
      { stdout: "pipe", stderr: "inherit", env: { ...process.env, HFI_AUTH_TOKEN_FILE: tokenFile } },
    );
    const out = readLines(proc.stdout);
    try {
      const url = await Promise.race([out.url, Bun.sleep(10_000).then(() => "")]);
      expect(url).toStartWith("http://127.0.0.1:");
      const auth = (token: string) => ({ authorization: `Bearer ${token}` });

      expect((await fetch(`${url}/v1/policies`)).status).toBe(401);
      const put = await fetch(`${url}/v1/policies/a`, {
        method: "PUT",
        headers: { ...auth(WRITER), "content-type": "application/json" },
        body: JSON.stringify({
          apiVersion: "hfi.dev/v1alpha1",
          kind: "FaultInjectionPolicy",
          metadata: { name: "a" },
          spec: { fault: { abort: { httpStatus: 503 } } },
        }),
      });
      expect(put.status).toBe(201);
      const revision = ((await put.json()) as { metadata: { resourceVersion: string } }).metadata
        .resourceVersion;
      let etag = "";
      for (;;) {
        const config = await fetch(`${url}/v1/config`, { headers: auth(READER) });
        etag = config.headers.get("etag") ?? "";
        if (((await config.json()) as { revision: number }).revision === Number(revision)) break;
        await Bun.sleep(10);
      }

      const id = etag.replace(/^W\/"(.*)"$/, "$1");
      const poll = fetch(`${url}/v1/config?after=${revision}&id=${id}&wait=60`, { headers: auth(READER) });
      const stream = await fetch(`${url}/v1/config/stream`, { headers: auth(READER) });
      const events = (stream.body as ReadableStream<Uint8Array>).getReader();
      await events.read();
      await Bun.sleep(100);

      const signalled = performance.now();
      proc.kill("SIGTERM");
      const answer = await poll;
      expect([answer.status, answer.headers.get("etag")]).toEqual([304, etag]);
      expect((await events.read().catch(() => ({ done: true }))).done).toBe(true);
      expect(await proc.exited).toBe(0);
      expect(performance.now() - signalled).toBeLessThan(3000);
      await out.done;

      const records = out.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.find((r) => r.msg === "request" && r.path === "/v1/policies/a")).toMatchObject({
        level: "info",
        method: "PUT",
        status: 201,
        latency_ms: expect.any(Number),
        remote: "127.0.0.1",
      });
      expect(records.find((r) => r.msg === "policy created")).toMatchObject({ policy: "a" });
      expect(records.map((r) => r.msg)).toContain("control plane stopped");
      expect(out.lines.join("\n")).not.toContain(WRITER);
    } finally {
      proc.kill("SIGKILL");
    }
  },
  { timeout: 30_000 },
);
