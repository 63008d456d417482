import { describe, expect, test } from "bun:test";
import { ANONYMOUS_PROXY, appliedRevision, createSubscriberRegistry } from "./subscribers.ts";

function clock(start = Date.parse("2026-01-01T00:00:00.000Z")) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("createSubscriberRegistry", () => {
  test("records the revision a poll acknowledges, when it was seen and whether it is held", () => {
    const time = clock();
    const registry = createSubscriberRegistry({ now: time.now });
    const done = registry.polled({ node: "envoy-a", worker: "w1" }, ANONYMOUS_PROXY, { revision: 57 }, 25);
    expect(registry.list()).toEqual([
      {
        node: "envoy-a",
        worker: "w1",
        ...ANONYMOUS_PROXY,
        revision: 57,
        ruleSetId: null,
        lastSeen: "2026-01-01T00:00:00.000Z",
        polling: true,
        live: true,
      },
    ]);
    time.advance(25_000);
    done();
    done();
    expect(registry.list()[0]).toMatchObject({
      polling: false,
      live: true,
      lastSeen: "2026-01-01T00:00:25.000Z",
    });
  });

  test("lists who each subscriber says it is, as its latest poll said", () => {
    const registry = createSubscriberRegistry();
    const reviews = { cluster: "mesh", service: "reviews", namespace: "shop", labels: { app: "reviews" } };
    registry.polled({ node: "n", worker: "0" }, ANONYMOUS_PROXY, {}, 25)();
    expect(registry.list()[0]).toMatchObject(ANONYMOUS_PROXY);
    registry.polled({ node: "n", worker: "0" }, reviews, {}, 25)();
    expect(registry.list()).toMatchObject([{ node: "n", worker: "0", ...reviews }]);
  });

  test("a first poll without after has no revision; a later one replaces the record", () => {
    const registry = createSubscriberRegistry();
    registry.polled({ node: "n", worker: "" }, ANONYMOUS_PROXY, {}, 25)();
    expect(registry.list()[0]?.revision).toBeNull();
    registry.polled({ node: "n", worker: "" }, ANONYMOUS_PROXY, { revision: 3 }, 25)();
    expect(registry.list().map((s) => s.revision)).toEqual([3]);
  });

  test("live while polling, or seen within its wait plus the margin; forgotten later", () => {
    const time = clock();
    const registry = createSubscriberRegistry({ now: time.now, marginMs: 10_000, forgetAfterMs: 60_000 });
    const held = registry.polled({ node: "held", worker: "0" }, ANONYMOUS_PROXY, { revision: 1 }, 5);
    registry.polled({ node: "idle", worker: "0" }, ANONYMOUS_PROXY, { revision: 1 }, 5)();
    time.advance(15_000);
    expect(registry.list().map((s) => [s.node, s.live])).toEqual([
      ["held", true],
      ["idle", true],
    ]);
    time.advance(1);
    expect(registry.list().map((s) => [s.node, s.live])).toEqual([
      ["held", true],
      ["idle", false],
    ]);
    time.advance(60_000);
    expect(registry.list().map((s) => s.node)).toEqual(["held"]);
    held();
    expect(registry.list()[0]?.live).toBe(true);
  });

  test("sorted by node then worker; one record per (node, worker)", () => {
    const registry = createSubscriberRegistry();
    for (const [node, worker] of [
      ["b", "1"],
      ["a", "2"],
      ["a", "1"],
      ["b", "1"],
    ] as const) {
      registry.polled({ node, worker }, ANONYMOUS_PROXY, { revision: 1 }, 25)();
    }
    expect(registry.list().map((s) => `${s.node}/${s.worker}`)).toEqual(["a/1", "a/2", "b/1"]);
  });

  test("at the cap the idle subscriber seen longest ago makes room; polling ones are never dropped", () => {
    const time = clock();
    const registry = createSubscriberRegistry({ now: time.now, maxSubscribers: 2 });
    registry.polled({ node: "old", worker: "" }, ANONYMOUS_PROXY, { revision: 1 }, 25)();
    time.advance(1);
    const polling = registry.polled({ node: "polling", worker: "" }, ANONYMOUS_PROXY, { revision: 1 }, 25);
    time.advance(1);
    registry.polled({ node: "new", worker: "" }, ANONYMOUS_PROXY, { revision: 1 }, 25);
    expect(registry.list().map((s) => s.node)).toEqual(["new", "polling"]);
    registry.polled({ node: "refused", worker: "" }, ANONYMOUS_PROXY, { revision: 1 }, 25)();
    expect(registry.list().map((s) => s.node)).toEqual(["new", "polling"]);
    polling();
  });
});

describe("appliedRevision", () => {
  const current = { revision: 7, id: "current-rules" };
  test.each([
    // The served rules, got at an earlier revision, from another replica or before a restart.
    [3, "current-rules", 7],
    [12, "current-rules", 7],
    [null, "current-rules", 7],
    // Other rules, or a filter that sends no identity: what it said.
    [5, "older-rules", 5],
    [7, null, 7],
    [null, null, null],
  ])("a worker at %p with rules %p counts as at %p", (revision, ruleSetId, expected) => {
    expect(appliedRevision({ revision, ruleSetId }, current)).toBe(expected);
  });
});
