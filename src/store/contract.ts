import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { ErrorCode } from "../errors.ts";
import type { Policy } from "../policy/index.ts";
import type { PolicyStore, WatchEvent } from "./types.ts";

/**
 * The behaviour every PolicyStore must have. Run it from each implementation's test file with a
 * factory that returns an empty store; revisions are compared relatively, never as absolute numbers.
 * `release`, if given, is called with each store after its test (e.g. to close a client).
 */
export function describeStoreContract<S extends PolicyStore>(
  name: string,
  makeStore: () => S | Promise<S>,
  release?: (store: S) => void | Promise<void>,
): void {
  describe(`PolicyStore contract: ${name}`, () => {
    let store: S;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await release?.(store);
    });

    test("create sets the server-owned metadata", async () => {
      const before = Date.now();
      const stored = await store.create(policy("a"));
      expect(stored.spec).toEqual(policy("a").spec);
      expect(stored.metadata.generation).toBe(1);
      expect(stored.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(Date.parse(stored.metadata.creationTimestamp)).toBeGreaterThanOrEqual(before - 1000);
      expect(await store.get("a")).toEqual(stored);
    });

    test("create refuses a taken name and a client resourceVersion", async () => {
      await store.create(policy("a"));
      await expectCode(store.create(policy("a", 404)), "AlreadyExists");
      await expectCode(store.create(withVersion(policy("b"), "1")), "InvalidInput");
    });

    test("get and delete of a missing policy are NotFound", async () => {
      await expectCode(store.get("missing"), "NotFound");
      await expectCode(store.delete("missing"), "NotFound");
    });

    test("createOrUpdate reports created, then updated with generation and version bumped", async () => {
      const first = await store.createOrUpdate(policy("a", 500));
      expect(first.created).toBe(true);
      const second = await store.createOrUpdate(policy("a", 503));
      expect(second.created).toBe(false);
      expect(second.policy.spec.fault.abort?.httpStatus).toBe(503);
      expect(second.policy.metadata.generation).toBe(2);
      expect(second.policy.metadata.creationTimestamp).toBe(first.policy.metadata.creationTimestamp);
      expect(revisionOf(second.policy)).toBeGreaterThan(revisionOf(first.policy));
    });

    test("an unchanged spec is a no-op", async () => {
      const first = await store.createOrUpdate(policy("a"));
      const events = collect(store);
      const again = await store.createOrUpdate(policy("a"));
      expect(again).toEqual({ policy: first.policy, created: false });
      expect((await store.list()).revision).toBe(revisionOf(first.policy));
      await settle();
      expect(events).toEqual([]);
    });

    test("resourceVersion gives optimistic concurrency", async () => {
      const { policy: v1 } = await store.createOrUpdate(policy("a", 500));
      const { policy: v2 } = await store.createOrUpdate(
        withVersion(policy("a", 502), v1.metadata.resourceVersion),
      );
      await expectCode(
        store.createOrUpdate(withVersion(policy("a", 503), v1.metadata.resourceVersion)),
        "Conflict",
      );
      await expectCode(store.createOrUpdate(withVersion(policy("new"), "1")), "Conflict");
      expect(await store.get("a")).toEqual(v2);
    });

    test("delete returns the deleted policy and removes it", async () => {
      const stored = await store.create(policy("a"));
      expect(await store.delete("a")).toEqual(stored);
      await expectCode(store.get("a"), "NotFound");
      expect((await store.list()).items).toEqual([]);
    });

    test("list is sorted by name and every change takes a new revision", async () => {
      const empty = (await store.list()).revision;
      await store.create(policy("b"));
      await store.create(policy("a"));
      const afterCreates = await store.list();
      expect(afterCreates.items.map((p) => p.metadata.name)).toEqual(["a", "b"]);
      expect(afterCreates.revision).toBeGreaterThan(empty);
      await store.delete("b");
      expect((await store.list()).revision).toBeGreaterThan(afterCreates.revision);
    });

    test("returned objects are copies", async () => {
      const stored = await store.create(policy("a", 500));
      const { abort } = stored.spec.fault;
      if (abort) abort.httpStatus = 599;
      const [listed] = (await store.list()).items;
      if (listed) listed.spec.priority = 7;
      (await store.get("a")).spec.fault.percentage = 1;
      expect((await store.get("a")).spec).toEqual(policy("a", 500).spec);
    });

    test("watch delivers every change in order, with its revision", async () => {
      const events = collect(store);
      const created = await store.create(policy("a", 500));
      const { policy: updated } = await store.createOrUpdate(policy("a", 503));
      await store.delete("a");
      const { revision } = await store.list();
      await settle();
      expect(events.map((e) => [e.type, e.policy.spec.fault.abort?.httpStatus])).toEqual([
        ["put", 500],
        ["put", 503],
        ["delete", 503],
      ]);
      expect(events.map((e) => e.revision)).toEqual([revisionOf(created), revisionOf(updated), revision]);
    });

    test("a throwing or never-finishing listener blocks neither writers nor other listeners", async () => {
      store.watch(() => {
        throw new Error("listener bug");
      });
      store.watch(() => new Promise<void>(() => {}));
      const events = collect(store);
      await store.create(policy("a"));
      await store.create(policy("b"));
      await settle();
      expect(events.map((e) => e.policy.metadata.name)).toEqual(["a", "b"]);
    });

    test("no events after unsubscribing", async () => {
      const events: WatchEvent[] = [];
      const unsubscribe = store.watch((e) => {
        events.push(e);
      });
      await store.create(policy("a"));
      unsubscribe();
      await store.create(policy("b"));
      await settle();
      expect(events).toEqual([]);
    });

    test("ping resolves", async () => {
      await store.ping();
    });
  });
}

function policy(name: string, httpStatus = 503): Policy {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: {
      priority: 0,
      match: { path: { prefix: "/" } },
      fault: { percentage: 100, abort: { httpStatus, body: "" } },
    },
  };
}

function withVersion(p: Policy, resourceVersion: string): Policy {
  return { ...p, metadata: { ...p.metadata, resourceVersion } };
}

function revisionOf(p: { metadata: { resourceVersion: string } }): number {
  return Number(p.metadata.resourceVersion);
}

function collect(store: PolicyStore): WatchEvent[] {
  const events: WatchEvent[] = [];
  store.watch((e) => {
    events.push(e);
  });
  return events;
}

/** Long enough for asynchronous watch delivery, local or over loopback. */
function settle(): Promise<void> {
  return Bun.sleep(50);
}

/** Settles first: Bun 1.4's `expect(promise).rejects` stalls on a promise that waits for gRPC I/O. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (err: unknown) => err,
  );
  expect(outcome).toMatchObject({ name: "HfiError", code });
}
