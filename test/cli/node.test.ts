/**
 * The npm package's CLI on Node.js: dist/hfi.mjs (built by `npm run build`) and the bin/hfi.mjs shim.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { RULESET_FORMAT } from "../../src/ruleset/format.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi, tempDir } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { regexBombJson } from "../support/hostile-bodies.ts";
import { ROOT } from "../support/paths.ts";
import { policyYaml } from "../support/policies.ts";
import { freePort } from "../support/ports.ts";

const NODE_CLI = ["node", join(ROOT, "dist/hfi.mjs")];
let server: RunningServer;
beforeAll(async () => {
  if (!existsSync(NODE_CLI[1]!)) throw new Error("dist/hfi.mjs is missing: run `npm run build` first");
  server = await startControlPlane();
});
afterAll(() => server?.stop());

test("node dist/hfi.mjs version", async () => {
  const run = await hfi(["version"], { command: NODE_CLI, cwd: tempDir() });
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(
    new RegExp(
      `^hfi \\d+\\.\\d+\\.\\d+\ncommit: \\S+\nruleset format: ${RULESET_FORMAT}\nproxy-wasm ABI: 0\\.2\\.1\n$`,
    ),
  );
});

test("node runs apply and get against a real control plane; the bin shim runs the same CLI", async () => {
  const env = { HFI_CONTROL_PLANE_ADDR: server.url };
  const applied = await hfi(["policy", "apply", "-f", "-"], {
    command: NODE_CLI,
    env,
    stdin: policyYaml("on-node"),
  });
  expect(applied).toEqual({ code: 0, stdout: "faultinjectionpolicy.hfi.dev/on-node created\n", stderr: "" });
  const table = await hfi(["policy", "get"], { command: NODE_CLI, env });
  expect(table.stdout).toMatch(
    /^NAME {6}PRIORITY {3}MATCHES {3}FAULTS {6}AGE\non-node {3}0 {10}<all> {5}abort=503 {3}\d+s\n$/,
  );
  const shim = await hfi(["policy", "get", "on-node", "-o", "json"], {
    command: ["node", join(ROOT, "bin/hfi.mjs")],
    env,
  });
  expect(JSON.parse(shim.stdout).metadata.name).toBe("on-node");
  const missing = await hfi(["policy", "get", "nope"], { command: NODE_CLI, env });
  expect(missing).toEqual({
    code: 1,
    stdout: "",
    stderr: 'Error from server (NotFound): faultinjectionpolicies.hfi.dev "nope" not found\n',
  });
  const refused = `http://127.0.0.1:${await freePort()}`;
  const down = await hfi(["policy", "get", "--control-plane-addr", refused], { command: NODE_CLI });
  expect(down.stderr).toStartWith(
    `error: cannot connect to the control plane at ${refused} (connection refused);`,
  );
});

test("`hfi serve` runs on Node through @hono/node-server, held long-polls and the console included, and stops on SIGTERM", async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn([...NODE_CLI, "serve", "--listen", `127.0.0.1:${port}`], {
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    await waitUntilHealthy(url);
    // The web console is in the Node bundle too.
    const script = await fetch(`${url}/ui/console.js`);
    expect([script.status, (await script.text()).includes("/v1/config/stream")]).toEqual([200, true]);
    // A fresh store is at revision 0: a long-poll after 0 is held for its full wait, then 304.
    const started = performance.now();
    const held = await fetch(`${url}/v1/config?after=0&wait=1`);
    expect(held.status).toBe(304);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    const env = { HFI_CONTROL_PLANE_ADDR: url };
    const applied = await hfi(["policy", "apply", "-f", "-"], { env, stdin: policyYaml("served-by-node") });
    expect(applied.stdout).toBe("faultinjectionpolicy.hfi.dev/served-by-node created\n");
    const changed = await fetch(`${url}/v1/config?after=0&wait=5`);
    expect(changed.status).toBe(200);
    const ruleSet = (await changed.json()) as { rules: { name: string }[] };
    expect(ruleSet.rules.map((r) => r.name)).toEqual(["served-by-node"]);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  } finally {
    proc.kill();
  }
});

test("`hfi serve` on Node: bodies without Content-Length are bounded, other methods are 405, regexes keep to the budget", async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn([...NODE_CLI, "serve", "--listen", `127.0.0.1:${port}`, "--log-level", "warn"], {
    stdout: "ignore",
    stderr: "inherit",
  });
  /** A body sent in chunks, so without Content-Length. */
  const streamed = (text: string) =>
    new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    });
  try {
    await waitUntilHealthy(url);
    const patch = await fetch(`${url}/v1/policies`, { method: "PATCH", body: streamed("{}") });
    expect([patch.status, patch.headers.get("allow")]).toEqual([405, "GET, HEAD, POST"]);
    const huge = await fetch(`${url}/v1/policies`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: streamed(" ".repeat(1024 * 1024 + 1)),
    });
    expect(huge.status).toBe(413);
    const bomb = await fetch(`${url}/v1/policies`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: regexBombJson("node"),
    });
    expect(bomb.status).toBe(400);
    const { details } = ((await bomb.json()) as { error: { details: { message: string }[] } }).error;
    expect(details.at(-1)?.message).toContain("ms this request may spend compiling regexes are spent");
  } finally {
    proc.kill();
    await proc.exited;
  }
}, 30_000);

async function waitUntilHealthy(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(50);
  }
  throw new Error(`${url} did not become healthy`);
}
