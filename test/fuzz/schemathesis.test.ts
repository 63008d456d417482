/**
 * Schemathesis (pinned, installed into .tools/venv by `scripts/setup.sh --test`) against a real
 * `dist/hfi serve` with auth on, on the memory store and on a real etcd: every check, a fixed seed,
 * a few hundred generated cases, stateful runs along the OpenAPI links. schemathesis.toml and
 * hooks.py say what the OpenAPI document cannot, each as narrowly as it can be said.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startTestEtcd, type TestEtcd } from "../support/etcd.ts";
import { HFI_BIN, ROOT } from "../support/paths.ts";
import { freePorts } from "../support/ports.ts";

const SCHEMATHESIS = join(ROOT, ".tools/venv/bin/schemathesis");
const WRITER_TOKEN = "fuzz-writer-token";

let dir: string;
let etcd: TestEtcd;

beforeAll(async () => {
  for (const [path, how] of [
    [HFI_BIN, "npm run build"],
    [SCHEMATHESIS, "scripts/setup.sh --test"],
  ]) {
    if (!existsSync(path as string)) throw new Error(`${path} is missing: run \`${how}\` first`);
  }
  dir = mkdtempSync(join(tmpdir(), "hfi-schemathesis-"));
  writeFileSync(join(dir, "tokens"), `writer:${WRITER_TOKEN}\nreader:fuzz-reader-token\n`);
  etcd = await startTestEtcd();
});

afterAll(async () => {
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `dist/hfi serve` with the token file; resolves once it is ready. */
async function serve(storeArgs: string[]): Promise<{ url: string; proc: Subprocess }> {
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn(
    [
      HFI_BIN,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
      "--log-level",
      "error",
      "--auth-token-file",
      join(dir, "tokens"),
      ...storeArgs,
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  for (let i = 0; i < 100 && proc.exitCode === null; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, proc };
    await Bun.sleep(100);
  }
  proc.kill();
  throw new Error(`hfi serve did not become ready: ${await new Response(proc.stderr).text()}`);
}

/** One bounded Schemathesis run; its output, exit code and the count of generated cases. */
async function runSchemathesis(url: string) {
  const proc = Bun.spawn(
    [
      SCHEMATHESIS,
      "--no-color",
      "--config-file",
      join(import.meta.dir, "schemathesis.toml"),
      "run",
      `${url}/openapi.json`,
      "--header",
      `Authorization: Bearer ${WRITER_TOKEN}`,
    ],
    {
      cwd: dir,
      env: { ...process.env, SCHEMATHESIS_HOOKS: join(import.meta.dir, "hooks.py") },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [output, errors, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const generated = /(\d+) generated/.exec(output);
  const passed = /\d+ generated, (\d+) passed/.exec(output);
  return {
    code,
    output: output + errors,
    generated: Number(generated?.[1] ?? 0),
    passed: Number(passed?.[1] ?? 0),
  };
}

describe("Schemathesis against dist/hfi serve with auth on", () => {
  test.each([
    ["memory", () => []],
    [
      "etcd",
      () => ["--store", "etcd", "--etcd-endpoints", etcd.endpoint, "--etcd-prefix", `fuzz-${Date.now()}/`],
    ],
  ] as const)(
    "%s store: every check passes, links included",
    async (store, storeArgs) => {
      const server = await serve([...storeArgs()]);
      try {
        const started = performance.now();
        const run = await runSchemathesis(server.url);
        console.log(
          `schemathesis (${store}): ${run.generated} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
        if (run.code !== 0) console.log(run.output);
        expect(run.code).toBe(0);
        expect(run.generated).toBeGreaterThan(200);
        expect(run.passed).toBe(run.generated);
        expect(run.output).toMatch(/Stateful[\s\S]*API Links: +[1-9]\d* covered/);
        expect(server.proc.exitCode).toBeNull();
      } finally {
        server.proc.kill();
        await server.proc.exited;
      }
    },
    300_000,
  );
});
