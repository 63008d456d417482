import { afterAll, beforeAll, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/index.ts";
import { hfi } from "../support/cli.ts";
import { startControlPlane } from "../support/control-plane.ts";
import { policyYaml } from "../support/policies.ts";
import { proxiesReady, simulateProxy } from "../support/simulated-proxies.ts";

let server: RunningServer;
let env: Record<string, string>;
beforeAll(async () => {
  server = await startControlPlane({ fleet: { replica: "cp-1" } });
  env = { HFI_CONTROL_PLANE_ADDR: server.url };
});
const FLEET = "leader: cp-1, replicas: 1";
afterAll(() => server.stop());

test("status: the revision, how many live proxies have applied it, whether halted, the leader", async () => {
  expect(await hfi(["status"], { env })).toEqual({
    code: 0,
    stdout: `revision 0: 0/0 proxies, halted: no, ${FLEET}\n`,
    stderr: "",
  });
  const proxies = [
    simulateProxy(server.url, { node: "envoy-a", worker: "0", service: "reviews", namespace: "shop" }),
    simulateProxy(server.url, { node: "envoy-a", worker: "1", service: "reviews", namespace: "shop" }),
    simulateProxy(server.url, { node: "envoy-b", worker: "0", stuck: true }),
  ];
  try {
    await proxiesReady(proxies);
    await hfi(["policy", "apply", "--wait=1s", "-f", "-"], { env, stdin: policyYaml("a") });
    expect((await hfi(["status"], { env })).stdout).toBe(`revision 1: 2/3 proxies, halted: no, ${FLEET}\n`);

    const wide = await hfi(["status", "-o", "wide"], { env });
    const lines = wide.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`revision 1: 2/3 proxies, halted: no, ${FLEET}`);
    expect(lines[1]).toBe(
      "NODE      WORKER   SERVICE   NAMESPACE   REVISION   LAST-SEEN   POLLING   LIVE   REPLICA",
    );
    expect(lines.slice(2).map((line) => line.split(/ {3,}/).filter((_, i) => i !== 5 && i !== 6))).toEqual([
      ["envoy-a", "0", "reviews", "shop", "1", "yes", "cp-1"],
      ["envoy-a", "1", "reviews", "shop", "1", "yes", "cp-1"],
      ["envoy-b", "0", "-", "-", "0", "yes", "cp-1"],
    ]);
    expect((await hfi(["status", "--service", "reviews"], { env })).stdout).toBe(
      `revision 1: 2/2 proxies, halted: no, ${FLEET}\n`,
    );
    const json = JSON.parse((await hfi(["status", "--service", "reviews", "-o", "json"], { env })).stdout);
    expect(json.proxies).toMatchObject([
      { node: "envoy-a", service: "reviews", namespace: "shop", labels: {}, replica: "cp-1" },
      { node: "envoy-a", service: "reviews" },
    ]);

    await hfi(["halt", "--reason", "look at this"], { env });
    expect((await hfi(["status"], { env })).stdout).toMatch(
      /^revision 2: \d\/3 proxies, halted: yes \(since \S+ by \S+: look at this\), leader: cp-1, replicas: 1\n$/,
    );
    const halted = JSON.parse((await hfi(["status", "-o", "json"], { env })).stdout);
    expect(halted).toMatchObject({
      revision: 2,
      halted: true,
      halt: { halted: true, reason: "look at this", revision: 2 },
      replica: "cp-1",
      leader: "cp-1",
      replicas: ["cp-1"],
      proxies: [{ node: "envoy-a" }, { node: "envoy-a" }, { node: "envoy-b", revision: 0, live: true }],
    });
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
    await hfi(["resume"], { env });
  }
});

test("a proxy with no config yet has not applied the revision; one not seen lately is counted apart", async () => {
  // The registry's own clock, so "not seen lately" comes from advancing it, not from waiting.
  let nowMs = Date.now();
  const own = await startControlPlane({
    subscribers: { marginMs: 300, now: () => nowMs },
    fleet: { replica: "cp-2" },
  });
  const ownEnv = { HFI_CONTROL_PLANE_ADDR: own.url };
  try {
    // Polls that ask for no wait and never come back: live for their wait (0 s) plus the margin.
    await fetch(`${own.url}/v1/config?wait=0&node=new&worker=0`);
    await fetch(`${own.url}/v1/config?after=0&wait=0&node=current&worker=0`);
    expect((await hfi(["status"], { env: ownEnv })).stdout).toBe(
      "revision 0: 1/2 proxies, halted: no, leader: cp-2, replicas: 1\n",
    );
    nowMs += 350;
    expect((await hfi(["status"], { env: ownEnv })).stdout).toBe(
      "revision 0: 0/0 proxies (2 not seen lately), halted: no, leader: cp-2, replicas: 1\n",
    );
    const wide = await hfi(["status", "-o", "wide"], { env: ownEnv });
    expect(wide.stdout.split("\n")[3]?.split(/ {3,}/)).toEqual([
      "new",
      "0",
      "-",
      "-",
      "<none>",
      expect.any(String),
      "no",
      "no",
      "cp-2",
    ]);
  } finally {
    await own.stop();
  }
});
