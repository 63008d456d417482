import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { hostname, userInfo } from "node:os";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi } from "../support/cli.ts";
import { createManualClock } from "../support/clock.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { policyYaml } from "../support/policies.ts";
import { proxiesReady, simulateProxy } from "../support/simulated-proxies.ts";

let server: RunningServer;
let env: Record<string, string>;
beforeAll(async () => {
  server = await startControlPlane();
  env = { HFI_CONTROL_PLANE_ADDR: server.url };
});
afterAll(() => server.stop());
afterEach(async () => {
  await hfi(["resume"], { env });
  await hfi(["policy", "delete", "--all"], { env });
});

const me = `${userInfo().username}@${hostname()}`;
const SINCE = /since \d{4}-\d\d-\d\dT[\d:.]+Z/;

test("halt stops everything: the RuleSet says halted, and says who, when and why", async () => {
  await hfi(["policy", "apply", "-f", "-"], { env, stdin: policyYaml("a") });
  const run = await hfi(["halt", "--reason", "checkout errors"], { env });
  expect(run).toMatchObject({ code: 0, stderr: "" });
  expect(run.stdout).toMatch(SINCE);
  expect(run.stdout).toContain(
    ` by ${me}: checkout errors (revision 2); policy changes are refused until \`hfi resume\`\n`,
  );
  const config = await (await fetch(`${server.url}/v1/config?after=1&wait=5`)).json();
  expect(config).toMatchObject({ revision: 2, halted: true, rules: [{ name: "a" }] });
  const again = await hfi(["halt", "--reason", "other"], { env });
  expect(again.code).toBe(0);
  expect(again.stdout).toStartWith("already halted since ");
  expect(again.stdout).toContain(`by ${me}: checkout errors (revision 2)`);
});

test("while halted, apply is refused with Locked (exit 1); get and delete still work", async () => {
  await hfi(["policy", "apply", "-f", "-"], { env, stdin: policyYaml("a") });
  await hfi(["halt", "--reason", "game day over"], { env });
  const refused = await hfi(["policy", "apply", "-f", "-"], { env, stdin: policyYaml("b") });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toMatch(
    /^Error from server \(Locked\): policy changes are refused while the fleet is halted \(since .* by .*: game day over\)/,
  );
  expect((await hfi(["policy", "get", "a"], { env })).code).toBe(0);
  expect(await hfi(["policy", "delete", "a"], { env })).toMatchObject({
    code: 0,
    stdout: "faultinjectionpolicy.hfi.dev/a deleted\n",
  });
});

test("resume lifts the halt and says what it was; a second resume says not halted", async () => {
  await hfi(["halt"], { env });
  const run = await hfi(["resume"], { env });
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^resumed \(revision \d+\); was halted since \S+ by \S+\n$/);
  expect(await hfi(["resume"], { env })).toEqual({ code: 0, stdout: "not halted\n", stderr: "" });
  expect((await hfi(["policy", "apply", "-f", "-"], { env, stdin: policyYaml("after") })).code).toBe(0);
});

test("halt --wait and resume --wait return once every live proxy has applied the change", async () => {
  const proxies = [
    simulateProxy(server.url, { node: "envoy-a", worker: "1" }),
    simulateProxy(server.url, { node: "envoy-b", worker: "1", applyMs: 200 }),
  ];
  try {
    await proxiesReady(proxies);
    const halted = await hfi(["halt", "--wait"], { env });
    expect(halted.code).toBe(0);
    const revision = Number(/\(revision (\d+)\)/.exec(halted.stdout)?.[1]);
    expect(halted.stdout).toMatch(
      new RegExp(`\\nrevision ${revision} applied by 2/2 proxies in \\d+\\.\\d\\ds\\n$`),
    );
    expect(proxies.map((p) => p.revision())).toEqual([revision, revision]);
    const resumed = await hfi(["resume", "--wait=10s"], { env });
    expect(resumed.stdout).toContain(`applied by 2/2 proxies in `);
    expect(proxies.map((p) => p.revision())).toEqual([revision + 1, revision + 1]);
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
  }
});

test("halt --wait with no proxy polling halts, but exits 1: nothing confirmed it", async () => {
  const alone = await startControlPlane();
  try {
    const run = await hfi(["halt", "--reason", "incident", "--wait=5s"], {
      env: { HFI_CONTROL_PLANE_ADDR: alone.url },
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(": incident (revision 1); policy changes are refused");
    expect(run.stderr).toBe(
      `error: no proxy is polling ${alone.url}, so none has confirmed revision 1 (the change itself is made)\n`,
    );
    expect(await (await fetch(`${alone.url}/v1/halt`)).json()).toMatchObject({ halted: true });
  } finally {
    await alone.stop();
  }
});

test("a timed policy's clock runs on while halted: it is deleted on time and does not come back at resume", async () => {
  const clock = createManualClock();
  const alone = await startControlPlane({ store: { type: "memory", clock } });
  const local = { HFI_CONTROL_PLANE_ADDR: alone.url };
  try {
    const timed = policyYaml("game-day", "duration: 10m, fault: { abort: { httpStatus: 503 } }");
    expect((await hfi(["policy", "apply", "-f", "-"], { env: local, stdin: timed })).code).toBe(0);
    expect((await hfi(["halt"], { env: local })).code).toBe(0);
    clock.advance(10 * 60 * 1000);
    expect((await fetch(`${alone.url}/v1/policies/game-day`)).status).toBe(404);
    expect((await hfi(["resume"], { env: local })).code).toBe(0);
    expect((await hfi(["policy", "get", "game-day"], { env: local })).code).toBe(1);
    const config = (await (await fetch(`${alone.url}/v1/config`)).json()) as {
      halted?: boolean;
      rules: unknown[];
    };
    expect([config.halted, config.rules]).toEqual([undefined, []]);
  } finally {
    await alone.stop();
  }
});

test("halt --help names the flags", async () => {
  const run = await hfi(["halt", "--help"], { env });
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("--reason");
  expect(run.stdout).toContain("--wait");
});
