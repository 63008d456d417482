/** `hfi policy apply --wait`, timed policies (duration, EXPIRES, renewed) and dry runs through the CLI. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/index.ts";
import { systemClock } from "../../src/store/index.ts";
import { hfi } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { policyYaml } from "../support/policies.ts";
import { proxiesReady, type SimulatedProxy, simulateProxy } from "../support/simulated-proxies.ts";

// A control plane per test: a stopped simulated proxy stays live for its wait plus 10 s.
let server: RunningServer;
let env: Record<string, string>;
let proxies: SimulatedProxy[] = [];
beforeEach(async () => {
  server = await startControlPlane();
  env = { HFI_CONTROL_PLANE_ADDR: server.url };
});
afterEach(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  proxies = [];
  await server.stop();
});

const WAITED = /^revision (\d+) applied by (\d+)\/(\d+) proxies in (\d+\.\d+)s$/m;

test("apply --wait returns once every live proxy has applied the change, and says how long it took", async () => {
  proxies = [
    simulateProxy(server.url, { node: "envoy-a", worker: "1" }),
    simulateProxy(server.url, { node: "envoy-a", worker: "2" }),
    simulateProxy(server.url, { node: "envoy-b", worker: "1", applyMs: 300 }),
  ];
  await proxiesReady(proxies);
  const run = await hfi(["policy", "apply", "--wait", "-f", "-"], { env, stdin: policyYaml("alpha") });
  expect(run.code).toBe(0);
  expect(run.stderr).toBe("");
  const [, revision, applied, total, seconds] = WAITED.exec(run.stdout) ?? [];
  expect(run.stdout).toStartWith("faultinjectionpolicy.hfi.dev/alpha created\n");
  expect([applied, total]).toEqual(["3", "3"]);
  expect(Number(seconds)).toBeGreaterThanOrEqual(0.3);
  expect(proxies.map((p) => p.revision())).toEqual([Number(revision), Number(revision), Number(revision)]);
});

test("apply --wait of a policy with a selector waits only for the proxies it targets, and says how many", async () => {
  proxies = [
    simulateProxy(server.url, {
      node: "reviews-1",
      worker: "1",
      service: "reviews",
      labels: { app: "reviews" },
    }),
    simulateProxy(server.url, { node: "reviews-2", worker: "1", service: "reviews", applyMs: 200 }),
    // Never applies anything: waiting for it would time out.
    simulateProxy(server.url, { node: "ratings-1", worker: "1", service: "ratings", stuck: true }),
  ];
  await proxiesReady(proxies.slice(0, 2));
  const reviews = policyYaml(
    "reviews-down",
    "selector: { service: reviews }, fault: { abort: { httpStatus: 503 } }",
  );
  const run = await hfi(["policy", "apply", "--wait=5s", "-f", "-"], { env, stdin: reviews });
  expect(run).toMatchObject({ code: 0, stderr: "" });
  expect(run.stdout).toMatch(/\nrevision 1 applied by 2\/2 targeted proxies in \d+\.\d+s\n$/);

  const labelled = policyYaml(
    "labelled",
    "selector: { matchLabels: { app: reviews } }, fault: { abort: { httpStatus: 503 } }",
  );
  const one = await hfi(["policy", "apply", "--wait=5s", "-f", "-"], { env, stdin: labelled });
  expect(one.stdout).toMatch(/\nrevision 2 applied by 1\/1 targeted proxies in /);
});

test("a selector that targets no live proxy is a warning on apply; with --wait nobody confirmed it (exit 1)", async () => {
  proxies = [simulateProxy(server.url, { node: "reviews-1", worker: "1", service: "reviews" })];
  await proxiesReady(proxies);
  const nobody = policyYaml(
    "nobody",
    "selector: { service: payments }, fault: { abort: { httpStatus: 503 } }",
  );
  const plain = await hfi(["policy", "apply", "-f", "-"], { env, stdin: nobody });
  expect(plain).toEqual({
    code: 0,
    stdout: "faultinjectionpolicy.hfi.dev/nobody created\n",
    stderr: "warning: nobody: its selector targets no live proxy\n",
  });
  const waited = await hfi(["policy", "apply", "--wait", "-f", "-"], { env, stdin: nobody });
  expect(waited.code).toBe(1);
  expect(waited.stderr).toBe(
    "warning: nobody: its selector targets no live proxy\n" +
      "error: no live proxy is targeted, so none has confirmed revision 1 (the change itself is made)\n",
  );
});

test("without --wait, a status that cannot be read costs the selector warning, not the apply", async () => {
  // In front of the real control plane: everything passes but GET /v1/status/proxies, which fails.
  const front = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/v1/status/proxies") return new Response("down", { status: 503 });
      return fetch(`${server.url}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
      });
    },
  });
  try {
    const frontEnv = { HFI_CONTROL_PLANE_ADDR: `http://127.0.0.1:${front.port}` };
    const nobody = policyYaml(
      "nobody",
      "selector: { service: payments }, fault: { abort: { httpStatus: 503 } }",
    );
    expect(await hfi(["policy", "apply", "-f", "-"], { env: frontEnv, stdin: nobody })).toEqual({
      code: 0,
      stdout: "faultinjectionpolicy.hfi.dev/nobody created\n",
      stderr: "",
    });
    const waited = await hfi(["policy", "apply", "--wait=1s", "-f", "-"], { env: frontEnv, stdin: nobody });
    expect(waited.code).not.toBe(0);
  } finally {
    front.stop(true);
  }
});

test("apply --wait of an unchanged policy waits for the revision that holds it (at once when everyone has it)", async () => {
  proxies = [simulateProxy(server.url, { node: "envoy-a", worker: "1" })];
  await proxiesReady(proxies);
  await hfi(["policy", "apply", "--wait", "-f", "-"], { env, stdin: policyYaml("alpha") });
  const run = await hfi(["policy", "apply", "-f", "-", "--wait=5s"], { env, stdin: policyYaml("alpha") });
  expect(run.stdout).toMatch(
    /^faultinjectionpolicy.hfi.dev\/alpha unchanged\nrevision \d+ applied by 1\/1 proxies in /,
  );
});

test("on timeout apply --wait names each proxy that has not applied it, and exits 1", async () => {
  proxies = [
    simulateProxy(server.url, { node: "envoy-a", worker: "1" }),
    simulateProxy(server.url, { node: "envoy-b", worker: "7", stuck: true }),
  ];
  await proxiesReady(proxies);
  const started = performance.now();
  const run = await hfi(["policy", "apply", "--wait=1s", "-f", "-"], { env, stdin: policyYaml("alpha") });
  expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("faultinjectionpolicy.hfi.dev/alpha created\n");
  const [headline, ...laggards] = run.stderr.trimEnd().split("\n");
  expect(headline).toMatch(
    /^error: timed out after 1\.\d\ds: revision \d+ applied by 1\/2 proxies; not by:$/,
  );
  expect(laggards).toEqual([
    expect.stringMatching(/^ {2}envoy-b\/7: at revision 0, last seen \d+s ago(, polling)?, via replica \S+$/),
  ]);
});

test("apply --wait with no proxy polling applies, but exits 1: nothing confirmed it", async () => {
  const run = await hfi(["policy", "apply", "--wait", "-f", "-"], { env, stdin: policyYaml("alpha") });
  expect(run).toEqual({
    code: 1,
    stdout: "faultinjectionpolicy.hfi.dev/alpha created\n",
    stderr: `error: no proxy is polling ${server.url}, so none has confirmed revision 1 (the change itself is made)\n`,
  });
  expect((await hfi(["policy", "get", "alpha"], { env })).code).toBe(0);
});

test("a bad --wait timeout or a separate timeout argument is refused before anything is sent", async () => {
  for (const args of [
    ["--wait=soon", "-f", "-"],
    ["--wait", "30s", "-f", "-"],
  ]) {
    const run = await hfi(["policy", "apply", ...args], { env, stdin: policyYaml("never") });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: (invalid --wait "soon"|unexpected argument "30s" \(a --wait timeout is --wait=30s\))/,
    );
  }
  expect((await hfi(["policy", "get", "never"], { env })).code).toBe(1);
});

test("a timed policy shows when it expires; applying it again renews it; dry runs are marked", async () => {
  // A store whose clock runs 2 s behind: what it writes looks 2 s old, without waiting for that.
  await server.stop();
  const behind = { ...systemClock, now: () => new Date(Date.now() - 2_000) };
  server = await startControlPlane({ store: { type: "memory", clock: behind } });
  env = { HFI_CONTROL_PLANE_ADDR: server.url };
  const timed = policyYaml("timed", "duration: 10m, mode: dryRun, fault: { abort: { httpStatus: 503 } }");
  expect((await hfi(["policy", "apply", "-f", "-"], { env, stdin: timed })).stdout).toBe(
    "faultinjectionpolicy.hfi.dev/timed created (expires in 9m58s)\n",
  );
  await hfi(["policy", "apply", "-f", "-"], { env, stdin: policyYaml("forever") });
  const table = (await hfi(["policy", "get"], { env })).stdout.split("\n");
  expect(table[0]).toBe("NAME      PRIORITY   MATCHES   FAULTS                AGE   EXPIRES");
  expect(table[1]).toMatch(/^forever {3}0 {10}<all> {5}abort=503 {13}\ds {4}<none>$/);
  expect(table[2]).toMatch(/^timed {5}0 {10}<all> {5}abort=503 \(dry run\) {3}\ds {4}9m5\ds$/);
  expect((await hfi(["policy", "apply", "-f", "-"], { env, stdin: timed })).stdout).toBe(
    "faultinjectionpolicy.hfi.dev/timed renewed (expires in 9m58s)\n",
  );
  const stored = JSON.parse((await hfi(["policy", "get", "timed", "-o", "json"], { env })).stdout);
  expect(stored.metadata.generation).toBe(1);
  expect(stored.spec).toMatchObject({ duration: "10m", mode: "dryRun" });
  // What `get -o yaml` prints applies back, status and all.
  const yaml = (await hfi(["policy", "get", "timed", "-o", "yaml"], { env })).stdout;
  expect((await hfi(["policy", "apply", "-f", "-"], { env, stdin: yaml })).code).toBe(0);
});

test("a policy whose duration runs out is gone from get", async () => {
  await hfi(["policy", "apply", "-f", "-"], {
    env,
    stdin: policyYaml("short", "duration: 1s, fault: { abort: { httpStatus: 503 } }"),
  });
  await Bun.sleep(1300);
  expect(await hfi(["policy", "get", "short"], { env })).toMatchObject({
    code: 1,
    stderr: 'Error from server (NotFound): faultinjectionpolicies.hfi.dev "short" not found\n',
  });
});
