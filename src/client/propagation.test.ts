import { describe, expect, test } from "bun:test";
import type { ProxiesStatus } from "../api-types.ts";
import { ANONYMOUS_PROXY } from "../distributor/index.ts";
import type { FleetProxy } from "../fleet/index.ts";
import type { HfiClient } from "./client.ts";
import { hasApplied, laggards, waitForPropagation } from "./propagation.ts";

function proxy(
  node: string,
  revision: number | null,
  live = true,
  ruleSetId: string | null = null,
): FleetProxy {
  return {
    node,
    worker: "0",
    ...ANONYMOUS_PROXY,
    revision,
    ruleSetId,
    lastSeen: "2026-01-01T00:00:00.000Z",
    polling: live,
    live,
    replica: "r1",
  };
}

describe("hasApplied", () => {
  test.each([
    [57, 57, 57, true],
    [58, 57, 58, true],
    [56, 57, 58, false],
    [null, 57, 57, false],
    // From before a memory-store restart: answered at once with the current config, not yet applied.
    [90, 57, 58, false],
  ])("a proxy at %p has applied %p (served %p): %p", (at, revision, served, applied) => {
    expect(hasApplied(proxy("n", at), revision, { revision: served, id: "served" })).toBe(applied);
  });

  test("the served revision with other rules is from before a restart: not applied", () => {
    const served = { revision: 1, id: "p2-rules" };
    expect(hasApplied(proxy("stale", 1, true, "p1-rules"), 1, served)).toBe(false);
    expect(hasApplied(proxy("current", 1, true, "p2-rules"), 1, served)).toBe(true);
    // An earlier revision has other rules than the served one by nature.
    expect(hasApplied(proxy("earlier", 1, true, "p1-rules"), 1, { revision: 2, id: "p2-rules" })).toBe(true);
  });
});

test("laggards are the live proxies that have not applied the revision", () => {
  const status: ProxiesStatus = {
    revision: 10,
    id: "i10",
    halted: false,
    proxies: [proxy("current", 10), proxy("behind", 9), proxy("gone", 3, false), proxy("new", null)],
  };
  expect(laggards(status, 10).map((p) => p.node)).toEqual(["behind", "new"]);
  expect(laggards(status, 9).map((p) => p.node)).toEqual(["new"]);
});

describe("waitForPropagation", () => {
  function fakeClient(statuses: ProxiesStatus[]): HfiClient & { reads: number } {
    const client = {
      reads: 0,
      async getProxies() {
        const status = statuses[Math.min(client.reads, statuses.length - 1)] as ProxiesStatus;
        client.reads += 1;
        return status;
      },
    };
    return client as unknown as HfiClient & { reads: number };
  }

  test("reads until every live proxy has the revision", async () => {
    const client = fakeClient([
      { revision: 5, id: "i5", halted: false, proxies: [proxy("a", 4), proxy("b", 5)] },
      { revision: 5, id: "i5", halted: false, proxies: [proxy("a", 5), proxy("b", 5)] },
    ]);
    const result = await waitForPropagation(client, 5, { timeoutMs: 5000, intervalMs: 1 });
    expect(result).toMatchObject({ done: true, laggards: [] });
    expect(result.live).toHaveLength(2);
    expect(client.reads).toBe(2);
  });

  test("no live proxy: done at once", async () => {
    const client = fakeClient([{ revision: 5, id: "i5", halted: false, proxies: [proxy("gone", 1, false)] }]);
    expect(await waitForPropagation(client, 5, { timeoutMs: 5000 })).toMatchObject({ done: true, live: [] });
  });

  test("gives up after the timeout, naming the laggards", async () => {
    const client = fakeClient([
      { revision: 5, id: "i5", halted: false, proxies: [proxy("a", 4), proxy("b", 5)] },
    ]);
    const result = await waitForPropagation(client, 5, { timeoutMs: 30, intervalMs: 5 });
    expect(result.done).toBe(false);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(30);
    expect(result.laggards.map((p) => p.node)).toEqual(["a"]);
  });
});
