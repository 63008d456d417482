import { expect, test } from "bun:test";
import { createManualClock } from "../../test/support/clock.ts";
import { describeStoreContract } from "./contract-suite.ts";
import { createMemoryStore } from "./memory.ts";

const clock = createManualClock();
// Quiet: the contract suite registers throwing listeners on purpose. Durations run out by the
// manual clock, so no test waits for them.
describeStoreContract("memory", () => createMemoryStore({ clock, onWatcherError: () => {} }), {
  now: () => clock.now().getTime(),
  advance: async (ms) => clock.advance(ms),
});

test("memory: an empty store is at revision 0 and counts up by one per change", async () => {
  const store = createMemoryStore({ clock: createManualClock(Date.parse("2025-01-02T03:04:05.000Z")) });
  expect(await store.list()).toEqual({ items: [], revision: 0 });
  const created = await store.create({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name: "a" },
    spec: { priority: 0, fault: { percentage: 100, abort: { httpStatus: 503, body: "" } } },
  });
  expect(created.metadata).toEqual({
    name: "a",
    namespace: "default",
    creationTimestamp: "2025-01-02T03:04:05.000Z",
    resourceVersion: "1",
    generation: 1,
  });
  await store.delete("a");
  expect((await store.list()).revision).toBe(2);
});

test("memory: listener failures go to onWatcherError", async () => {
  const failures: unknown[] = [];
  const store = createMemoryStore({ onWatcherError: (err) => failures.push(err) });
  store.watch(() => {
    throw new Error("sync");
  });
  store.watch(async () => {
    throw new Error("async");
  });
  await store.create({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name: "a" },
    spec: { priority: 0, fault: { percentage: 100, abort: { httpStatus: 503, body: "" } } },
  });
  await Bun.sleep(10);
  expect(failures.map((e) => (e as Error).message).sort()).toEqual(["async", "sync"]);
});
